#!/usr/bin/env bash
# Coverage-guided fuzzing of the packet decoder and of CONNECT handling (fuzz/, cargo-fuzz).
#
#   scripts/fuzz.sh          each target for 60 s
#   scripts/fuzz.sh 600      each target for 10 minutes
#   FUZZ_TARGETS=connect scripts/fuzz.sh 300
#
# Works on the stable toolchain (RUSTC_BOOTSTRAP=1 unlocks the sanitizer flags). The build
# has its own target directory, because the sanitizer flags would invalidate the main build;
# the first build compiles RocksDB once more (10-20 minutes, more under CARGO_BUILD_JOBS=1).
# New inputs the fuzzer finds go to $HOME/.cache/tallymq/fuzz-corpus/<target>, not to the
# committed seeds in fuzz/corpus/<target>. Exits non-zero if any target crashed, timed out or
# ran out of memory, printing the input that did it; commit such an input to
# fuzz/corpus/<target>/ so that broker/tests/fuzz_seeds.rs keeps checking it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: scripts/fuzz.sh [SECONDS per target]" >&2
    exit 2
fi
targets=(${FUZZ_TARGETS:-packet_decode connect})

cache="${TALLYMQ_CACHE:-$HOME/.cache/tallymq}"
target_dir="$cache/fuzz-target"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

# The connect target opens a broker on a temporary data directory that lives as long as the
# fuzz process, which never removes it; keep those directories where this script can.
export TMPDIR="$cache/fuzz-tmp"
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"
trap 'rm -rf "$TMPDIR"' EXIT

cargo fuzz build --target-dir "$target_dir"

failed=()
for target in "${targets[@]}"; do
    work="$cache/fuzz-corpus/$target"
    artifacts="fuzz/artifacts/$target"
    mkdir -p "$work" "$artifacts"
    stamp="$TMPDIR/started-$target"
    touch "$stamp"
    echo "fuzz: $target for ${seconds}s"
    # -timeout: one input taking this long is a hang (the connect harness gives up on a
    # connection after a few seconds); -rss_limit_mb bounds a run on a shared machine.
    if ! cargo fuzz run --target-dir "$target_dir" "$target" "$work" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1; then
        failed+=("$target")
    fi
    while IFS= read -r input; do
        echo "fuzz: $target failed on $input:"
        od -A x -t x1z -v "$input" | head -n 64
    done < <(find "$artifacts" -type f -newer "$stamp")
done

if (( ${#failed[@]} )); then
    echo "fuzz: FAILED: ${failed[*]} (inputs above, in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: no crash in ${targets[*]} (${seconds}s each)"
