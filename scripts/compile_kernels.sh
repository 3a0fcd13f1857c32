#!/usr/bin/env bash
# Compile MiniRocket's numba kernels into aeon's on-disk cache, once per .venv (about 50 s on
# 2 cores, the one-channel and the many-channel kernels side by side), rather than inside
# the first budgeted fit, and inside every test process that starts before the cache exists.
# Usage: scripts/compile_kernels.sh (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
STAMP=.venv/.minirocket-compiled
[ -e "$STAMP" ] && exit 0
compile() {
  .venv/bin/python -c "from archselect.baselines import warm_minirocket; warm_minirocket(($1,))"
}
compile 1 & one=$!
compile 2
wait "$one"
touch "$STAMP"
