#!/usr/bin/env bash
# A whole zone of N hosts transferred to a real Knot DNS secondary over TSIG-signed AXFR, then
# one HTTP update followed by NOTIFY + IXFR. Checks that Knot's serial and record count match
# ours and prints how long the AXFR took, its size, and the time from the HTTP update to the
# new answer on Knot.
#
#   bench/xfr-knot.sh                 # 1,000,000 hosts
#   N=100000 bench/xfr-knot.sh
#
# Needs: knot, knot-dnsutils (kdig), python3, curl. Loopback only; ports 15391-15393.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
harness=${DNS_PEERS:-$here/../../shared/bench/dns-peers}
N=${N:-1000000}
ORIGIN=dyn.example.
ZONE=dyn.example
SECRET=c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0
DNS_PORT=15391 HTTP_PORT=15392 KNOT_PORT=15393
work=${WORK:-/tmp/ddns-bench/xfr-$N}
target=${CARGO_TARGET_DIR:-$here/../target}
(cd "$here/.." && cargo build --release -p ddns --bin ddns >&2)
DDNS=$target/release/ddns

mkdir -p "$work"
zone=/tmp/dns-peers/data/zone-$N.zone
if [ ! -s "$zone" ]; then
    mkdir -p "$(dirname "$zone")"
    python3 "$harness/gen-zone.py" "$N" "$zone.tmp" "$ORIGIN" && mv "$zone.tmp" "$zone"
fi
if [ ! -f "$work/imported" ]; then
    rm -rf "$work/data"
    "$DDNS" zone import --data-dir "$work/data" --zone "$ZONE" "$zone" >&2
    touch "$work/imported"
fi

cat > "$work/ddns.toml" <<EOF
version = 1
[server]
data_dir = "$work/data"
[dns]
listen = ["127.0.0.1:$DNS_PORT"]
[http]
listen = ["127.0.0.1:$HTTP_PORT"]
[[tsig_key]]
name = "xfr"
secret = "$SECRET"
[[zone]]
name = "$ZONE"
allow_transfer = ["key:xfr"]
notify = ["127.0.0.1:$KNOT_PORT"]
EOF
rm -rf "$work/knot"; mkdir -p "$work/knot"
cat > "$work/knot/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$KNOT_PORT
    rundir: $work/knot
log:
  - target: $work/knot/knot.log
    any: info
key:
  - id: xfr
    algorithm: hmac-sha256
    secret: $SECRET
remote:
  - id: primary
    address: 127.0.0.1@$DNS_PORT
    key: xfr
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    key: xfr
    action: notify
  - id: transfer_to_us
    address: 127.0.0.1
    key: xfr
    action: transfer
template:
  - id: default
    storage: $work/knot
zone:
  - domain: $ZONE
    master: primary
    acl: [notify_from_primary, transfer_to_us]
EOF

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
: > "$work/ddns.log"
"$DDNS" server --config "$work/ddns.toml" > "$work/ddns.log" 2>&1 & pids+=($!)
for _ in $(seq 600); do grep -q '^ready' "$work/ddns.log" && break; sleep 0.1; done
serial() { kdig +short @127.0.0.1 -p "$1" "$ZONE" SOA | awk '{print $3}'; }
ours=$(serial $DNS_PORT)
knotd -c "$work/knot/knot.conf" > /dev/null 2>&1 & pids+=($!)
start=$(date +%s.%N)
for _ in $(seq 1200); do [ "$(serial $KNOT_PORT 2>/dev/null)" = "$ours" ] && break; sleep 0.1; done
[ "$(serial $KNOT_PORT)" = "$ours" ] || { echo "Knot never reached serial $ours" >&2; tail "$work/knot/knot.log" >&2; exit 1; }
took=$(echo "$(date +%s.%N) - $start" | bc)

count() { kdig @127.0.0.1 -p "$1" -y "hmac-sha256:xfr:$SECRET" "$ZONE" AXFR +noall +answer | grep -vc TSIG; }
ours_count=$(count $DNS_PORT)
knot_count=$(count $KNOT_PORT)
echo "hosts=$N serial ours=$ours knot=$(serial $KNOT_PORT) records ours=$ours_count knot=$knot_count"
[ "$ours_count" = "$knot_count" ] || { echo "record counts differ" >&2; exit 1; }
grep -E "AXFR, incoming.*finished" "$work/knot/knot.log" | tail -1
echo "AXFR to Knot ready after ${took}s (from Knot's start)"

# One update: NOTIFY, then IXFR; time until Knot answers it.
token=$("$DDNS" token create --data-dir "$work/data" --host "bench.$ZONE")
ip=198.51.100.$((RANDOM % 250 + 1))   # a new address on every run of the cached data
t0=$(date +%s.%N)
curl -fsS -u "u:$token" "http://127.0.0.1:$HTTP_PORT/nic/update?hostname=bench.$ZONE&myip=$ip" >/dev/null
echo "HTTP update acknowledged (answer already on ddns): $(echo "$(date +%s.%N) - $t0" | bc)s"
for _ in $(seq 500); do
    [ "$(kdig +short @127.0.0.1 -p $KNOT_PORT "bench.$ZONE" A)" = "$ip" ] && break
    sleep 0.01
done
echo "HTTP update to answer on Knot: $(echo "$(date +%s.%N) - $t0" | bc)s"
grep -E "IXFR, incoming.*finished" "$work/knot/knot.log" | tail -1
