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
set -euo pipefail

readonly TARGET=x86_64-pc-windows-gnu
readonly PACKAGES=(rustc-web cargo-web rust-web-src binutils-mingw-w64-x86-64 gcc-mingw-w64-x86-64 nasm wine64)
WIN_CACHE=${WIN_CACHE:-/var/cache/ddns-win}
WIN_TARGET_DIR=${WIN_TARGET_DIR:-$WIN_CACHE/target}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<EOF
usage: scripts/windows.sh COMMAND

  setup                  install the Debian packages (only those missing), build the
                         bcryptprimitives.dll shim and create the Wine prefix
  cargo SUBCOMMAND ARGS  Debian's cargo for $TARGET with -Zbuild-std,
                         e.g. \`cargo check -p ddns-platform\`
  build                  build ddns.exe (release profile) and print its path
  run EXE [ARGS]         run a Windows exe under Wine; its exit code passes through
  smoke                  setup, build, and check that \`ddns.exe --version\` prints
                         \`ddns <workspace version>\` (what CI calls)

environment: WIN_CACHE (default /var/cache/ddns-win) holds the shim, the Wine prefix and
the target dir (WIN_TARGET_DIR, default \$WIN_CACHE/target).
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

exe_path() { echo "$WIN_TARGET_DIR/$TARGET/release/ddns.exe"; }

cmd_build() {
  # A subshell, because cmd_cargo ends in exec.
  (cmd_cargo build --locked --release -p ddns --bin ddns)
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
  -h | --help | help) usage ;;
  *)
    usage >&2
    exit 2
    ;;
  esac
}

main "$@"
