#!/usr/bin/env bash
# Builds tallymq in release mode and runs it on the embedded defaults (MQTT on 127.0.0.1:1883,
# WebSocket on 127.0.0.1:8083/mqtt, data in ./data). Extra arguments go to `tallymq serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tallymq/target}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-${TALLYMQ_CACHE:-$HOME/.cache/tallymq}/onnxruntime-1.24.4/onnxruntime/capi/libonnxruntime.so.1.24.4}"
exec cargo run --release --locked -p tallymq -- serve "$@"
