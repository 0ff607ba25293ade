#!/usr/bin/env bash
# Latency of another address's updates and of DNS answers, without and with an attack from
# one address: 1,000 slowloris connections (half a request header, never finished) and a
# bad-password flood, both from 127.0.0.2, while 127.0.0.1 updates and queries. Prints p50/p99
# of each. Needs python3 (standard library only). Not run in CI.
#
#   bench/http-abuse.sh                       # 200 updates and 1000 queries per phase
#   UPDATES=500 QUERIES=5000 FLOODERS=64 bench/http-abuse.sh
#   DDNS_BIN=/path/to/ddns bench/http-abuse.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export UPDATES=${UPDATES:-200} QUERIES=${QUERIES:-1000} SLOWLORIS=${SLOWLORIS:-1000}
export FLOODERS=${FLOODERS:-32} ZONE=bench.test
if [ -n "${DDNS_BIN:-}" ]; then
    ddns=$DDNS_BIN
else
    (cd "$here/.." && cargo build --release -p ddns --bin ddns)
    ddns=${CARGO_TARGET_DIR:-$here/../target}/release/ddns
fi
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/ddns-abuse.XXXXXX)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
"$ddns" server --zone "$ZONE" --data-dir "$work/data" --dns-listen 127.0.0.1:0 \
    --http-listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 100); do grep -q '^ready' "$work/out" 2>/dev/null && break; sleep 0.1; done
export HTTP_ADDR=$(awk '$1 == "HTTP" {sub("http://", "", $2); print $2; exit}' "$work/out")
export DNS_ADDR=$(awk '$1 == "DNS" {print $2; exit}' "$work/out")
export TOKEN=$("$ddns" token create --data-dir "$work/data" --host "*.$ZONE")
echo "ddns $("$ddns" --version | cut -d' ' -f2), $(nproc) cores; $UPDATES updates and $QUERIES queries per phase from 127.0.0.1"
echo "attack from 127.0.0.2: $SLOWLORIS slowloris connections, $FLOODERS bad-password loops"
python3 - <<'PY'
import base64, http.client, os, socket, struct, threading, time

host, port = os.environ["HTTP_ADDR"].rsplit(":", 1)
dns_host, dns_port = os.environ["DNS_ADDR"].rsplit(":", 1)
zone, token = os.environ["ZONE"], os.environ["TOKEN"]
updates, queries = int(os.environ["UPDATES"]), int(os.environ["QUERIES"])
hosts = max(1, updates // 20)  # per phase: each host stays within 30 updates a minute

def auth(secret):
    return "Basic " + base64.b64encode(f"bench:{secret}".encode()).decode()

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, len(values) * p // 100)] * 1000

def update_latencies(phase):
    conn = http.client.HTTPConnection(host, int(port), source_address=("127.0.0.1", 0), timeout=60)
    out = []
    for i in range(updates):
        ip = f"198.51.{phase}.{i % 250}"
        started = time.perf_counter()
        conn.request("GET", f"/nic/update?hostname=h{phase}-{i % hosts}.{zone}&myip={ip}",
                     headers={"Authorization": auth(token)})
        body = conn.getresponse().read().decode()
        out.append(time.perf_counter() - started)
        assert body.startswith(("good", "nochg")), body
    return out

def query(name):
    q = struct.pack(">HHHHHH", 0x1234, 0, 1, 0, 0, 0)
    q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    return q + struct.pack(">HH", 1, 1)

def dns_latencies():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2)
    packet, out = query(f"h1-0.{zone}"), []
    for _ in range(queries):
        started = time.perf_counter()
        s.sendto(packet, (dns_host, int(dns_port)))
        s.recvfrom(4096)
        out.append(time.perf_counter() - started)
    return out

def report(label, ups, qs):
    print(f"{label:<16} updates p50 {pct(ups, 50):7.2f} ms  p99 {pct(ups, 99):7.2f} ms   "
          f"DNS p50 {pct(qs, 50):6.3f} ms  p99 {pct(qs, 99):6.3f} ms")

report("no attack", update_latencies(1), dns_latencies())

stop = threading.Event()
counts = {"401": 0, "429": 0, "other": 0}
def flood():
    wrong = "ddns_" + "0" * 45
    while not stop.is_set():
        try:
            c = http.client.HTTPConnection(host, int(port), source_address=("127.0.0.2", 0), timeout=5)
            while not stop.is_set():
                c.request("GET", f"/nic/update?hostname=h0.{zone}&myip=203.0.113.66",
                          headers={"Authorization": auth(wrong)})
                status = c.getresponse()
                status.read()
                counts[str(status.status) if status.status in (401, 429) else "other"] += 1
        except Exception:
            counts["other"] += 1
floods = [threading.Thread(target=flood, daemon=True) for _ in range(int(os.environ["FLOODERS"]))]
for t in floods:
    t.start()
held = []
for _ in range(int(os.environ["SLOWLORIS"])):
    try:
        s = socket.create_connection((host, int(port)), source_address=("127.0.0.2", 0), timeout=2)
        s.sendall(b"GET /nic/update?hostname=h0 HTTP/1.1\r\nHost: ddns\r\nUser-Ag")
        held.append(s)
    except OSError:
        pass
time.sleep(1)
report("under attack", update_latencies(2), dns_latencies())
stop.set()
open_now = 0
for s in held:
    s.setblocking(False)
    try:
        s.recv(1)  # b"" (closed) or the server's last words before closing
    except BlockingIOError:
        open_now += 1
    except OSError:
        pass
print(f"attack: {len(held)} slowloris connections made, {open_now} still open (the rest closed "
      f"by the per-address cap); flood answers: {counts['401']} badauth, {counts['429']} abuse, "
      f"{counts['other']} cut off or timed out")
PY
