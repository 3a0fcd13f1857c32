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


def study_rate(url: str, study: str = "archselect") -> dict[str, float]:
    """Finished trials, the search window (s) and trials per minute of one study."""
    s = optuna.load_study(study_name=study, storage=make_storage(url))
    trials = [t for t in s.get_trials(deepcopy=False) if t.state.name in FINISHED]
    if not trials:
        return {"trials": 0, "window_s": 0.0, "per_minute": 0.0}
    start = min(t.datetime_start for t in trials if t.datetime_start)
    end = max(t.datetime_complete for t in trials if t.datetime_complete)
    window = max((end - start).total_seconds(), 1e-9)
    peaks = [t.user_attrs.get("peak_memory_mb") for t in trials]
    peaks = [p for p in peaks if p is not None]
    return {
        "trials": len(trials),
        "window_s": round(window, 2),
        "per_minute": round(len(trials) / window * 60, 2),
        "peak_memory_mb_max": round(max(peaks), 1) if peaks else 0.0,
        "devices": sorted({str(t.user_attrs.get("device")) for t in trials}),  # type: ignore[dict-item]
    }


if __name__ == "__main__":
    print(json.dumps(study_rate(sys.argv[1], *(sys.argv[2:3] or ["archselect"]))))
