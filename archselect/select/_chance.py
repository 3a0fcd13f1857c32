"""Chance level: a family whose best figure is within noise of it is not a measurement.

The chance level is the majority class's accuracy (classification) or the mean predictor's
RMSE (regression) on the rows the trials are scored on: :attr:`SearchResult.chance_metric`
when the search recorded it, else estimated from what the run stores: the profile's class
counts, else one over the number of classes (a lower bound of the majority's share, so the
test errs towards calling a figure a measurement), else the labels the stored validation
outputs reveal; for regression the target's scale.

A family at chance either got less than its fair share of the compute (a reduced-fidelity
measurement: "not trained enough at this budget", with about how long its schedule would
take) or its full share and still did not learn (a finding, reported as such). Either way it
stays out of the verdict's winner, the stability resampling and the ensemble
(:func:`archselect.select.select`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from archselect.core.metrics import FORECAST_METRIC
from archselect.core.recommendation import FamilySummary
from archselect.core.records import (
    CUT_SHORT_NOTE,
    DEADLINE_NOTE,
    BaselineResult,
    SearchResult,
    TrialRecord,
)
from archselect.core.verdict import (
    CHANCE_MIN_GAIN,
    FAIR_SHARE_MIN,
    PERCENT_METRICS,
    Z95,
    Compared,
    Finding,
)

__all__ = ["assess_families", "at_chance", "chance_level", "settle_budget"]


def _majority_from_outputs(result: SearchResult) -> float | None:
    """The majority class's share among the validation rows whose label some candidate's
    stored outputs reveal (its prediction on a row it got right)."""
    labels: np.ndarray | None = None
    candidates: list[TrialRecord | BaselineResult] = [*result.finished(), *result.baselines]
    for scored in candidates:
        val, _ = scored.outputs()
        scores = scored.val_scores()
        if val is None or scores is None or val.ndim != 2 or len(val) != len(scores):
            continue
        guess = val.argmax(axis=1).astype(np.int64)
        if labels is None:
            labels = np.full(len(scores), -1, dtype=np.int64)
        if len(labels) != len(scores):
            continue
        right = (scores == 1.0) & (labels < 0)
        labels[right] = guess[right]
    if labels is None or not (labels >= 0).any():
        return None
    known = labels[labels >= 0]
    return float(np.bincount(known).max() / len(known))


def chance_level(result: SearchResult, profile: Any, scale: float) -> float | None:
    """The chance level of the run's metric (see the module docstring).

    ``scale``: the target's scale (:func:`archselect.select._intervals.implied_scale`), the
    mean predictor's RMSE in the target's unit up to the validation rows' own mean shift.
    """
    if result.chance_metric is not None:
        return float(result.chance_metric)
    if result.metric not in PERCENT_METRICS:
        return float(scale) if scale > 0 else None
    preview = getattr(profile, "preview", None)
    counts = list(getattr(preview, "class_counts", {}).values()) if preview is not None else []
    if counts and sum(counts):
        return max(counts) / sum(counts)
    classes = getattr(profile, "classes", ())
    if classes:  # a lower bound of the majority's share: the conservative test
        return 1.0 / len(classes)
    return _majority_from_outputs(result)


def at_chance(
    value: float | None, scores: np.ndarray | None, metric: str, chance: float | None, scale: float
) -> bool:
    """Whether ``value`` (a validation figure, with its per-row scores) is within noise of
    ``chance``: less than :data:`CHANCE_MIN_GAIN` of the way from chance to a perfect score,
    or its 95 % interval reaches chance.

    Example:
        >>> at_chance(0.128, None, "accuracy", 0.10, 1.0)  # 3 % of the way to 100 %
        True
        >>> at_chance(0.235, np.r_[np.ones(94), np.zeros(306)], "accuracy", 0.10, 1.0)
        False
    """
    if value is None or chance is None or not math.isfinite(value):
        return False
    if metric == FORECAST_METRIC:  # the naive forecasts are references: the verdict has them
        return False
    if metric in PERCENT_METRICS:
        gain = (value - chance) / (1.0 - chance) if chance < 1.0 else 0.0
        if gain < CHANCE_MIN_GAIN:
            return True
        if scores is None or len(scores) < 2:
            return False
        low = value - Z95 * math.sqrt(max(value * (1.0 - value), 0.0) / len(scores))
        return low <= chance
    if chance <= 0:
        return False
    if (chance - value) / chance < CHANCE_MIN_GAIN:
        return True
    if scores is None or len(scores) < 2:
        return False
    mean, spread = float(np.mean(scores)), float(np.std(scores, ddof=1)) / math.sqrt(len(scores))
    return scale * math.sqrt(max(mean + Z95 * spread, 0.0)) >= chance


def _full_fidelity(t: TrialRecord) -> bool:
    fid = t.fidelity or {}
    reduced = (
        fid.get("epochs") is not None
        or fid.get("rows") is not None
        or bool(fid.get("single_split"))
        or bool(fid.get("too_slow"))
        or t.resolution is not None
    )
    return not reduced


def _cut_short(t: TrialRecord) -> bool:
    note = t.note or ""
    return note.startswith(DEADLINE_NOTE) or note.startswith(CUT_SHORT_NOTE)


def _fair_share(result: SearchResult) -> float | None:
    """The largest first-measurement share (core-seconds) any family was given."""
    firsts: dict[str, float] = {}
    for t in result.trials:
        if t.share_s is not None and t.family not in firsts:
            firsts[t.family] = float(t.share_s)
    return max(firsts.values()) if firsts else None


def _needed_s(t: TrialRecord) -> float | None:
    """About how many seconds the trial's whole schedule would train (every epoch, row,
    fold and step), from its probed or measured pace."""
    epochs = t.params.get("epochs")
    if not isinstance(epochs, int | float) or epochs <= 0:
        return None
    runs = max(1, int(t.cv_folds or 1))
    epoch_s = float((t.fidelity or {}).get("epoch_s") or 0.0)
    if epoch_s > 0:
        return epoch_s * float(epochs) * runs
    if t.train_time_s and t.epochs:
        return float(t.train_time_s) / t.epochs * float(epochs)
    return None


def _assess(
    s: FamilySummary, t: TrialRecord, metric: str, chance: float | None, scale: float, fair: Any
) -> FamilySummary:
    stuck = at_chance(s.val_metric, t.val_scores(), metric, chance, scale)
    full = _full_fidelity(t)
    needed = _needed_s(t)
    trained = t.train_time_s or 0.0
    got_share = (
        full
        or (needed is not None and trained >= FAIR_SHARE_MIN * needed)  # about its schedule
        or (
            fair is not None
            and t.share_s is not None
            and t.share_s >= FAIR_SHARE_MIN * fair
            and not _cut_short(t)
        )
    )
    compared = Compared.FULL if full else Compared.REDUCED
    finding = ""
    if stuck and got_share:
        finding = Finding.DID_NOT_LEARN.value
    elif stuck:
        compared, finding = Compared.INSUFFICIENT, Finding.NOT_TRAINED_ENOUGH.value
    if finding != Finding.NOT_TRAINED_ENOUGH:
        needed = None
    return dataclasses.replace(
        s,
        compared=compared.value,
        at_chance=stuck,
        finding=finding,
        epochs=t.epochs,
        trained_s=t.train_time_s,
        needed_s=round(needed, 1) if needed is not None else None,
    )


def _unmeasured(s: FamilySummary, result: SearchResult) -> FamilySummary:
    """A family with no finished trial: when its trials were stopped for the budget (too slow
    for their share, or at the deadline) it was not trained enough to compare."""
    tried = [t for t in result.trials if t.family == s.family and t.state == "PRUNED"]
    starved = [t for t in tried if (t.fidelity or {}).get("too_slow") or _cut_short(t)]
    if not starved:
        return s
    needed = [n for n in (_needed_s(t) for t in starved) if n is not None]
    return dataclasses.replace(
        s,
        compared=Compared.INSUFFICIENT.value,
        finding=Finding.NOT_TRAINED_ENOUGH.value,
        needed_s=round(max(needed), 1) if needed else None,
    )


def assess_families(
    summaries: Sequence[FamilySummary],
    result: SearchResult,
    chance: float | None,
    scale: float,
) -> list[FamilySummary]:
    """Each family's row with how it was compared and, at chance level, why (see the
    module docstring); a family the budget stopped before any result is insufficient."""
    trials = {t.number: t for t in result.trials}
    fair = _fair_share(result)
    out = []
    for s in summaries:
        t = trials.get(s.best_trial) if s.best_trial is not None else None
        if t is None:
            out.append(_unmeasured(s, result))
        else:
            out.append(_assess(s, t, result.metric, chance, scale, fair))
    return out


def settle_budget(summaries: Sequence[FamilySummary], budget_s: float | None) -> float | None:
    """A ``--timeout`` that would have trained every family not trained enough for its whole
    schedule: the budget scaled by the largest ratio of needed to trained seconds (a share
    grows with the budget); for a family stopped before any result, the budget plus the
    training it needs."""
    if budget_s is None:
        return None
    short = [s for s in summaries if s.finding == Finding.NOT_TRAINED_ENOUGH and s.needed_s]
    estimates = []
    for s in short:
        assert s.needed_s is not None
        if s.trained_s:
            estimates.append(float(budget_s) * max(1.0, s.needed_s / s.trained_s))
        else:
            estimates.append(float(budget_s) + s.needed_s)
    return max(estimates) if estimates else None
