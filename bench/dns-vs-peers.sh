#!/usr/bin/env bash
# DNS throughput of `ddns server` beside Knot (and NSD/BIND if wanted) in one run, with the
# shared dns-peers harness (dnsperf on loopback). Prints the harness's table; `ours` is ddns.
#
#   bench/dns-vs-peers.sh                          # knot + ddns, 100k hosts, 3 rounds
#   SERVERS="knot nsd bind" ROUNDS=3 bench/dns-vs-peers.sh
#   DDNS_BIN=/tmp/ddns-old bench/dns-vs-peers.sh   # an already built binary
#
# Needs: knot (and the other peers), dnsperf, python3 (apt-get install knot dnsperf python3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
harness=${DNS_PEERS:-$here/../../shared/bench/dns-peers}
[ -x "$harness/run-all.sh" ] || { echo "dns-peers harness not found at $harness (set DNS_PEERS)" >&2; exit 2; }
# The binary measured: $DDNS_BIN if given (then nothing is built), else a release build in
# $CARGO_TARGET_DIR (default target/).
if [ -z "${DDNS_BIN:-}" ]; then
    target=${CARGO_TARGET_DIR:-target}
    case $target in /*) ;; *) target=$(cd "$here/.." && pwd)/$target ;; esac
    (cd "$here/.." && cargo build --release -p ddns --bin ddns)
    DDNS_BIN=$target/release/ddns
fi
export DDNS_BIN
export CANDIDATE_CMD="$here/dns-candidate.sh"
export CANDIDATE_NAME=${CANDIDATE_NAME:-ours} CANDIDATE_PORT=${CANDIDATE_PORT:-5399}
export SERVERS=${SERVERS:-knot} N_LIST=${N_LIST:-100000} THREAD_MODES=${THREAD_MODES:-1} ROUNDS=${ROUNDS:-3}
export DATA=${DATA:-/tmp/dns-peers/data} ZONE_ORIGIN=${ZONE_ORIGIN:-dyn.example.}
mkdir -p "$DATA"
for n in $N_LIST; do
    zone=$DATA/zone-$n.zone
    if [ ! -s "$zone" ]; then
        python3 "$harness/gen-zone.py" "$n" "$zone.tmp" "$ZONE_ORIGIN" && mv "$zone.tmp" "$zone"
    fi
    "$here/dns-candidate.sh" --prepare "$zone" "$ZONE_ORIGIN"
done
exec "$harness/run-all.sh"
