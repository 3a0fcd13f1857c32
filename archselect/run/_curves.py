"""Would more data change the verdict? The top two candidates of the search (deep families
or references) trained on 25 %, 50 % and 100 % of the training rows, each at the fidelity of
its best trial, and scored on the same validation rows (issue 31, item 4).

The rows are nested (the 25 % are among the 50 %), drawn with the run's seed; a point's
interval is the bootstrap over the scored rows. The 100 % point of a candidate whose search
result was scored on the validation split is that result (no retraining).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from archselect.baselines_forecast import FORECAST_REFERENCES
from archselect.core.recommendation import CurvePoint, LearningCurve
from archselect.core.records import (
    EXPORTABLE_BASELINES,
    SearchResult,
    TrialRecord,
    best_by_family,
    cross_validated,
)
from archselect.core.sizes import fit_rows
from archselect.plan import Plan
from archselect.prepare import Prepared
from archselect.run._retrain import (
    Fitted,
    Retraining,
    metric_of,
    metric_samples,
    out_of_fold_scores,
    quantiles,
    stored_split_scores,
)

__all__ = [
    "CURVE_CANDIDATES",
    "CURVE_FRACTIONS",
    "Candidate",
    "curve_candidates",
    "curve_cost",
    "curve_from",
    "curve_runs",
]

#: The shares of the training rows each curve is measured at, and how many candidates get
#: one (the best by validation metric).
CURVE_FRACTIONS = (0.25, 0.5, 1.0)
CURVE_CANDIDATES = 2
#: The references a curve can refit on a share of the rows: those a run can export, less
#: the forecast references (fitted per series on the whole history, not on a share of the
#: training windows).
REFITTABLE = frozenset(EXPORTABLE_BASELINES) - frozenset(FORECAST_REFERENCES)
#: A retraining is planned at its search-time cost times this (fewer rows train more epochs
#: under the minimum-steps rule).
COST_SAFETY = 1.5
#: Seconds charged per retraining beyond its training (building, predicting).
RUN_OVERHEAD_S = 0.5


@dataclass(frozen=True)
class Candidate:
    """A deep family's best trial or a reference's search result, with its search-time
    cost (seconds to train on every training row at its fidelity)."""

    name: str
    val_metric: float
    trial: TrialRecord | None = None
    cost_s: float = 0.0
    scores: np.ndarray | None = None
    #: Scored out of fold over every train + validation row (small data): such results
    #: rank first, as in the verdict (:func:`archselect.core.records.cross_validated`).
    cross_validated: bool = False


def curve_candidates(
    result: SearchResult, plan: Plan, prepared: Prepared, limit: int = CURVE_CANDIDATES
) -> list[Candidate]:
    """The ``limit`` best candidates (deep families and references): those scored out of
    fold first, then by validation metric."""
    sign = 1.0 if plan.direction == "maximize" else -1.0
    found = [
        Candidate(
            t.family,
            float(t.val_metric or 0.0),
            t,
            _trial_cost(t, len(prepared.x_train)),
            stored_split_scores(t.val_scores(), prepared) if _full_rows(t) else None,
            cross_validated(t),
        )
        for t in best_by_family(result).values()
    ]
    found += [
        Candidate(
            b.name,
            float(b.val_metric),
            None,
            float(b.train_time_s or 0.0),
            stored_split_scores(b.val_scores(), prepared),
            out_of_fold_scores(b.val_scores(), prepared),
        )
        for b in result.baselines
        if b.state == "COMPLETE"
        and b.val_metric is not None
        and math.isfinite(b.val_metric)
        and b.name in REFITTABLE
        and not _subsampled(b.name, prepared)
    ]
    found.sort(key=lambda c: (not c.cross_validated, -sign * c.val_metric))
    return found[:limit]


def _subsampled(name: str, prepared: Prepared) -> bool:
    """Whether reference ``name`` fits a subsample of these training rows (its method's
    size rule, :func:`archselect.core.sizes.fit_rows`): its curve could not say what more
    rows would do."""
    x = prepared.x_train
    n_features = int(np.prod(x.shape[1:])) if x.ndim > 1 else 1
    return fit_rows(name, len(x), len(prepared.x_val), n_features, 0)[0] is not None


def _full_rows(trial: TrialRecord) -> bool:
    """Whether the trial trained on every training row (no row fidelity, no folds)."""
    return not trial.fidelity.get("rows") and not trial.cv_folds


def _trial_cost(trial: TrialRecord, n_train: int) -> float:
    """Seconds the trial's configuration takes on every training row at its fidelity."""
    rows = trial.fidelity.get("rows") or n_train
    return float(trial.train_time_s or 0.0) * n_train / max(1, rows)


def curve_cost(candidate: Candidate) -> float:
    """Seconds the curve's retrainings are planned to take."""
    shares = [f for f in CURVE_FRACTIONS if f < 1.0 or candidate.scores is None]
    return sum(COST_SAFETY * candidate.cost_s * f + RUN_OVERHEAD_S for f in shares)


def curve_runs(prepared: Prepared, plan: Plan, candidate: Candidate) -> list[Retraining]:
    """The retrainings the candidate's curve needs: one per share of the rows (nested, drawn
    with the run's seed), less the 100 % point when the search scored it on the split."""
    n = len(prepared.x_train)
    trial = candidate.trial
    cap = None if trial is None else trial.fidelity.get("epochs")
    return [
        Retraining(candidate.name, tuple(int(r) for r in rows), trial, max_epochs=cap)
        for fraction, rows in _shares(plan, n)
        if fraction < 1.0 or candidate.scores is None
    ]


def _shares(plan: Plan, n: int) -> list[tuple[float, np.ndarray]]:
    order = np.random.default_rng(plan.seed).permutation(n)
    return [(f, np.sort(order[: max(2, round(f * n))])) for f in CURVE_FRACTIONS]


def curve_from(
    prepared: Prepared, plan: Plan, candidate: Candidate, fitted: list[Fitted]
) -> LearningCurve:
    """The candidate's curve from its retrainings (:func:`curve_runs`, in order)."""
    pre = prepared.preprocessing
    retrained = iter(fitted)
    points = []
    for k, (fraction, rows) in enumerate(_shares(plan, len(prepared.x_train))):
        if fraction == 1.0 and candidate.scores is not None:
            scores = candidate.scores
        else:
            scores = next(retrained).scores
        samples = metric_samples(pre.task, (scores,), pre.target_std, plan.seed + k)[0]
        low, high = quantiles(samples)
        metric = metric_of(pre.task, scores, pre.target_std)
        points.append(CurvePoint(fraction, len(rows), metric, low, high))
    slope = points[-1].metric - points[-2].metric  # rows double from 50 % to 100 %
    return LearningCurve(candidate.name, tuple(points), slope)
