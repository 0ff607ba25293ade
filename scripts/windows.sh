#!/usr/bin/env bash
# Windows builds of ddns on a Debian Linux machine: cross-compiles `ddns.exe` for
# x86_64-pc-windows-gnu and runs it under Wine, so CI can type-check, link and smoke-run the
# Windows binary without a Windows host.
#
# rustup has no Windows target here, so this uses Debian's toolchain instead: rustc-web and
# cargo-web (with rust-web-src) rebuild std for the target through `-Zbuild-std`
# (RUSTC_BOOTSTRAP=1), mingw-w64 links and compiles the C parts (SQLite, ring), and Wine runs
# the result. Rust's std imports `ProcessPrng` from bcryptprimitives.dll, which Wine 8 lacks;
# `setup` builds a one-function shim DLL that forwards it to `RtlGenRandom`, and `run` puts it
# beside the exe. Wine is not Windows: a pass here is evidence, not proof.
#
# Everything built or downloaded lives in $WIN_CACHE (outside the repository), so the host
# `target/` is never touched and rebuilds stay warm across clones on the same machine.
#
# Usage: scripts/windows.sh setup | cargo SUBCOMMAND [ARGS…] | build | run EXE [ARGS…] | smoke
#        | agent-smoke [EXE] | secret-smoke [EXE] | smb-smoke [EXE] | service-smoke [EXE]
set -euo pipefail

readonly TARGET=x86_64-pc-windows-gnu
readonly PACKAGES=(rustc-web cargo-web rust-web-src binutils-mingw-w64-x86-64 gcc-mingw-w64-x86-64 nasm wine64)
WIN_CACHE=${WIN_CACHE:-/var/cache/ddns-win}
WIN_TARGET_DIR=${WIN_TARGET_DIR:-$WIN_CACHE/target}
# `smoke` (Cargo.toml) for CI; WIN_PROFILE=release builds what is shipped.
WIN_PROFILE=${WIN_PROFILE:-smoke}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<EOF
usage: scripts/windows.sh COMMAND

  setup                  install the Debian packages (only those missing), build the
                         bcryptprimitives.dll shim and create the Wine prefix
  cargo SUBCOMMAND ARGS  Debian's cargo for $TARGET with -Zbuild-std,
                         e.g. \`cargo check -p ddns-platform\`
  build                  build ddns.exe (profile \$WIN_PROFILE, default smoke) and print its path
  run EXE [ARGS]         run a Windows exe under Wine; its exit code passes through
  smoke                  setup, build, check that \`ddns.exe --version\` prints
                         \`ddns <workspace version>\`, then secret-smoke, smb-smoke,
                         agent-smoke and service-smoke (what CI calls)
  agent-smoke [EXE]      \`ddns.exe agent --once\` under Wine publishes to a native server
                         on loopback (checked with dig); reports the interface watch
  secret-smoke [EXE]     \`ddns.exe secret protect\` seals with DPAPI and \`secret reveal\`
                         gives the value back
  smb-smoke [EXE]        \`ddns.exe smb check\` on loopback: a closed port exits 21, a
                         listener that is not SMB 30
  service-smoke [EXE]    \`ddns.exe service install --agent\` under Wine's service manager:
                         RUNNING, publishes (dig), \`sc stop\` → STOPPED with the state saved,
                         \`service uninstall\` → gone

environment: WIN_CACHE (default /var/cache/ddns-win) holds the shim, the Wine prefix and
the target dir (WIN_TARGET_DIR, default \$WIN_CACHE/target); WIN_PROFILE (default smoke,
the lighter profile CI uses; release for what is shipped).
EOF
}

log() { echo "windows.sh: $*" >&2; }
die() {
  log "$*"
  exit 1
}
usage_error() {
  log "usage: scripts/windows.sh $*"
  exit 2
}

# Wine without a display, quiet, and never offering to download Mono or Gecko.
wine_env() {
  export WINEPREFIX=${WINEPREFIX:-$WIN_CACHE/wineprefix}
  export WINEDEBUG=${WINEDEBUG:--all}
  export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
  export DISPLAY=
}

cmd_setup() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if ((${#missing[@]})); then
    command -v apt-get >/dev/null || die "needs Debian's apt-get to install: ${missing[*]}"
    local sudo=()
    ((EUID == 0)) || sudo=(sudo)
    log "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  fi

  mkdir -p "$WIN_CACHE"
  if [[ ! -f $WIN_CACHE/bcryptprimitives.dll ]]; then
    log "building the bcryptprimitives.dll shim"
    cat >"$WIN_CACHE/bcryptprimitives.c" <<'C'
/* ProcessPrng for Wine 8, which lacks it: Rust's std gets its randomness from here. */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) { return RtlGenRandom(data, (ULONG)len); }
C
    x86_64-w64-mingw32-gcc -shared -O2 -o "$WIN_CACHE/bcryptprimitives.dll.tmp" \
      "$WIN_CACHE/bcryptprimitives.c" -ladvapi32
    mv "$WIN_CACHE/bcryptprimitives.dll.tmp" "$WIN_CACHE/bcryptprimitives.dll"
  fi

  wine_env
  if [[ ! -f $WINEPREFIX/system.reg ]]; then
    log "creating the Wine prefix $WINEPREFIX"
    wineboot --init >/dev/null 2>&1 || true
    wineserver -w
    [[ -f $WINEPREFIX/system.reg ]] || die "wineboot did not create $WINEPREFIX"
  fi
  log "ready: $(/usr/bin/rustc --version), $(wine --version 2>/dev/null)"
}

cmd_cargo() {
  (($# >= 1)) || usage_error "cargo SUBCOMMAND [ARGS…]"
  [[ -x /usr/bin/cargo && -x /usr/bin/rustc ]] || die "Debian's cargo/rustc missing: run setup"
  local sub=$1
  shift
  export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_DIR=$WIN_TARGET_DIR
  export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
  export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc
  export AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar
  cd "$ROOT"
  exec /usr/bin/cargo "$sub" --target "$TARGET" -Zbuild-std=std,panic_abort "$@"
}

exe_path() { echo "$WIN_TARGET_DIR/$TARGET/$WIN_PROFILE/ddns.exe"; }

cmd_build() {
  # A subshell, because cmd_cargo ends in exec.
  (cmd_cargo build --locked --profile "$WIN_PROFILE" -p ddns --bin ddns)
  local exe
  exe=$(exe_path)
  [[ -f $exe ]] || die "build finished but $exe is missing"
  echo "$exe"
}

cmd_run() {
  (($# >= 1)) || usage_error "run EXE [ARGS…]"
  local exe=$1
  shift
  [[ -f $exe ]] || die "no such exe: $exe"
  [[ -f $WIN_CACHE/bcryptprimitives.dll ]] || die "no shim in $WIN_CACHE: run setup"
  cp -f "$WIN_CACHE/bcryptprimitives.dll" "$(dirname "$exe")/"
  wine_env
  exec wine "$exe" "$@"
}

workspace_version() {
  awk '
    /^\[/ { in_pkg = ($0 == "[workspace.package]"); next }
    in_pkg && /^[ \t]*version[ \t]*=/ { split($0, q, "\""); print q[2]; exit }
  ' "$ROOT/Cargo.toml"
}

cmd_smoke() {
  local version exe out
  version=$(workspace_version)
  [[ -n $version ]] || die "no version in [workspace.package] of $ROOT/Cargo.toml"
  cmd_setup
  exe=$(cmd_build)
  out=$(cmd_run "$exe" --version) || die "ddns.exe --version exited with $?"
  if [[ $out != "ddns $version" ]]; then
    die "ddns.exe --version printed $(printf %q "$out"), expected 'ddns $version'"
  fi
  log "ok: $exe ($(stat -c %s "$exe") bytes) prints '$out' under Wine"
  cmd_secret_smoke "$exe"
  cmd_smb_smoke "$exe"
  cmd_agent_smoke "$exe"
  cmd_service_smoke "$exe"
}

# `ddns smb check` under Wine tells its failing steps apart with their exit codes, on loopback
# only: a closed port (21) and a listener that is not an SMB server (30). Real Samba runs in
# the Linux tests (crates/ddns/tests/integration/smb_check.rs).
cmd_smb_smoke() {
  local exe=${1:-$(exe_path)} closed code work
  work=$(mktemp -d /tmp/ddns-win-smb.XXXXXX)
  closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  code=0
  (cmd_run "$exe" smb check 127.0.0.1 --port "$closed" --timeout 2s) >"$work/closed.out" 2>&1 || code=$?
  ((code == 21)) || { cat "$work/closed.out" >&2; die "smb check of a closed port exited $code, expected 21"; }
  python3 -u -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
    c.close()' >"$work/port" 2>/dev/null &
  local listener=$!
  local i
  for i in $(seq 50); do [[ -s $work/port ]] && break; sleep 0.1; done
  code=0
  (cmd_run "$exe" smb check 127.0.0.1 --port "$(head -1 "$work/port")" --timeout 2s) >"$work/http.out" 2>&1 || code=$?
  kill "$listener" 2>/dev/null || true
  ((code == 30)) || { cat "$work/http.out" >&2; rm -rf "$work"; die "smb check of a non-SMB listener exited $code, expected 30"; }
  rm -rf "$work"
  log "ok: ddns.exe smb check under Wine: closed port → 21, not an SMB server → 30"
}

# `ddns secret protect` seals with DPAPI (machine scope) on Windows: the value must come back
# from `ddns secret reveal`, and the sealed text must not hold it.
cmd_secret_smoke() {
  local exe=${1:-$(exe_path)} value='smoke-secret-4f1c2b' sealed opened
  sealed=$(printf '%s\n' "$value" | cmd_run "$exe" secret protect) || die "secret protect exited with $?"
  sealed=${sealed%$'\r'}
  [[ $sealed == enc:dpapi:* ]] || die "secret protect printed $(printf %q "$sealed"), expected enc:dpapi:…"
  [[ $sealed != *"$value"* ]] || die "the sealed value holds the secret"
  opened=$(printf '%s\n' "$sealed" | cmd_run "$exe" secret reveal) || die "secret reveal exited with $?"
  opened=${opened%$'\r'}
  [[ $opened == "$value" ]] || die "secret reveal printed $(printf %q "$opened"), expected $value"
  log "ok: DPAPI round trip under Wine (${#sealed} characters sealed)"
}

# Starts the loopback peers of the Wine runs: a native `ddns server` (its HTTP and DNS
# addresses and a token for win.ddns.test in PEER_*) and a scripted HTTP echo service that
# answers 198.51.100.77 (PEER_ECHO_PORT), in a fresh PEER_WORK directory. Everything started
# is stopped and removed on exit.
PEER_PIDS=() PEER_DIRS=()
cleanup_peers() {
  ((${#PEER_PIDS[@]})) && kill "${PEER_PIDS[@]}" 2>/dev/null
  ((${#PEER_DIRS[@]})) && rm -rf "${PEER_DIRS[@]}"
  return 0
}
start_peers() {
  command -v dig >/dev/null || die "dig is needed (bind9-dnsutils)"
  (cd "$ROOT" && cargo build --locked --quiet -p ddns --bin ddns) || die "native build failed"
  local native=${CARGO_TARGET_DIR:-$ROOT/target}/debug/ddns
  PEER_WORK=$(mktemp -d /tmp/ddns-win-agent.XXXXXX)
  PEER_DIRS+=("$PEER_WORK")
  trap cleanup_peers EXIT
  local work=$PEER_WORK
  "$native" server --data-dir "$work/srv" --dns-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
    >"$work/server.out" 2>"$work/server.err" &
  PEER_PIDS+=($!)
  local i
  for i in $(seq 100); do grep -q '^ready' "$work/server.out" 2>/dev/null && break; sleep 0.1; done
  grep -q '^ready' "$work/server.out" || die "native server did not start: $(cat "$work/server.err")"
  PEER_HTTP=$(awk '$1 == "HTTP" {print $2; exit}' "$work/server.out")
  PEER_DNS=$(awk '$1 == "DNS" {print $2; exit}' "$work/server.out")
  PEER_TOKEN=$("$native" token create --data-dir "$work/srv" --host win.ddns.test)
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
server.serve_forever()' >"$work/echo.port" 2>"$work/echo.err" &
  PEER_PIDS+=($!)
  for i in $(seq 50); do [[ -s $work/echo.port ]] && break; sleep 0.1; done
  PEER_ECHO_PORT=$(head -1 "$work/echo.port")
  [[ -n $PEER_ECHO_PORT ]] || die "fake echo service did not start"
}

# The agent as a Windows service under Wine's service manager (a persistent wineserver, so
# `sc` talks to the one that runs the service): `ddns.exe service install --agent` registers
# and starts it, `sc query` says RUNNING, the agent publishes (dig), `sc stop` gives STOPPED
# after the agent's own clean stop (its log says so) with the state file saved, and
# `ddns.exe service uninstall --agent` removes it. Wine cannot show delayed start, recovery
# actions, the ACL's effect or the Event Log (README, Windows).
cmd_service_smoke() {
  local exe=${1:-$(exe_path)}
  [[ -f $exe ]] || die "no $exe: run build first"
  [[ -f $WIN_CACHE/bcryptprimitives.dll ]] || die "no shim in $WIN_CACHE: run setup"
  cp -f "$WIN_CACHE/bcryptprimitives.dll" "$(dirname "$exe")/"
  start_peers
  local work=$PEER_WORK
  wine_env
  local logs=$WINEPREFIX/drive_c/ProgramData/ddns/logs
  rm -f "$logs"/ddns-agent.*log
  # A wineserver left by the runs before (it lingers a few seconds) would refuse `-p`: end it.
  wineserver -k >/dev/null 2>&1 || true
  wineserver -w >/dev/null 2>&1 || true
  # Its own stdout: a wineserver holding ours would keep a pipe reading this script open.
  wineserver -p >/dev/null 2>&1
  trap 'wineserver -k 2>/dev/null || true; cleanup_peers' EXIT
  # A service left by an earlier, interrupted run.
  wine sc stop ddns-agent >/dev/null 2>&1 || true
  wine sc delete ddns-agent >/dev/null 2>&1 || true
  local win_work="Z:${work//\//\\}"
  cat >"$work/service.toml" <<TOML
version = 1
[agent]
state_file = '$win_work\\state.json'
verify_interval = "0s"
[detect.ipv4]
sources = [{ kind = "http", url = "http://127.0.0.1:$PEER_ECHO_PORT/" }, { kind = "fixed", address = "198.51.100.77" }]
quorum = 2
allow = ["documentation"]
[providers.home]
type = "ddns"
url = "$PEER_HTTP"
token = "$PEER_TOKEN"
[[record]]
name = "win.ddns.test"
provider = "home"
TOML
  local started=$SECONDS
  if ! wine "$exe" service install --agent --config "$win_work\\service.toml" >"$work/install.out" 2>&1; then
    cat "$work/install.out" >&2
    wineserver -k || true
    die "ddns.exe service install --agent failed under Wine"
  fi
  # What Wine's service manager refused (reported, not required: Windows has it all).
  local refused
  while IFS= read -r refused; do log "Wine: $refused"; done < <(grep '^warning' "$work/install.out")
  local query
  query=$(wine sc query ddns-agent 2>&1) || true
  if ! grep -q RUNNING <<<"$query"; then
    printf '%s\n' "$query" >&2
    wineserver -k || true
    die "after install, sc query ddns-agent does not say RUNNING"
  fi
  log "ok: ddns.exe service install --agent: sc query says RUNNING"
  local dns=$PEER_DNS answer='' i
  for i in $(seq 100); do
    answer=$(dig +short +norecurse @"${dns%:*}" -p "${dns##*:}" win.ddns.test A)
    [[ $answer == "198.51.100.77" ]] && break
    sleep 0.2
  done
  if [[ $answer != "198.51.100.77" ]]; then
    cat "$logs"/ddns-agent.*log >&2 2>/dev/null || true
    wineserver -k || true
    die "the agent service did not publish win.ddns.test (DNS answers '$answer')"
  fi
  log "ok: the agent service published win.ddns.test A 198.51.100.77 (dig agrees)"
  local status_rc=0
  wine "$exe" service status --agent >"$work/status.out" 2>&1 || status_rc=$?
  ((status_rc == 0)) || die "ddns.exe service status --agent exited $status_rc while running: $(cat "$work/status.out")"

  wine sc stop ddns-agent >"$work/stop.out" 2>&1 || true
  for i in $(seq 100); do
    query=$(wine sc query ddns-agent 2>&1) || true
    grep -q STOPPED <<<"$query" && break
    sleep 0.2
  done
  if ! grep -q STOPPED <<<"$query"; then
    printf '%s\n' "$query" >&2
    wineserver -k || true
    die "after sc stop, sc query ddns-agent does not say STOPPED"
  fi
  grep -q '198.51.100.77' "$work/state.json" 2>/dev/null ||
    die "after the stop, the state file $work/state.json lacks the published address"
  # The agent's own stop path ran (the SCM Stop became the same stop as Ctrl-C), and its
  # log went to the rotating file under %ProgramData%\ddns\logs.
  grep -q 'agent stopped' "$logs"/ddns-agent.*log 2>/dev/null ||
    die "no 'agent stopped' in the service log under $logs: $(cat "$logs"/ddns-agent.*log 2>/dev/null | tail -5)"
  log "ok: sc stop → STOPPED; the agent stopped cleanly and its state file holds 198.51.100.77"
  status_rc=0
  wine "$exe" service status --agent >/dev/null 2>&1 || status_rc=$?
  ((status_rc == 3)) || die "ddns.exe service status --agent exited $status_rc when stopped, expected 3"

  if ! wine "$exe" service uninstall --agent >"$work/uninstall.out" 2>&1; then
    cat "$work/uninstall.out" >&2
    wineserver -k || true
    die "ddns.exe service uninstall --agent failed under Wine"
  fi
  query=$(wine sc query ddns-agent 2>&1) && {
    printf '%s\n' "$query" >&2
    wineserver -k || true
    die "after uninstall, sc query ddns-agent still finds the service"
  }
  status_rc=0
  wine "$exe" service status --agent >/dev/null 2>&1 || status_rc=$?
  wineserver -k || true
  ((status_rc == 4)) || die "ddns.exe service status --agent exited $status_rc after uninstall, expected 4"
  [[ -f $work/service.toml ]] || die "uninstall removed the configuration (it must keep it without --purge)"
  log "ok: ddns.exe service uninstall --agent: the service is gone, the config kept ($((SECONDS - started)) s in all)"
}

# The agent under Wine: `ddns.exe agent --once` must publish a record to a native `ddns server`
# on loopback, with its address from two loopback sources (a scripted HTTP echo service and a
# fixed value, quorum 2); the answer is checked with dig. Then the agent runs as a daemon for a
# few seconds with an interface source, to see whether Wine delivers the Windows
# interface-change notification (reported, not required: Wine is not Windows).
cmd_agent_smoke() {
  local exe=${1:-$(exe_path)}
  [[ -f $exe ]] || die "no $exe: run build first"
  start_peers
  local work=$PEER_WORK http=$PEER_HTTP dns=$PEER_DNS token=$PEER_TOKEN echo_port=$PEER_ECHO_PORT
  local win_state="Z:${work//\//\\}\\state.json"
  cat >"$work/agent.toml" <<TOML
version = 1
[agent]
state_file = '$win_state'
verify_interval = "0s"
[detect.ipv4]
sources = [{ kind = "http", url = "http://127.0.0.1:$echo_port/" }, { kind = "fixed", address = "198.51.100.77" }]
quorum = 2
allow = ["documentation"]
[providers.home]
type = "ddns"
url = "$http"
token = "$token"
[[record]]
name = "win.ddns.test"
provider = "home"
TOML
  local win_config="Z:${work//\//\\}\\agent.toml"
  if ! (cmd_run "$exe" agent --once --config "$win_config") >"$work/agent.out" 2>&1; then
    cat "$work/agent.out" >&2
    die "ddns.exe agent --once failed under Wine"
  fi
  local answer
  answer=$(dig +short +norecurse @"${dns%:*}" -p "${dns##*:}" win.ddns.test A)
  [[ $answer == "198.51.100.77" ]] || die "after ddns.exe agent --once, DNS answers '$answer', expected 198.51.100.77"
  log "ok: ddns.exe agent --once under Wine published win.ddns.test A 198.51.100.77 (dig agrees)"

  cat >"$work/watch.toml" <<TOML
version = 1
[agent]
state_file = '$win_state'
verify_interval = "0s"
[detect.ipv4]
sources = [{ kind = "interface", name = "*" }]
allow = ["loopback", "private", "documentation", "link_local", "cgnat"]
[providers.home]
type = "ddns"
url = "$http"
token = "$token"
[[record]]
name = "win.ddns.test"
provider = "home"
TOML
  RUST_LOG=debug timeout 8 "$ROOT/scripts/windows.sh" run "$exe" agent --config "Z:${work//\//\\}\\watch.toml" \
    >"$work/watch.log" 2>&1 || true
  if grep -q "agent running" "$work/watch.log" && ! grep -q "cannot watch interface addresses" "$work/watch.log"; then
    log "interface-change watch started under Wine (NotifyIpInterfaceChange path)"
  else
    log "interface-change watch did not start under Wine: $(grep -m1 -E 'cannot watch|error' "$work/watch.log" | sed 's/\x1b\[[0-9;]*m//g')"
  fi
}

main() {
  (($# >= 1)) || {
    usage >&2
    exit 2
  }
  local cmd=$1
  shift
  case $cmd in
  setup) cmd_setup "$@" ;;
  cargo) cmd_cargo "$@" ;;
  build) cmd_build "$@" ;;
  run) cmd_run "$@" ;;
  smoke) cmd_smoke "$@" ;;
  agent-smoke) cmd_agent_smoke "$@" ;;
  secret-smoke) cmd_secret_smoke "$@" ;;
  smb-smoke) cmd_smb_smoke "$@" ;;
  service-smoke) cmd_service_smoke "$@" ;;
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

main "$@"
