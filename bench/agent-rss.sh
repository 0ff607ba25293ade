#!/usr/bin/env bash
# Idle memory and CPU of `ddns agent` with 5 records, for the lean agent build (no server
# crates, static musl: `cargo build --release -p ddns --no-default-features --target
# x86_64-unknown-linux-musl`) and the full binary (`cargo build --release -p ddns`).
#
# Everything is on loopback: a native `ddns server` (the provider, plain HTTP), a scripted echo
# service plus a fixed source (quorum 2) for detection. Each agent runs with interval 30 s;
# RSS is read 5 s after its first round published all 5 records, CPU over the next WINDOW
# seconds (default 65: two more rounds) and scaled to an hour at that interval.
#
#   bench/agent-rss.sh                          # builds both
#   LEAN=path/to/ddns FULL=path/to/ddns bench/agent-rss.sh
#   FULL=none bench/agent-rss.sh                # the lean build only (the server: SERVER or
#                                               # the debug build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/..
WINDOW=${WINDOW:-65}
target=${CARGO_TARGET_DIR:-$root/target}
if [[ -z ${LEAN:-} ]]; then
    (cd "$root" && cargo build --release --locked -p ddns --no-default-features --target x86_64-unknown-linux-musl)
    LEAN=$target/x86_64-unknown-linux-musl/release/ddns
fi
if [[ -z ${FULL:-} ]]; then
    (cd "$root" && cargo build --release --locked -p ddns)
    FULL=$target/release/ddns
fi
if [[ $FULL == none ]]; then
    [[ -n ${SERVER:-} ]] || (cd "$root" && cargo build --locked -p ddns)
fi
SERVER=${SERVER:-$([[ $FULL == none ]] && echo "$target/debug/ddns" || echo "$FULL")}
work=$(mktemp -d /tmp/ddns-agent-rss.XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT

"$SERVER" server --data-dir "$work/srv" --dns-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
    >"$work/server.out" 2>"$work/server.err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^ready' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
http=$(awk '$1 == "HTTP" {print $2; exit}' "$work/server.out")
dns=$(awk '$1 == "DNS" {print $2; exit}' "$work/server.out")
hosts=(h1 h2 h3 h4 h5)
args=()
for h in "${hosts[@]}"; do args+=(--host "$h.ddns.test"); done
token=$("$SERVER" token create --data-dir "$work/srv" "${args[@]}")

python3 -u -c '
import http.server
class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"198.51.100.77\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Echo)
print(server.server_address[1], flush=True)
server.serve_forever()' >"$work/echo.port" &
pids+=($!)
for _ in $(seq 50); do [[ -s $work/echo.port ]] && break; sleep 0.1; done
echo_port=$(head -1 "$work/echo.port")

ticks=$(getconf CLK_TCK)
cpu() { awk -v t="$ticks" '{printf "%.3f", ($14 + $15) / t}' "/proc/$1/stat"; }
kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

measure() {  # name binary
    local name=$1 bin=$2 dir=$work/$1
    mkdir -p "$dir"
    {
        printf 'version = 1\n[agent]\nstate_file = "%s/state.json"\ninterval = "30s"\nverify_interval = "0s"\n' "$dir"
        printf '[detect.ipv4]\nsources = [{ kind = "http", url = "http://127.0.0.1:%s/" }, { kind = "fixed", address = "198.51.100.77" }]\nquorum = 2\nallow = ["documentation"]\n' "$echo_port"
        printf '[providers.home]\ntype = "ddns"\nurl = "%s"\ntoken = "%s"\n' "$http" "$token"
        for h in "${hosts[@]}"; do
            printf '[[record]]\nname = "%s.ddns.test"\nprovider = "home"\nfamilies = ["ipv4"]\n' "$h"
        done
    } >"$dir/agent.toml"
    # A fresh server value per run, so each agent really publishes.
    for h in "${hosts[@]}"; do
        curl -s -o /dev/null -u "x:$token" "$http/nic/update?hostname=$h.ddns.test&myip=192.0.2.1"
    done
    "$bin" agent --config "$dir/agent.toml" 2>"$dir/agent.err" &
    local pid=$!
    pids+=("$pid")
    local ok=0
    for _ in $(seq 200); do
        ok=0
        for h in "${hosts[@]}"; do
            [[ $(dig +short -p "${dns##*:}" @127.0.0.1 "$h.ddns.test" A) == 198.51.100.77 ]] && ok=$((ok + 1))
        done
        ((ok == 5)) && break
        sleep 0.1
    done
    ((ok == 5)) || { cat "$dir/agent.err" >&2; echo "$name: the agent did not publish all 5 records" >&2; exit 1; }
    sleep 5
    local rss hwm c0 c1
    rss=$(kb "$pid" VmRSS)
    hwm=$(kb "$pid" VmHWM)
    local anon file
    anon=$(kb "$pid" RssAnon)
    file=$(kb "$pid" RssFile)
    c0=$(cpu "$pid")
    sleep "$WINDOW"
    c1=$(cpu "$pid")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    local size
    size=$(stat -c %s "$bin")
    awk -v n="$name" -v r="$rss" -v h="$hwm" -v a="$anon" -v f="$file" -v c0="$c0" -v c1="$c1" -v w="$WINDOW" -v s="$size" 'BEGIN {
        printf "%-5s binary %5.1f MB  idle RSS %5.2f MB (heap and stacks %5.2f, binary pages %5.2f; peak %5.2f)  CPU %6.1f ms per %d s = %6.2f s per hour at interval 30 s\n",
            n, s / 1048576, r / 1024, a / 1024, f / 1024, h / 1024, (c1 - c0) * 1000, w, (c1 - c0) * 3600 / w }'
}
echo "agent with 5 records, interval 30 s, ddns provider over plain HTTP on loopback:"
file "$LEAN" | sed 's/^/  lean: /'
measure lean "$LEAN"
[[ $FULL == none ]] || measure full "$FULL"
