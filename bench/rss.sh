#!/usr/bin/env bash
# Memory of `ddns server`: RSS at idle with an empty zone, and with N hosts (default 100k, the
# dns-peers zone shape: an A per host, an AAAA every 10th) loaded from the store, measured after
# a burst of queries has touched the snapshot.
#
#   bench/rss.sh            # N=100000
#   N=1000000 bench/rss.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${N:-100000}
(cd "$here/.." && cargo build --release -p ddns --bin ddns)
ddns=$here/../target/release/ddns
work=$(mktemp -d /tmp/ddns-rss.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
rss() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
start() {  # data dir -> sets pid and dns
    "$ddns" server --data-dir "$1" --zone dyn.example --dns-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >"$work/out" 2>/dev/null &
    pid=$!
    for _ in $(seq 600); do grep -q '^ready' "$work/out" 2>/dev/null && break; sleep 0.1; done
    dns=$(awk '$1 == "DNS" {print $2; exit}' "$work/out")
}
start "$work/empty"
sleep 1
echo "idle, empty zone: RSS $(rss $pid) kB"
kill $pid; wait $pid 2>/dev/null || true
python3 - "$N" "$work/zone" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("$TTL 60\n")
    for i in range(1, n + 1):
        f.write(f"host{i:06d} A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n")
        if i % 10 == 0:
            f.write(f"host{i:06d} AAAA fd00::{i >> 16:x}:{i & 0xffff:x}\n")
PY
t0=$(date +%s.%N)
"$ddns" zone import --data-dir "$work/full" --zone dyn.example "$work/zone" 2>/dev/null
t1=$(date +%s.%N)
start "$work/full"
t2=$(date +%s.%N)
port=${dns##*:}
for i in $(seq 1 997 "$N"); do printf 'host%06d.dyn.example. A\n' "$i"; done >"$work/q"
command -v dnsperf >/dev/null && dnsperf -s 127.0.0.1 -p "$port" -d "$work/q" -l 3 >/dev/null 2>&1 || true
echo "$N hosts: import $(echo "$t1 $t0" | awk '{printf "%.1f", $1-$2}') s, start $(echo "$t2 $t1" | awk '{printf "%.1f", $1-$2}') s, RSS $(rss $pid) kB, database $(du -k "$work/full/ddns.sqlite3" | cut -f1) kB"
