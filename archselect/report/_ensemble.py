"""The ensemble of the best trials in the report: one more head-to-head row.

Read from ``recommendation.json``'s ``ensemble`` record (written by
:mod:`archselect.select`); absent in runs without one (one model, forecasts, older runs); a
forecast's head-to-head says why it has none (:data:`FORECAST_NOTE`). Its sentences (the
headline when it is recommended, the Why line) come from :mod:`archselect.core.verdict`.
"""

from __future__ import annotations

from typing import Any

from archselect.core.verdict import label

__all__ = ["FORECAST_NOTE", "ensemble_view"]

#: Why a forecast run has no ensemble row.
FORECAST_NOTE = (
    "No ensemble row for a forecast: the statistical references forecast from each whole "
    "series, the networks from its last window, and an exported ensemble cannot combine the "
    "two, so the row could never be chosen."
)


def _members(row: dict[str, Any]) -> str:
    return ", ".join(
        f"{label(m['name'])} ×{float(m['weight']):.2f}" for m in row.get("members", [])
    )


def ensemble_view(raw: dict[str, Any], metric: str) -> dict[str, Any] | None:
    """The head-to-head row of the ensemble (None when the run formed none)."""
    row = raw.get("ensemble")
    if not isinstance(row, dict) or not row.get("members"):
        return None
    exported = row.get("final_test_metric")
    where = "out-of-fold" if row.get("cv") else "validation"
    test_note = (
        "the exported ensemble (members refit on train + validation)"
        if exported is not None
        else f"the searched models, on {row.get('test_rows', 0):,} test rows"
    )
    n = len(row["members"])
    return {
        "label": (
            f"ensemble of {n}: {_members(row)}"
            if n > 1
            else f"ensemble: all weight on {label(row['members'][0]['name'])}"
        ),
        "title": (
            f"Greedy ensemble selection with replacement ({row.get('rounds')} rounds) over "
            f"{', '.join(row.get('pool', []))}; {where} {metric} with weights chosen on the "
            f"other half of the rows; test: {test_note}"
        ),
        "val_metric": row.get("val_metric"),
        "test_metric": exported if exported is not None else row.get("test_metric"),
        "chosen": bool(row.get("chosen")),
        "state": "recommended" if row.get("chosen") else "shown, not chosen",
    }
