#!/usr/bin/env bash
# Two `ddns server` nodes on one throwaway PostgreSQL (bench/pg.sh): the time from an update
# accepted by node A (its `good` reply) to node B's DNS answering the new address, over N
# updates one after the other; node B is asked over UDP every 0.2 ms until it answers.
#
#   bench/cluster.sh               # N=300
#   N=1000 bench/cluster.sh
#   DDNS_BIN=/path/to/ddns bench/cluster.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${N:-300}
if [ -n "${DDNS_BIN:-}" ]; then
    ddns=$DDNS_BIN
else
    (cd "$here/.." && cargo build --release -p ddns --bin ddns)
    ddns=${CARGO_TARGET_DIR:-$here/../target}/release/ddns
fi
work=$(mktemp -d /tmp/ddns-cluster.XXXXXX)
pids=()
source "$here/pg.sh"
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null; done; wait 2>/dev/null; pg_stop; rm -rf "$work"' EXIT
pg_start "$work/pg"
cat >"$work/ddns.toml" <<TOML
version = 1
[dns]
rrl = { rate = 0 }     # node B is asked every 0.2 ms from one address
[dyndns2]
updates_per_host_per_minute = 1000000
updates_per_token_per_minute = 1000000
[[zone]]
name = "bench.test"
TOML
for node in a b; do
    "$ddns" server --config "$work/ddns.toml" --data-dir "$work/$node" --store-url "$PG_URL" \
        --dns-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >"$work/$node.out" 2>"$work/$node.err" &
    pids+=($!)
    for _ in $(seq 100); do grep -q '^ready' "$work/$node.out" 2>/dev/null && break; sleep 0.1; done
done
http_a=$(awk '$1 == "HTTP" {print $2; exit}' "$work/a.out")
dns_b=$(awk '$1 == "DNS" {print $2; exit}' "$work/b.out")
token=$("$ddns" token create --store-url "$PG_URL" --host "*.bench.test")
echo "ddns $("$ddns" --version | cut -d' ' -f2), $(nproc) cores, $N updates through node A, answered by node B"
# Debian's python3, with python3-dnspython (another python3 may come first on PATH).
/usr/bin/python3 - "$http_a" "$dns_b" "$token" "$N" <<'PY'
import base64, sys, time, urllib.request
import dns.message, dns.query, dns.rdatatype
http, dns_addr, token, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host, port = dns_addr.rsplit(":", 1)
auth = "Basic " + base64.b64encode(f"bench:{token}".encode()).decode()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
waits = []
for i in range(n):
    ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    req = urllib.request.Request(f"{http}/nic/update?hostname=p.bench.test&myip={ip}",
                                 headers={"Authorization": auth})
    body = opener.open(req).read().decode()
    accepted = time.perf_counter()
    assert body == f"good {ip}", body
    query = dns.message.make_query("p.bench.test.", dns.rdatatype.A)
    while True:
        reply = dns.query.udp(query, host, port=int(port), timeout=1)
        if any(r.address == ip for rrset in reply.answer for r in rrset):
            break
        if time.perf_counter() - accepted > 5:
            sys.exit(f"node B did not answer {ip} within 5 s")
        time.sleep(0.0002)
    waits.append((time.perf_counter() - accepted) * 1000)
waits.sort()
pick = lambda q: waits[min(len(waits) - 1, int(q * len(waits)))]
print("| updates | p50 | p90 | p99 | max |")
print("|---|---|---|---|---|")
print(f"| {n} | {pick(0.5):.2f} ms | {pick(0.9):.2f} ms | {pick(0.99):.2f} ms | {waits[-1]:.2f} ms |")
PY
