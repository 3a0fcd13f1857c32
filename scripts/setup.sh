#!/usr/bin/env bash
# Create .venv and install archselect. Without an NVIDIA GPU, the CPU build of PyTorch is
# installed first, so no multi-GB CUDA build is pulled. Usage: scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# pip's notes about unused local index folders are noise here; real errors still show.
quiet_pip() { python -m pip "$@" 2> >(grep -v "WARNING: Location" >&2); }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
if ! python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    quiet_pip install -q "torch>=2.2"
  else
    # CPU build: a local wheel where one is provided, else PyTorch's CPU index.
    quiet_pip install -q torch==2.13.0 \
      || quiet_pip install -q torch --index-url https://download.pytorch.org/whl/cpu
  fi
fi
if [ "${1:-}" = "--dev" ]; then
  quiet_pip install -q -e ".[dev]"
else
  quiet_pip install -q -e .
fi
