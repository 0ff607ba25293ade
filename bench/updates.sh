#!/usr/bin/env bash
# Update throughput of `ddns server`: DynDNS2 requests per second with wrk on loopback, in two
# modes: every request changes a host (each is a committed, fsynced transaction and a snapshot
# publication before the reply) and every request is a no-op (`nochg`: authenticated, checked,
# nothing written); MODES may add `auth` (answered `nochg` before the write path: authentication
# alone). Needs wrk (apt-get install wrk).
#
#   bench/updates.sh                 # 10 s per mode, 8 connections, 1000 hosts
#   DURATION=30 CONNECTIONS=32 HOSTS=10000 bench/updates.sh
#   DDNS_BIN=/path/to/other/ddns bench/updates.sh   # no build: measure that binary
#   MODES="nochg auth" bench/updates.sh
#   STORE=postgres bench/updates.sh  # the store in a throwaway PostgreSQL (bench/pg.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
STORE=${STORE:-sqlite}
DURATION=${DURATION:-10} CONNECTIONS=${CONNECTIONS:-8} THREADS=${THREADS:-2}
MODES=${MODES:-change nochg}
export HOSTS=${HOSTS:-1000} ZONE=bench.test
if [ -n "${DDNS_BIN:-}" ]; then  # a binary built elsewhere (another commit, to compare)
    ddns=$DDNS_BIN
else
    (cd "$here/.." && cargo build --release -p ddns --bin ddns)
    ddns=${CARGO_TARGET_DIR:-$here/../target}/release/ddns
fi
work=$(mktemp -d /tmp/ddns-updates.XXXXXX)
pid=
source "$here/pg.sh"
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait $pid 2>/dev/null; pg_stop; rm -rf "$work"' EXIT
store_flags "$STORE" "$work/pg"
cat >"$work/ddns.toml" <<TOML
version = 1
[http]
requests_per_ip_per_minute = 1000000
[dyndns2]
updates_per_host_per_minute = 1000000
updates_per_token_per_minute = 1000000
[[zone]]
name = "$ZONE"
TOML
"$ddns" server --config "$work/ddns.toml" --data-dir "$work/data" "${store[@]}" \
    --dns-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 100); do grep -q '^ready' "$work/out" 2>/dev/null && break; sleep 0.1; done
url=$(awk '$1 == "HTTP" {print $2; exit}' "$work/out")
token=$("$ddns" token create --data-dir "$work/data" "${store[@]}" --host "*.$ZONE")
auth="Authorization: Basic $(printf 'bench:%s' "$token" | base64 -w0)"
echo "ddns $("$ddns" --version | cut -d' ' -f2), $STORE, $(nproc) cores, $CONNECTIONS connections, $HOSTS hosts, ${DURATION}s per mode"
for mode in $MODES; do
    if [ "$mode" = nochg ]; then  # first pass sets every host once
        MODE=nochg wrk -t1 -c1 -d2s -s "$here/updates.lua" -H "$auth" "$url" >/dev/null
    fi
    echo "== $mode"
    MODE=$mode wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$here/updates.lua" -H "$auth" "$url" \
        | grep -E "Requests/sec|Latency|50%|99%|non-2xx"
done
echo "RSS after the run: $(awk '/VmRSS/{print $2, $3}' /proc/$pid/status)"
