"""Trials per minute of a study, measured from the trials' own timestamps.

The window runs from the first trial's start to the last trial's end, so process start,
baselines, the final refit and the report are not counted: it is the search's rate.

Usage: python benchmarks/_rate.py STORAGE_URL [STUDY]   (prints one line of JSON)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optuna

from archselect.search import make_storage

FINISHED = ("COMPLETE", "PRUNED")

#: One value per parameter: each trial is the same model trained the same way.
FIXED_PARAMS: dict[str, dict[str, object]] = {
    "shared": {"lr": 0.003, "weight_decay": 1e-4, "batch_size": 32, "epochs": 40},
    "cnn1d": {"blocks": 2, "width": 64, "kernel": 5, "dropout": 0.1},
    "mlp": {"layers": 2, "width": 128, "dropout": 0.1},
}
#: Fixed training settings of the shared space: no early stopping either.
FIXED_TRAINING = {"schedule": "constant", "patience": 1_000_000}


def _space_toml(name: str, params: dict[str, object]) -> str:
    """A search space whose every parameter has one choice (JSON literals are TOML here)."""
    lines = [f"name = {json.dumps(name)}"]
    for key, value in params.items():
        lines += [f"[params.{key}]", 'type = "categorical"', f"choices = [{json.dumps(value)}]"]
    if name == "shared":
        lines += ["[fixed]", *(f"{k} = {json.dumps(v)}" for k, v in FIXED_TRAINING.items())]
    return "\n".join(lines) + "\n"


def fixed_space_args(folder: Path) -> list[str]:
    """Write the :data:`FIXED_PARAMS` spaces into ``folder``; the ``fit`` arguments that give
    every trial the same work: those spaces, no pruning (and no early stopping)."""
    args = ["--no-pruning"]
    for name, params in FIXED_PARAMS.items():
        path = folder / f"{name}.toml"
        path.write_text(_space_toml(name, params))
        args += ["--space", str(path)]
    return args


def study_rate(url: str, study: str = "archselect") -> dict[str, float]:
    """Finished trials, the search window (s) and trials per minute of one study."""
    s = optuna.load_study(study_name=study, storage=make_storage(url))
    trials = [t for t in s.get_trials(deepcopy=False) if t.state.name in FINISHED]
    if not trials:
        return {"trials": 0, "window_s": 0.0, "per_minute": 0.0, "epochs_per_minute": 0.0}
    start = min(t.datetime_start for t in trials if t.datetime_start)
    end = max(t.datetime_complete for t in trials if t.datetime_complete)
    window = max((end - start).total_seconds(), 1e-9)
    epochs = sum(len(t.intermediate_values) for t in trials)  # pruned trials count theirs
    peaks = [t.user_attrs.get("peak_memory_mb") for t in trials]
    peaks = [p for p in peaks if p is not None]
    return {
        "trials": len(trials),
        "window_s": round(window, 2),
        "per_minute": round(len(trials) / window * 60, 2),
        "epochs": epochs,
        "epochs_per_minute": round(epochs / window * 60, 2),
        "peak_memory_mb_max": round(max(peaks), 1) if peaks else 0.0,
        "devices": sorted({str(t.user_attrs.get("device")) for t in trials}),  # type: ignore[dict-item]
    }


if __name__ == "__main__":
    print(json.dumps(study_rate(sys.argv[1], *(sys.argv[2:3] or ["archselect"]))))
