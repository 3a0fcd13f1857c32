#!/usr/bin/env bash
# Create .venv and install archselect. Without an NVIDIA GPU, the CPU build of PyTorch is
# installed first, so no multi-GB CUDA build is pulled. Usage: scripts/setup.sh [--dev]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if ! python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    python -m pip install -q "torch>=2.2"
  else
    # CPU build: a local wheel where one is provided, else PyTorch's CPU index.
    python -m pip install -q torch==2.13.0 2>/dev/null \
      || python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
  fi
fi
if [ "${1:-}" = "--dev" ]; then
  python -m pip install -q -e ".[dev]"
else
  python -m pip install -q -e .
fi
