#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tallymq/target}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-${TALLYMQ_CACHE:-$HOME/.cache/tallymq}/onnxruntime-1.24.4/onnxruntime/capi/libonnxruntime.so.1.24.4}"
export TALLYMQ_PYTHON="${TALLYMQ_CACHE:-$HOME/.cache/tallymq}/venv/bin/python"
cargo test --workspace --locked
