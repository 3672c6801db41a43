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
if (( want_test )); then
    need mosquitto-clients
    need python3-venv
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

if (( want_test )); then
    venv="$cache/venv"
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
    fi
    requirements="$(dirname "$0")/requirements-test.txt"
    if ! cmp -s "$requirements" "$venv/.installed-requirements" 2>/dev/null; then
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$venv/.installed-requirements"
    fi
fi
