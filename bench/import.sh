#!/usr/bin/env bash
# Time and peak memory of `ddns zone import` of the dns-peers benchmark zone (N hosts: an A per
# host, an AAAA every 10th; default 1,000,000) into a fresh data directory, release build, and
# Knot's load time of the same file when knotd is installed.
#
#   bench/import.sh                 # N=1000000
#   N=100000 bench/import.sh
#   DDNS=/path/to/ddns bench/import.sh   # measure another build (e.g. main, for a before/after)
#   STORE=postgres bench/import.sh  # into a throwaway PostgreSQL (bench/pg.sh)
# Then the server's start-up on the N hosts (to its ready line) and its RSS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
STORE=${STORE:-sqlite}
N=${N:-1000000}
gen=${GEN_ZONE:-$here/../../shared/bench/dns-peers/gen-zone.py}
target=${CARGO_TARGET_DIR:-$here/../target}
if [ -z "${DDNS:-}" ]; then
    (cd "$here/.." && cargo build --release -p ddns --bin ddns)
    DDNS=$target/release/ddns
fi
work=$(mktemp -d /tmp/ddns-import.XXXXXX)
knot= server=
source "$here/pg.sh"
trap '[ -n "$knot" ] && kill $knot 2>/dev/null; [ -n "$server" ] && kill $server 2>/dev/null; pg_stop; rm -rf "$work"' EXIT
store_flags "$STORE" "$work/pg"
python3 "$gen" "$N" "$work/zone" dyn.example.
echo "zone: $N hosts, $(grep -vc '^\$' "$work/zone") records, $(du -k "$work/zone" | cut -f1) kB"

/usr/bin/time -v "$DDNS" zone import --data-dir "$work/data" "${store[@]}" --zone dyn.example "$work/zone" \
    2>"$work/time" || { cat "$work/time"; exit 1; }
grep -m1 '^imported' "$work/time" || true
wall=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$work/time")
rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$work/time")
cpu=$(awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{printf "%.1f", u+s}' "$work/time")
if [ "$STORE" = postgres ]; then
    size=$(PGPASSWORD=bench "$pg_bin/psql" -X -A -t "$PG_URL" -c "SELECT pg_database_size('ddns') / 1024")
else
    size=$(du -k "$work/data/ddns.sqlite3" | cut -f1)
fi
echo "ddns zone import ($STORE): wall $wall, CPU $cpu s, peak RSS $((rss / 1024)) MB, database $size kB"

# The server's start-up on those hosts, to its ready line, and its RSS then.
{
    t0=$(date +%s.%N)
    "$DDNS" server --data-dir "$work/data" "${store[@]}" --zone dyn.example --dns-listen 127.0.0.1:0 \
        --http-listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
    server=$!
    for _ in $(seq 1200); do grep -q '^ready' "$work/out" 2>/dev/null && break; sleep 0.05; done
    t1=$(date +%s.%N)
    echo "ddns server start-up ($STORE): $(echo "$t1 $t0" | awk '{printf "%.2f", $1-$2}') s to ready, RSS $(awk '/VmRSS/{print $2, $3}' /proc/$server/status)"
    kill $server; wait $server 2>/dev/null || true; server=
}

if command -v knotd >/dev/null; then
    mkdir -p "$work/knot"
    cp "$work/zone" "$work/knot/dyn.example.zone"
    cat >"$work/knot/knot.conf" <<CONF
server:
    rundir: "$work/knot"
    listen: 127.0.0.1@$((20000 + RANDOM % 20000))
log:
  - target: stderr
    any: info
database:
    storage: "$work/knot"
zone:
  - domain: dyn.example.
    file: "$work/knot/dyn.example.zone"
    journal-content: none
    zonefile-load: whole
CONF
    t0=$(date +%s.%N)
    knotd -c "$work/knot/knot.conf" 2>"$work/knot/log" &
    knot=$!
    for _ in $(seq 1200); do grep -q 'loaded, serial' "$work/knot/log" && break; sleep 0.05; done
    t1=$(date +%s.%N)
    echo "knotd load: $(echo "$t1 $t0" | awk '{printf "%.2f", $1-$2}') s ($(grep -m1 -o 'loaded, serial.*' "$work/knot/log" || echo 'not loaded'))"
fi
