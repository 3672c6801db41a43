#!/usr/bin/env bash
# Installs what building (and, with --test, testing) tallymq needs. Idempotent: it only
# installs what is missing, so a warm machine passes through in a second.
set -euo pipefail

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

cache="${TALLYMQ_CACHE:-$HOME/.cache/tallymq}"
mkdir -p "$cache"

sudo=""
[[ "$(id -u)" -ne 0 ]] && sudo="sudo"

missing=()
need() { dpkg -s "$1" >/dev/null 2>&1 || missing+=("$1"); }
need pkg-config
need gcc
need g++
need libclang-dev
# A Python virtual environment fetches the ONNX Runtime wheel (and, for tests, the Python tools).
need python3-venv
if (( want_test )); then
    need mosquitto-clients
fi
if (( ${#missing[@]} )); then
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
    echo "setup: cargo not found; install a Rust toolchain (https://rustup.rs) and retry" >&2
    exit 1
fi

# The ONNX Runtime shared library the harassment model runs on, from the PyPI wheel (the
# version the `ort` crate's API level needs). Only the library is used: no Python import.
ort_version="1.24.4"
ort_dir="$cache/onnxruntime-$ort_version"
ort_library="$ort_dir/onnxruntime/capi/libonnxruntime.so.$ort_version"
venv="$cache/venv"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi

if [[ ! -f "$ort_library" ]]; then
    echo "setup: installing onnxruntime $ort_version (shared library) into $ort_dir"
    rm -rf "$ort_dir"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --target "$ort_dir" "onnxruntime==$ort_version"
fi
if [[ ! -f "$ort_library" ]]; then
    echo "setup: $ort_library is missing after installing onnxruntime $ort_version" >&2
    exit 1
fi

if (( want_test )); then
    requirements="$(dirname "$0")/requirements-test.txt"
    if ! cmp -s "$requirements" "$venv/.installed-requirements" 2>/dev/null; then
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$venv/.installed-requirements"
    fi
fi
