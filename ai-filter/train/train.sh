#!/usr/bin/env bash
# Reproduces the harassment model, its card and evaluation, and the test vectors from
# ai-filter/train/data/. Creates (or brings up to date) the pinned training environment at
# $TALLYMQ_TRAIN_VENV (default ~/.cache/tallymq/train-venv) first; a second run with nothing
# changed installs nothing and writes byte-identical files.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${TALLYMQ_TRAIN_VENV:-$HOME/.cache/tallymq/train-venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating the training environment in $venv"
    "$python" -m venv "$venv"
fi

# Install only when the environment differs from requirements.txt.
stamp="$venv/.tallymq-requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "installing $here/requirements.txt into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    echo "$want" > "$stamp"
fi

cd "$here"
exec env PYTHONHASHSEED=0 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    "$venv/bin/python" "$here/train.py" "$@"
