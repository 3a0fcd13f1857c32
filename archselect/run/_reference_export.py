"""The final model when a reference wins: refit it (on every labelled row when the time left
pays for it) and export it, a forecast reference as its statistical model.

Called by :func:`archselect.run._fit.fit` once the selection is done; a network's refit is
:mod:`archselect.run._refit`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from archselect._common.budget import Clock
from archselect.baselines import fit_baseline
from archselect.baselines_forecast import STATS_REFERENCES, final_reference, final_test_outputs
from archselect.core.metrics import score
from archselect.core.stored import RunRecommendation, evaluate_outputs
from archselect.export import (
    ModelConfig,
    export_baseline,
    export_forecast_reference,
)
from archselect.plan import Plan
from archselect.prepare import Prepared, Preprocessing
from archselect.profile import Profile
from archselect.run._members import labelled
from archselect.run._refit import (
    ALL_ROWS,
    REFIT_ALL_ROWS,
    REPORT_RESERVE_S,
    TESTED_ROWS,
)
from archselect.rundir import MODEL
from archselect.search import (
    SearchResult,
)
from archselect.select import with_final_test

__all__ = ["REFERENCE_REFIT_SAFETY", "export_reference"]

_log = logging.getLogger(__name__)

#: A reference's refits are planned at its measured fitting pace times this (its fit grows
#: faster than linearly with the rows for some, e.g. the RBF SVM).
REFERENCE_REFIT_SAFETY = 1.5


def export_reference(
    run_dir: Path,
    prepared: Prepared,
    profile: Profile,
    plan: Plan,
    rec: RunRecommendation,
    seed: int,
    result: SearchResult | None = None,
    clock: Clock | None = None,
) -> RunRecommendation:
    """Refit the recommended reference on train + validation and score it on test; export
    it refitted on every labelled row (:data:`REFIT_ALL_ROWS`), as a network is, when the
    time left pays for both fits at the pace its search-time fit was measured."""
    name = rec.recommended
    assert name is not None
    pre = prepared.preprocessing
    if pre.forecast is not None and name in STATS_REFERENCES:
        return _export_forecast_reference(run_dir, prepared, profile, plan, rec, result, clock)
    x_all, _ = labelled(prepared)
    n_pooled = len(prepared.pooled[0])
    all_rows = REFIT_ALL_ROWS and len(x_all) > n_pooled
    measured = next(
        (b for b in (result.baselines if result else ()) if b.name == name and b.train_time_s),
        None,
    )
    left = clock.left() if clock is not None else None
    if all_rows and measured is not None and left is not None:
        per_row = measured.train_time_s / max(1, len(prepared.x_train))
        need = REFERENCE_REFIT_SAFETY * per_row * (n_pooled + len(x_all))
        all_rows = need <= max(0.0, left - REPORT_RESERVE_S)
    note = (
        None
        if all_rows or not REFIT_ALL_ROWS or len(x_all) == n_pooled
        else "no time left to refit on every labelled row: the exported model is the tested "
        "refit on train + validation"
    )
    # each fit within its share of the time left (an iterative reference stops early)
    fit_s = None if left is None else (left - REPORT_RESERVE_S) / (2 if all_rows else 1)
    estimator, test_out = fit_baseline(prepared, name, seed, seconds=fit_s)
    final_test = score(pre.task, test_out, prepared.y_test, pre.target_std)
    if all_rows:
        estimator, _ = fit_baseline(prepared, name, seed, rows=labelled(prepared), seconds=fit_s)
    export_baseline(
        run_dir / MODEL,
        estimator,
        pre,
        _reference_config(
            name,
            pre,
            profile.task,
            {"test_" + plan.metric: final_test},
            trained_on=ALL_ROWS if all_rows else TESTED_ROWS,
            note=note,
        ),
    )
    evaluation = None
    try:
        evaluation = evaluate_outputs(
            pre.task,
            np.log(np.clip(test_out, 1e-12, None)) if pre.task == "classification" else test_out,
            prepared.y_test,
            classes=pre.classes,
            target_mean=pre.target_mean,
            target_std=pre.target_std,
            seed=seed,
        )
    except Exception as exc:  # a failure here costs the plot, never the run
        _log.warning("test evaluation skipped: %s: %s", type(exc).__name__, exc)
    return dataclasses.replace(
        with_final_test(rec, final_test, all_rows=all_rows), evaluation=evaluation
    )


def _export_forecast_reference(
    run_dir: Path,
    prepared: Prepared,
    profile: Profile,
    plan: Plan,
    rec: RunRecommendation,
    result: SearchResult | None,
    clock: Clock | None,
) -> RunRecommendation:
    """The recommended statistical forecast reference: refitted per series on train +
    validation and scored on the test origins, as a network's final refit is (when the time
    left pays for it at the pace of its search-time fits), then refitted on every step and
    exported as JSON (:func:`archselect.baselines_forecast.final_reference`)."""
    name = rec.recommended
    assert name is not None
    pre = prepared.preprocessing
    measured = next((b for b in (result.baselines if result else ()) if b.name == name), None)
    left = clock.left() if clock is not None else None
    pace = measured.train_time_s if measured is not None else 0.0
    tested = left is None or REFERENCE_REFIT_SAFETY * 2 * pace <= left - REPORT_RESERVE_S
    final_test, tests = None, {}
    if tested:
        test_out = final_test_outputs(prepared, name)
        final_test = score(pre.task, test_out, prepared.y_test, pre.target_std)
        tests = {f"test_{k}": v for k, v in prepared.forecast_scores("test", test_out).items()}
    export_forecast_reference(
        run_dir / MODEL,
        final_reference(prepared, name),
        pre,
        _reference_config(
            name,
            pre,
            profile.task,
            {**({"test_" + plan.metric: final_test} if final_test is not None else {}), **tests},
            trained_on=ALL_ROWS,
            note=None
            if tested
            else "no time left to refit on train + validation and test it: the exported "
            "model is refitted on every step, with no held-out figure of its own",
        ),
    )
    return with_final_test(rec, final_test, all_rows=True)


def _reference_config(
    name: str,
    pre: Preprocessing,
    task: str,
    metrics: dict[str, float],
    *,
    trained_on: str,
    note: str | None,
) -> ModelConfig:
    """The ``config.json`` of an exported reference (a fitted model, no network)."""
    return ModelConfig(
        family=name,
        params={},
        input_shape=pre.input_shape,
        n_outputs=pre.n_outputs,
        layout=pre.layout,
        task=task,
        metrics=metrics,
        kind="baseline",
        trained_on=trained_on,
        note=note,
    )
