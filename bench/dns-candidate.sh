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
    cache=/tmp/ddns-bench/cache/$(basename "$1").d
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
exec "$DDNS" server --config "$WORKDIR/ddns.toml" --data-dir "$WORKDIR/data" --zone "$ZONE_ORIGIN" \
    --dns-listen "127.0.0.1:$PORT" --http-listen 127.0.0.1:0
