#!/usr/bin/env bash
# GPU check (run only where a GPU exists; never part of the test suite).
#
# Fits digits and GunPoint with devices found automatically (by default several trial
# processes per GPU, pinned with CUDA_VISIBLE_DEVICES, each trial starting when the GPU has
# room for the largest trial measured: the packing of issue 29), then with one trial
# process per GPU (--trials-per-device 1), then on CPU only, and prints for each: trials
# per minute packed, unpacked and on CPU (from the trials' timestamps), the GPU
# utilisation sampled with nvidia-smi during the packed search (mean and max, %), and the
# peak GPU memory of a trial (torch.cuda.max_memory_allocated, MiB).
#
# Usage: bash benchmarks/gpu_check.sh [TRIALS]      (default 16 trials per search)
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS="${1:-16}"
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    echo "gpu_check: no NVIDIA GPU here (nvidia-smi missing or failing); nothing to check." >&2
    exit 1
fi
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || {
    echo "gpu_check: torch sees no CUDA device (CPU-only torch build?)." >&2
    exit 1
}
WORK="$(mktemp -d)"
SAMPLER_PID=""
cleanup() {
    [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
unset ARCHSELECT_STORAGE

rate() {  # rate RUN_DIR -> JSON line with trials, window_s, per_minute, peak_memory_mb_max
    "$PY" benchmarks/_rate.py "sqlite:///$1/study.db"
}

util() {  # util LOG -> "mean max" GPU utilisation over samples
    awk -F', *' '{s += $3; n++; if ($3 > m) m = $3} END {if (n) printf "%.0f %d", s / n, m; else print "n/a n/a"}' "$1"
}

field() {  # field JSON KEY
    "$PY" -c "import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"
}

printf '%-10s %12s %12s %12s %10s %10s %14s\n' data packed/min one_per_gpu/min cpu/min gpu_util% gpu_util_max peak_gpu_MiB
for data in digits gunpoint_train; do
    csv="datasets/$data.csv"
    nvidia-smi --query-gpu=timestamp,index,utilization.gpu,memory.used \
        --format=csv,noheader,nounits -lms 500 >"$WORK/$data.smi" &
    SAMPLER_PID=$!
    "$PY" -m archselect fit "$csv" --trials "$TRIALS" --out "$WORK/$data-gpu" --quiet >/dev/null
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
    "$PY" -m archselect fit "$csv" --trials "$TRIALS" --trials-per-device 1 \
        --out "$WORK/$data-gpu1" --quiet >/dev/null
    CUDA_VISIBLE_DEVICES="" "$PY" -m archselect fit "$csv" --trials "$TRIALS" \
        --out "$WORK/$data-cpu" --quiet >/dev/null
    gpu="$(rate "$WORK/$data-gpu")"
    gpu1="$(rate "$WORK/$data-gpu1")"
    cpu="$(rate "$WORK/$data-cpu")"
    read -r umean umax <<<"$(util "$WORK/$data.smi")"
    printf '%-10s %12s %12s %12s %10s %10s %14s\n' "$data" "$(field "$gpu" per_minute)" \
        "$(field "$gpu1" per_minute)" "$(field "$cpu" per_minute)" "$umean" "$umax" \
        "$(field "$gpu" peak_memory_mb_max)"
    echo "  devices used: gpu run $(field "$gpu" devices), cpu run $(field "$cpu" devices)"
done
