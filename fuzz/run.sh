#!/usr/bin/env bash
# Runs each cargo-fuzz target in turn for SECONDS seconds (default 60). For people, not CI.
#
#   fuzz/run.sh            # 60 s per target
#   fuzz/run.sh 300        # 5 min per target
#   fuzz/run.sh 60 path    # only some targets
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). On a stable toolchain the script sets
# RUSTC_BOOTSTRAP=1, which cargo-fuzz needs for its sanitizer flags. Crashes land in
# fuzz/artifacts/<target>/; the corpus grows in fuzz/corpus/<target>/ (neither is committed).
set -euo pipefail

cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(definition path intrinsic)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 1
fi
if ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "=== $t: ${seconds}s ==="
    if ! cargo fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5; then
        echo "=== $t FAILED: see fuzz/artifacts/$t/ ===" >&2
        status=1
    fi
done
exit $status
