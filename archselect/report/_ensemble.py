"""The ensemble of the best trials in the report: one more head-to-head row and a card line.

Read from ``recommendation.json``'s ``ensemble`` record (written by
:mod:`archselect.select._ensemble`); absent in runs without one (one model, forecasts, older runs);
a forecast's card says why it has none (:data:`FORECAST_NOTE`). When the ensemble is
recommended (``kind`` = ``ensemble``), the first screen says so and still names the best
single family.
"""

from __future__ import annotations

from typing import Any

from archselect.report._verdict import ACCURACY_METRICS, metric_diff, metric_value

__all__ = ["FORECAST_NOTE", "ensemble_screen", "ensemble_view"]

#: The card's ensemble line in a forecast run, which forms no ensemble row.
FORECAST_NOTE = (
    "None for a forecast: the statistical references forecast from each whole series, the "
    "networks from its last window, and an exported ensemble cannot combine the two, so the "
    "row could never be chosen."
)
#: Regression intervals are of per-row squared errors, not of the RMSE shown beside them.
_MSE_UNITS = " in mean squared error, standardised units"


def _members(row: dict[str, Any]) -> str:
    return ", ".join(f"{m['name']} ×{float(m['weight']):.2f}" for m in row.get("members", []))


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
            else f"ensemble: all weight on {row['members'][0]['name']}"
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
        "line": (
            f"{metric_value(row.get('val_metric'), metric)} {where} {metric} (weights chosen on "
            f"other rows) vs {metric_value(row.get('best_single_val_metric'), metric)} for the "
            f"best single candidate, {row.get('best_single')}: "
            f"{metric_diff(row.get('margin'), metric)}"
            + (
                f" (95 % interval {metric_diff(row['interval'][0], metric)} to "
                f"{metric_diff(row['interval'][1], metric)}"
                f"{'' if metric in ACCURACY_METRICS else _MSE_UNITS})"
                if row.get("interval")
                else ""
            )
            + ("; recommended and exported" if row.get("chosen") else "; not clearly better")
        ),
    }


def ensemble_screen(
    screen: dict[str, Any], view: dict[str, Any] | None, rec: Any, *, forecast: bool = False
) -> None:
    """Add the ensemble's card line to ``screen`` (``forecast``: the run is a forecast, and
    the line says why it has no ensemble); when it is recommended, say so in the headline
    (which still names the best single family) and the recommended line."""
    screen["ensemble"] = (FORECAST_NOTE if forecast else None) if view is None else view["line"]
    if view is None or not view["chosen"]:
        return
    metric = rec.metric
    test = metric_value(view["test_metric"], metric)
    family = (
        f"; best single family {rec.family} ({metric_value(rec.val_metric, metric)} validation "
        f"{metric})"
        if rec.family
        else ""
    )
    screen["headline"] = f"Use the {view['label']}: test {metric} {test} (exported model){family}."
    screen["recommended"] = (
        f"{view['label']}: {metric_value(view['val_metric'], metric)} {metric} with weights "
        f"chosen on other rows, test {test} (exported model)"
    )
    screen["why"] = view["line"]
    screen["cost"] = None  # the family's costs are not the ensemble's
