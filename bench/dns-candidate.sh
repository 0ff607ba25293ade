#!/usr/bin/env bash
# Candidate command for ../shared/bench/dns-peers (run by bench/dns-vs-peers.sh): serves
# $ZONEFILE for $ZONE_ORIGIN on 127.0.0.1:$PORT with `ddns server`.
#
# The zone file's records are imported once as dynamic hosts into a cached data directory
# (the import is not part of the measured load time); every start copies that directory, so
# the load time measured is the server reading every host from SQLite and building its
# snapshot.
#
# `dns-candidate.sh --prepare ZONEFILE ORIGIN` only fills the cache (bench/dns-vs-peers.sh does
# it before the harness starts, so no round's load time includes the import).
set -euo pipefail
DDNS=${DDNS_BIN:-$(dirname "$0")/../target/release/ddns}
prepare() {  # ZONEFILE ORIGIN -> cache directory
    local cache
    # DDNS_BENCH_CACHE keeps one branch's data directories (its schema) apart from another's.
    cache=${DDNS_BENCH_CACHE:-/tmp/ddns-bench/cache}/$(basename "$1").d
    if [ ! -f "$cache/done" ] || [ "$1" -nt "$cache/done" ]; then
        rm -rf "$cache"; mkdir -p "$cache"
        "$DDNS" zone import --data-dir "$cache/data" --zone "$2" "$1" >&2
        touch "$cache/done"
    fi
    echo "$cache"
}
if [ "${1:-}" = --prepare ]; then
    prepare "$2" "$3" >/dev/null
    exit 0
fi
: "${PORT:?} ${ZONEFILE:?} ${WORKDIR:?} ${ZONE_ORIGIN:?}"
cache=$(prepare "$ZONEFILE" "$ZONE_ORIGIN")
rm -rf "$WORKDIR/data"; cp -r "$cache/data" "$WORKDIR/data"
# dnsperf is one source sending thousands of queries a second: RRL (on by default) would
# truncate its NXDOMAIN answers, and the peers in the harness run without RRL.
printf 'version = 1\n[dns]\nrrl = { rate = 0 }\n' >"$WORKDIR/ddns.toml"
# DDNS_METRICS=false measures the query path without counting (`[http] metrics = false`).
printf '[http]\nmetrics = %s\n' "${DDNS_METRICS:-true}" >>"$WORKDIR/ddns.toml"
# DDNS_VIEWS=N adds N split-horizon views of 20 prefixes each (v4 /24 and /16, v6 /48), none
# matching dnsperf's 127.0.0.1: every query pays the view lookup and is answered from the
# default. DDNS_VIEWS_MATCH=1 appends 127.0.0.0/8 to the last view, so every query is
# answered from that view (its zone is the default's, shared: the lookup is what differs).
views=${DDNS_VIEWS:-0}
for ((v = 0; v < views; v++)); do
    prefixes=()
    for ((j = 0; j < 10; j++)); do prefixes+=("\"10.$v.$j.0/24\""); done
    for ((j = 0; j < 5; j++)); do prefixes+=("\"172.$((16 + v * 5 + j)).0.0/16\""); done
    for ((j = 0; j < 5; j++)); do prefixes+=("\"fd00:$v:$j::/48\""); done
    if [ "${DDNS_VIEWS_MATCH:-0}" = 1 ] && [ $((v + 1)) = "$views" ]; then
        prefixes+=('"127.0.0.0/8"')
    fi
    printf '[[view]]\nname = "v%d"\nmatch = [%s]\n' "$v" "$(IFS=,; echo "${prefixes[*]}")" >>"$WORKDIR/ddns.toml"
done
exec "$DDNS" server --config "$WORKDIR/ddns.toml" --data-dir "$WORKDIR/data" --zone "$ZONE_ORIGIN" \
    --dns-listen "127.0.0.1:$PORT" --http-listen 127.0.0.1:0
