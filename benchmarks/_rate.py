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
FIXED_SPACES = {
    "shared.toml": """name = "shared"
[params.lr]
type = "categorical"
choices = [0.003]
[params.weight_decay]
type = "categorical"
choices = [0.0001]
[params.batch_size]
type = "categorical"
choices = [32]
[params.epochs]
type = "categorical"
choices = [40]
[params.schedule]
type = "categorical"
choices = ["constant"]
[fixed]
patience = 1000000
""",
    "cnn1d.toml": """name = "cnn1d"
[params.blocks]
type = "categorical"
choices = [2]
[params.width]
type = "categorical"
choices = [64]
[params.kernel]
type = "categorical"
choices = [5]
[params.dropout]
type = "categorical"
choices = [0.1]
""",
    "mlp.toml": """name = "mlp"
[params.layers]
type = "categorical"
choices = [2]
[params.width]
type = "categorical"
choices = [128]
[params.dropout]
type = "categorical"
choices = [0.1]
""",
}


def fixed_space_args(folder: Path) -> list[str]:
    """Write :data:`FIXED_SPACES` into ``folder``; the ``fit`` arguments that give every
    trial the same work: those spaces, no pruning (and no early stopping, in the spaces)."""
    args = ["--no-pruning"]
    for file, text in FIXED_SPACES.items():
        (folder / file).write_text(text)
        args += ["--space", str(folder / file)]
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
