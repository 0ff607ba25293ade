#!/usr/bin/env bash
# Failover time of a health-checked record set with real Samba (issue #12): two smbd in
# network namespaces, ddns serving files.ddns.test with both as targets (default check:
# port 445 with SMB2 NEGOTIATE, 1 s interval, 500 ms timeout, fall 2). Each of 20 trials
# stops one smbd and times until ddns answers only the other (dig in the client namespace,
# polled every ~10 ms). Prints median, max and min; the test fails if max reaches 3 s.
#
# Runs the ignored test `failover_samba::failover_time_over_20_trials` (root: namespaces).
# Packages: samba, smbclient, bind9-dnsutils, iproute2 (scripts/test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test -p ddns --test integration -- --ignored --exact \
    failover_samba::failover_time_over_20_trials --nocapture "$@"
