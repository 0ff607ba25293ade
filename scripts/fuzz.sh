#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 600) one after another, and
# prints the executions of each. Needs cargo-fuzz (installed here if missing) and builds on
# the stable toolchain (RUSTC_BOOTSTRAP for libFuzzer's nightly-only flags). A crash stops
# the run with libFuzzer's report; the input is left in fuzz/artifacts/TARGET/.
#
#   scripts/fuzz.sh            # 10 minutes per target
#   scripts/fuzz.sh 20         # the short run CI does
#   FUZZ_TARGETS="dns_request zone_file" scripts/fuzz.sh 60
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-600}
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target}
# CARGO_FUZZ_ROOT: where cargo-fuzz is installed when missing (CI keeps it in its cache).
root=${CARGO_FUZZ_ROOT:-}
if [ -n "$root" ]; then
    export PATH="$root/bin:$PATH"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz ${root:+--root "$root"}
fi
# AddressSanitizer needs nothing here (no unsafe code of ours); without it the build is the
# stable toolchain's own and runs faster.
sanitizer=${FUZZ_SANITIZER:-none}
targets=${FUZZ_TARGETS:-$(cargo fuzz list)}
cargo fuzz build --sanitizer "$sanitizer" >/dev/null
summary=()
for target in $targets; do
    mkdir -p "corpus/$target"
    log=$(mktemp)
    if ! cargo fuzz run --sanitizer "$sanitizer" "$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz: $target FAILED (input in fuzz/artifacts/$target/)" >&2
        exit 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    summary+=("$target: ${execs:-?} executions in ${seconds}s, no crash")
    rm -f "$log"
done
printf 'fuzz: %s\n' "${summary[@]}"
