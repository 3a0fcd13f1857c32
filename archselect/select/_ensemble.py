"""The ensemble of the best trials: one more candidate row beside the families and baselines.

Greedy ensemble selection with replacement (Caruana et al. 2004, as AutoGluon and
Auto-PyTorch do) over a pool of each family's :data:`POOL_PER_FAMILY` best finished trials
and the exportable references, on the outputs every trial stored for the rows it was
scored on (out-of-fold where the study cross-validates): class probabilities
(classification, lowering the error rate) or predictions in standardised-target units
(regression, lowering the mean squared error of the averaged predictions). Forecasts form
no ensemble (:data:`archselect.report._ensemble.FORECAST_NOTE` says why).

The honest figure: weights chosen on the rows they are scored on flatter the ensemble, so
every row is scored with weights chosen on the other half of the rows
(:func:`archselect.core.ensemble_selection.cross_fit_outputs`); that per-row score is then
compared with the best single candidate's on the same rows by the selection's paired
bootstrap interval (per-row scores: 1/0 correct, or minus the squared error). The ensemble
is recommended (``kind`` = ``ensemble``) only when that interval excludes 0 in its favour;
otherwise it is shown and not chosen. Either way the headline names the best single family.

Torch-free: the selection and the report load no training stack.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from archselect.core import records as _records
from archselect.core.ensemble_selection import (
    CROSS_FIT_FOLDS,
    ENSEMBLE_ROUNDS,
    blend,
    cross_fit_outputs,
    greedy_weights,
    row_scores,
    stored_rows,
)
from archselect.core.metrics import score
from archselect.core.recommendation import Recommendation
from archselect.core.records import SearchResult, TrialRecord
from archselect.core.verdict import ENSEMBLE, RecommendationKind, ensemble_text, restate
from archselect.select._intervals import metric_interval

__all__ = [
    "ENSEMBLE",
    "POOL_PER_FAMILY",
    "EnsembleLabels",
    "Member",
    "ensemble_row",
    "with_ensemble",
]

#: Finished trials of each family the pool takes, best first (with every exportable
#: reference). A few per family: the selection rarely gives weight beyond a family's best
#: two or three, and each member chosen is one more model to refit and to run.
POOL_PER_FAMILY = 3
#: The task the selection's metric scores: the ensemble is formed for these only.
TASK_OF_METRIC = {"accuracy": "classification", "rmse": "regression"}

_Rec = TypeVar("_Rec", bound=Recommendation)


@dataclass(frozen=True)
class EnsembleLabels:
    """The labels of the rows candidates are scored on: ``val`` (the validation rows, or
    the pooled train + validation rows when ``cv``) and ``test``; for regression, standardised
    targets, and ``target_std`` turns a root mean squared error into target units."""

    val: np.ndarray
    test: np.ndarray
    cv: bool
    target_std: float = 1.0


@dataclass(frozen=True)
class Member:
    """One model of the pool: its stored outputs on the scored and the test rows."""

    name: str
    kind: str
    family: str
    trial: int | None
    val: np.ndarray
    test: np.ndarray | None

    def describe(self, weight: float) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "family": self.family,
            "trial": self.trial,
            "weight": round(float(weight), 6),
        }


def _trial_name(t: TrialRecord) -> str:
    return f"{t.family} #{t.number}"


def _pool(
    result: SearchResult, labels: EnsembleLabels, task: str, exclude: Collection[str] = ()
) -> list[Member]:
    """Each family's best finished trials (but the families in ``exclude``: at chance level)
    and the exportable references whose stored outputs cover the same rows; best validation
    metric first."""
    sign = 1.0 if result.direction == "maximize" else -1.0
    by_family: dict[str, list[TrialRecord]] = {}
    for t in result.finished():
        if t.family in exclude:
            continue
        if bool(t.cv_folds) == labels.cv:  # scored on the same rows as the labels
            by_family.setdefault(t.family, []).append(t)
    ranked: list[tuple[float, float, Member]] = []
    for trials in by_family.values():
        trials.sort(key=lambda t: (-sign * (t.val_metric or 0.0), t.mean_val_brier(), t.number))
        for t in trials[:POOL_PER_FAMILY]:
            val, test = t.outputs()
            if val is not None:
                member = Member(_trial_name(t), "family", t.family, t.number, val, test)
                ranked.append((sign * (t.val_metric or 0.0), t.mean_val_brier(), member))
    for b in result.baselines:
        if b.state != "COMPLETE" or b.name not in _records.EXPORTABLE_BASELINES:
            continue
        val, test = b.outputs()
        brier = b.val_brier()
        if val is not None:
            mean_brier = float(brier.mean()) if brier is not None else 0.0
            member = Member(b.name, "baseline", b.name, None, val, test)
            ranked.append((sign * (b.val_metric or 0.0), mean_brier, member))
    ranked.sort(key=lambda r: (-r[0], r[1]))
    members = [m for _, _, m in ranked]
    if not members or not len(labels.val):
        return []
    if task == "classification":
        cols = members[0].val.shape[1]
        if cols <= int(labels.val.max()):
            return []
    else:  # one prediction per row
        cols = 1
    rows = stored_rows(len(labels.val), cols)
    return [m for m in members if m.val.shape == (rows, cols)]


def _targets(y: np.ndarray, task: str) -> np.ndarray:
    return y.astype(np.int64) if task == "classification" else y.astype(np.float64)


def _test_pair(
    members: Sequence[Member],
    weights: np.ndarray,
    best: Member,
    labels: EnsembleLabels,
    task: str,
) -> dict[str, Any]:
    """Test metric of the weighted trial models and of the best single one, on the test
    rows they all stored (the trials' own models: trained on the training rows)."""
    tests = [m.test for m in members]
    y = labels.test
    if any(t is None for t in tests) or best.test is None or not len(y):
        return {}
    rows = min(min(len(t) for t in tests if t is not None), len(y), len(best.test))
    if rows == 0 or len({t.shape[1] for t in tests if t is not None}) != 1:
        return {}
    y = _targets(y[:rows], task)
    out = blend([t[:rows] for t in tests if t is not None], weights)

    def metric(outputs: np.ndarray) -> float:
        return score(task, outputs, y, labels.target_std)

    return {
        "test_metric": metric(out),
        "best_single_test_metric": metric(best.test[:rows]),
        "test_rows": rows,
    }


def ensemble_row(
    result: SearchResult,
    labels: EnsembleLabels,
    seed: int,
    interval: Any,
    *,
    exportable: bool = True,
    exclude: Collection[str] = (),
) -> dict[str, Any]:
    """The ensemble's candidate row, or ``{}`` when fewer than two models can be pooled.

    ``interval(a, b, seed)``: the selection's paired-bootstrap interval of mean(a - b) of the
    per-row scores, on which "clearly better" is decided; the row's ``interval`` is the same
    resamples' interval of the metric itself (points, or RMSE in the target's unit).
    ``exportable``: whether this layout's models can be exported as an ensemble.
    ``exclude``: families left out of the pool (at chance level: :func:`at_chance_families`).
    """
    task = TASK_OF_METRIC.get(result.metric)
    if task is None:
        return {}
    members = _pool(result, labels, task, exclude)
    if len(members) < 2:
        return {}
    rows = len(members[0].val)
    y = _targets(labels.val[:rows], task)
    vals = [m.val for m in members]
    honest, _ = cross_fit_outputs(vals, y, task, seed)
    weights = greedy_weights(vals, y, task)
    ens = row_scores(honest, y, task)
    singles = [row_scores(v, y, task) for v in vals]
    means = [float(s.mean()) for s in singles]
    b = int(np.argmax(means))  # the first of the best: the pool is ranked by the search
    iv = interval(ens, singles[b], seed)  # positive: the ensemble scores higher
    shown = (
        iv
        if task == "classification"
        else metric_interval(-ens, -singles[b], result.metric, seed, labels.target_std)
    )

    def metric(outputs: np.ndarray) -> float:
        return score(task, outputs, y, labels.target_std)

    sign = 1.0 if task == "classification" else -1.0  # margin: positive favours the ensemble
    clear = iv is not None and iv[0] > 0.0
    chosen = [(m, w) for m, w in zip(members, weights, strict=True) if w > 0]
    chosen.sort(key=lambda mw: -mw[1])
    row: dict[str, Any] = {
        "name": ENSEMBLE,
        "members": [m.describe(w) for m, w in chosen],
        "pool": [m.name for m in members],
        "rounds": ENSEMBLE_ROUNDS,
        "rows": rows,
        "cv": labels.cv,
        "cross_fit_folds": CROSS_FIT_FOLDS,
        "val_metric": metric(honest),
        "in_sample_val_metric": metric(blend(vals, weights)),
        "best_single": members[b].name,
        "best_single_kind": members[b].kind,
        "best_single_val_metric": metric(vals[b]),
        "margin": sign * (metric(honest) - metric(vals[b])),
        "interval": list(shown) if shown is not None else None,
        "clear": clear,
        "chosen": clear and exportable and len(chosen) > 1,
    }
    row.update(
        _test_pair(
            [m for m, _ in chosen], np.array([w for _, w in chosen]), members[b], labels, task
        )
    )
    return row


def at_chance_families(rec: Recommendation) -> tuple[str, ...]:
    """The families the selection left out at chance level (kept out of the ensemble too)."""
    return tuple(f.family for f in rec.families if f.at_chance)


def ensemble_sentence(row: dict[str, Any], metric: str) -> str:
    """The ensemble row in words (:func:`archselect.core.verdict.ensemble_text`)."""
    rec = Recommendation(
        family=None,
        trial=None,
        params={},
        metric=metric,
        direction="maximize" if metric == "accuracy" else "minimize",
        val_metric=None,
        test_metric=None,
        runner_up=None,
        runner_up_val_metric=None,
        margin=None,
        margin_interval=None,
        within_noise=False,
        baseline_best=None,
        baseline_val_metric=None,
        baseline_test_metric=None,
        baseline_beats_deep=False,
        profile_confidence=1.0,
        ensemble=row,
        interval_unit="metric",
    )
    return ensemble_text(rec) or ""


def with_ensemble(rec: _Rec, row: dict[str, Any]) -> _Rec:
    """``rec`` with the ensemble row recorded (a sentence on it among the reasons) and — when
    it wins clearly — the ensemble recommended; the headline still names the best single
    family."""
    if not row:
        return rec
    if not row["chosen"]:
        return restate(dataclasses.replace(rec, ensemble=row))
    rule = {**rec.rule, "recommended_by": "ensemble", "single": rec.recommended}
    return restate(
        dataclasses.replace(
            rec,
            ensemble=row,
            kind=RecommendationKind.ENSEMBLE.value,
            recommended=ENSEMBLE,
            rule=rule,
        )
    )
