#!/usr/bin/env bash
# Compile once, per .venv, what every new process would otherwise compile for itself:
#  - MiniRocket's numba kernels, into aeon's on-disk cache (about 50 s on 2 cores, the
#    one-channel and the many-channel kernels side by side), rather than inside the first
#    budgeted fit, and inside every test process that starts before the cache exists;
#  - where Python writes bytecode (PYTHONDONTWRITEBYTECODE unset, as under make), the
#    bytecode of everything a fit imports, alongside.
# Usage: scripts/warm.sh (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
STAMP=.venv/.warm
[ -e "$STAMP" ] && exit 0
pids=()
if [ -z "${PYTHONDONTWRITEBYTECODE:-}" ]; then
  .venv/bin/python -c "import archselect.run._fit, archselect.cli, archselect.export" & pids+=($!)
fi
.venv/bin/python -m archselect warm  # both kernel sets, side by side
for pid in "${pids[@]}"; do wait "$pid"; done
touch "$STAMP"
