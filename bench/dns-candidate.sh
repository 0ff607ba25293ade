#!/usr/bin/env bash
# Candidate command for ../shared/bench/dns-peers (run by bench/dns-vs-peers.sh): serves
# $ZONEFILE for $ZONE_ORIGIN on 127.0.0.1:$PORT with `ddns server`.
#
# The zone file's records are imported once as dynamic hosts into a cached data directory
# (the import is not part of the measured load time); every start copies that directory, so
# the load time measured is the server reading every host from SQLite and building its
# snapshot.
set -euo pipefail
: "${PORT:?} ${ZONEFILE:?} ${WORKDIR:?} ${ZONE_ORIGIN:?}"
DDNS=${DDNS_BIN:-$(dirname "$0")/../target/release/ddns}
cache=/tmp/ddns-bench/cache/$(basename "$ZONEFILE").d
if [ ! -f "$cache/done" ]; then
    rm -rf "$cache"; mkdir -p "$cache"
    "$DDNS" zone import --data-dir "$cache/data" --zone "$ZONE_ORIGIN" "$ZONEFILE" >&2
    touch "$cache/done"
fi
rm -rf "$WORKDIR/data"; cp -r "$cache/data" "$WORKDIR/data"
exec "$DDNS" server --data-dir "$WORKDIR/data" --zone "$ZONE_ORIGIN" \
    --dns-listen "127.0.0.1:$PORT" --http-listen 127.0.0.1:0
