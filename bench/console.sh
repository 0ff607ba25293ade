#!/usr/bin/env bash
# The console's host list with 100,000 hosts: per-page render time through the router (keyset
# pages deep into the list, a zone filter, substring searches), 20 requests each, medians.
# The target is < 200 ms per page. PROFILE=release for the shipped build (fat LTO: slow to
# build); the default, dev, already builds dependencies (SQLite among them) with optimisation.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-dev}
flag=()
[ "$profile" = release ] && flag=(--release)
cargo test "${flag[@]}" -p ddns-http --test console bench_host_list_with_100k_hosts -- \
    --ignored --nocapture --test-threads=1 2>&1 | grep -E "imported|median|test result"
