#!/usr/bin/env bash
# Create .venv and install archselect. Without an NVIDIA GPU, the CPU build of PyTorch is
# installed first, so no multi-GB CUDA build is pulled. Usage: scripts/setup.sh [--dev]
#
# Packages are installed with uv when it can be had from the package index (it resolves the
# same versions as pip, several times faster); pip is the fallback for every step, and the
# only installer with ARCHSELECT_NO_UV=1. Where PYTHONDONTWRITEBYTECODE is set, Python would
# recompile every module in every process, so uv compiles the bytecode at install (about 35 s
# of a fresh .venv's ~65 s on 2 cores); elsewhere (under make, which unexports it) Python
# writes it at first import.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_CPU=2.13.0
# pip's notes about unused local index folders are noise here; real errors still show.
quiet_pip() { python -m pip "$@" 2> >(grep -v "WARNING: Location" >&2); }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
UV=""
if [ -z "${ARCHSELECT_NO_UV:-}" ]; then
  [ -x .venv/bin/uv ] || quiet_pip install -q uv >/dev/null 2>&1 || true
  [ -x .venv/bin/uv ] && UV=.venv/bin/uv
fi
# install ARGS...: with uv when available, pip otherwise (or when uv fails).
install() {
  local compile=()
  [ -n "${PYTHONDONTWRITEBYTECODE:-}" ] && compile=(--compile-bytecode)
  if [ -n "$UV" ] && "$UV" pip install -q "${compile[@]}" --python .venv/bin/python "$@"; then
    return 0
  fi
  quiet_pip install -q "$@"
}
# The CPU build of torch where pip's find-links folders hold it (uv does not read pip's
# configuration, so it is given the file itself).
local_torch_wheel() {
  local dirs dir tag
  tag=$(python -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
  dirs="${PIP_FIND_LINKS:-} $(python -m pip config get global.find-links 2>/dev/null || true)"
  for dir in $dirs; do
    dir=${dir#file://}
    ls "$dir"/torch-"$TORCH_CPU"+cpu-"$tag"-*.whl 2>/dev/null | head -n 1 && return 0
  done
  return 0
}
if ! python -c "import torch" 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    install "torch>=2.2"
  else
    wheel=$(local_torch_wheel)
    if [ -n "$UV" ] && [ -n "$wheel" ]; then
      install "$wheel"
    else
      # CPU build: a local wheel where pip is configured with one, else PyTorch's CPU index.
      quiet_pip install -q torch=="$TORCH_CPU" \
        || quiet_pip install -q torch --index-url https://download.pytorch.org/whl/cpu
    fi
  fi
fi
if [ "${1:-}" = "--dev" ]; then
  install -e ".[dev]"
else
  install -e .
fi
