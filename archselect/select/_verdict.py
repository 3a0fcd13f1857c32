"""The selection rule on per-row scores: best family vs best reference, paired counts with an
exact McNemar test, and the verdict's stability under bootstrap resamples of the rows.

Every candidate — a family's best trial or a non-deep reference — carries its per-row
validation scores (1/0 correct, or squared error; out-of-fold where the study
cross-validates) on the same rows, so candidates are compared row by row. The rule:

1. Families are ranked by mean score, then mean Brier score (lower first), then latency. When
   the runner-up is within noise of the leader (the interval of the paired difference
   reaches 0), the Brier score cannot separate them and the runner-up is clearly cheaper,
   the runner-up is preferred.
2. The best exportable reference then replaces that family when it scores higher, or when it
   is within noise of it on the metric and clearly cheaper (latency, peak memory, model size
   or training time; the size is counted, so a reference that is clearly smaller wins the tie
   whatever the timings did). The Brier score is reported for this pair but does not decide
   it: the references are regularised, not tuned for confidence (logistic regression on
   separable rows is far less sure than a network that fits them), so a deep model must earn
   its cost on the metric itself.

:func:`stability` re-applies both steps to bootstrap resamples of the rows (intervals there
from the normal approximation, as a nested bootstrap would cost rounds squared).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import binomtest

from archselect.core import records as _records
from archselect.core.verdict import (
    Z95,
    Costs,
    RecommendationKind,
    cheaper_parts,
    direction_sign,
)
from archselect.select._intervals import metric_interval, run_scale

__all__ = [
    "STABILITY_RESAMPLES",
    "Candidate",
    "Verdict",
    "cheaper_reason",
    "paired_counts",
    "prefer_baseline",
    "stability",
]

#: Bootstrap resamples of the rows the verdict is re-derived on.
STABILITY_RESAMPLES = 1000

Interval = Callable[[np.ndarray, np.ndarray], "tuple[float, float] | None"]


@dataclass(frozen=True)
class Candidate:
    """One model the selection may recommend, with its costs and per-row scores.

    ``scores`` are signed so that higher is better (accuracy rows as 1/0, regression rows as
    minus the squared error); ``brier`` is None for regression.
    """

    name: str
    kind: str
    val_metric: float
    scores: np.ndarray | None
    brier: np.ndarray | None = None
    latency_ms: float | None = None
    memory_mb: float | None = None
    train_time_s: float | None = None
    #: Numbers the model stores: a network's parameters, a reference's fitted arrays.
    n_params: int | None = None


def costs_of(c: Candidate) -> Costs:
    """A candidate's measured costs, for :func:`archselect.core.verdict.cheaper_parts`."""
    return Costs(c.name, c.latency_ms, c.memory_mb, c.train_time_s, c.n_params)


def cheaper_reason(a: Candidate, b: Candidate, training: bool = True) -> str | None:
    """Why ``a`` is clearly cheaper than ``b`` (:func:`archselect.core.verdict.cheaper_parts`:
    measured figures naming both), or None.

    Example:
        >>> fast = Candidate("logistic_regression", "baseline", 1.0, None, latency_ms=0.01,
        ...                  train_time_s=0.1, n_params=14)
        >>> slow = Candidate("cnn1d", "family", 1.0, None, latency_ms=0.04, train_time_s=2.0,
        ...                  n_params=7000)
        >>> cheaper_reason(fast, slow).split(", ")[0]
        'latency logistic regression 0.01 ms vs cnn1d 0.04 ms per sample (×4 faster)'
    """
    return ", ".join(cheaper_parts(costs_of(a), costs_of(b), training=training)) or None


def paired_counts(a: np.ndarray | None, b: np.ndarray | None) -> dict[str, Any] | None:
    """Rows only ``a`` gets right, rows only ``b`` does, and the exact McNemar p-value.

    ``a`` and ``b`` are per-row 1/0 correctness on the same rows (classification only).

    Example:
        >>> paired_counts(np.array([1, 1, 1, 0.0]), np.array([0, 0, 0, 0.0]))
        {'only_a': 3, 'only_b': 0, 'p_value': 0.25}
    """
    if a is None or b is None or len(a) != len(b) or len(a) == 0:
        return None
    if not (np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all()):
        return None
    only_a = int(((a == 1) & (b == 0)).sum())
    only_b = int(((a == 0) & (b == 1)).sum())
    n = only_a + only_b
    p = 1.0 if n == 0 else float(binomtest(min(only_a, only_b), n, 0.5).pvalue)
    return {"only_a": only_a, "only_b": only_b, "p_value": round(min(1.0, p), 6)}


def _noise(
    lead: Candidate, other: Candidate, rows: np.ndarray, interval: Interval
) -> tuple[bool, bool]:
    """(within noise on the metric, the Brier score favours ``lead`` beyond noise)."""
    assert lead.scores is not None and other.scores is not None
    iv = interval(lead.scores[rows], other.scores[rows])
    within = iv is not None and iv[0] <= 0.0
    brier_ahead = False
    if lead.brier is not None and other.brier is not None:
        biv = interval(other.brier[rows], lead.brier[rows])  # positive: lead surer
        brier_ahead = biv is not None and biv[0] > 0.0
    return within, brier_ahead


def prefer_baseline(
    family: Candidate, base: Candidate, rows: np.ndarray, interval: Interval
) -> tuple[bool, str]:
    """Whether the reference ``base`` replaces the best family, and (for a tie within noise)
    the measured costs that make it cheaper; ``""`` when it simply scores higher."""
    mf, mb = float(family.scores[rows].mean()), float(base.scores[rows].mean())  # type: ignore[index]
    if mb > mf:
        return True, ""
    within, _ = _noise(family, base, rows, interval)
    if not within:
        return False, ""
    cheaper = cheaper_reason(base, family)
    return (True, cheaper) if cheaper else (False, "")


def _family_winner(fams: Sequence[Candidate], rows: np.ndarray, interval: Interval) -> Candidate:
    """Step 1 of the rule on ``rows``."""
    means = {c.name: float(c.scores[rows].mean()) for c in fams}  # type: ignore[index]
    brier = {c.name: float(c.brier[rows].mean()) if c.brier is not None else 0.0 for c in fams}
    ranked = sorted(
        fams,
        key=lambda c: (-means[c.name], brier[c.name], c.latency_ms if c.latency_ms else math.inf),
    )
    lead = ranked[0]
    if len(ranked) > 1:
        within, brier_ahead = _noise(lead, ranked[1], rows, interval)
        if (
            within
            and not brier_ahead
            and cheaper_reason(ranked[1], lead, training=False) is not None
        ):
            return ranked[1]
    return lead


def decide(cands: Sequence[Candidate], rows: np.ndarray, interval: Interval) -> str | None:
    """The recommended candidate's name on ``rows`` (both steps of the rule)."""
    fams = [c for c in cands if c.kind == RecommendationKind.FAMILY]
    bases = [c for c in cands if c.kind == RecommendationKind.BASELINE]
    if not fams and not bases:
        return None
    best_base = max(bases, key=lambda c: float(c.scores[rows].mean()), default=None)  # type: ignore[index]
    if not fams:
        return best_base.name if best_base else None
    fam = _family_winner(fams, rows, interval)
    if best_base is not None and prefer_baseline(fam, best_base, rows, interval)[0]:
        return best_base.name
    return fam.name


def _normal_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float] | None:
    """95 % normal-approximation interval of mean(a - b) (used inside each resample)."""
    if len(a) < 2:
        return None
    d = a - b
    half = Z95 * float(d.std(ddof=1)) / math.sqrt(len(d))
    return float(d.mean()) - half, float(d.mean()) + half


def stability(
    cands: Sequence[Candidate], seed: int, resamples: int = STABILITY_RESAMPLES
) -> dict[str, Any]:
    """How often each candidate comes out of the rule over bootstrap resamples of the rows.

    Candidates without per-row scores on the same rows as the first are left out. Returns
    ``{"resamples": R, "rows": n, "shares": {name: fraction}}`` (shares sum to 1, largest
    first), or ``{}`` when no two candidates can be compared.
    """
    usable = [c for c in cands if c.scores is not None and len(c.scores) > 1]
    if not usable:
        return {}
    n = len(usable[0].scores)  # type: ignore[arg-type]
    usable = [c for c in usable if len(c.scores) == n]  # type: ignore[arg-type]
    if len(usable) < 2:
        return {}
    rng = np.random.default_rng(seed)
    counts: dict[str, int] = {}
    for _ in range(resamples):
        rows = rng.integers(0, n, size=n)
        name = decide(usable, rows, _normal_interval)
        if name is not None:
            counts[name] = counts.get(name, 0) + 1
    total = sum(counts.values()) or 1
    shares = {k: round(v / total, 4) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])}
    return {"resamples": resamples, "rows": n, "shares": shares}


class Verdict:
    """The recommendation over families and references, and what backs it.

    Args:
        result: The search result (trials and baselines with per-row scores).
        plan: The plan (metric, direction, layout, seed).
        summaries: The families measured above chance (their best trials).
        winner: The family the family ranking chose (the architecture verdict).
        interval: ``interval(a, b, seed)``: the paired-bootstrap interval of mean(a - b), on
            which the rule decides.
    """

    def __init__(
        self,
        result: Any,
        plan: Any,
        summaries: Sequence[Any],
        winner: Any,
        interval: Callable[[np.ndarray, np.ndarray, int], tuple[float, float] | None],
    ) -> None:
        self.metric, self.seed = plan.metric, plan.seed
        self.sign = direction_sign(plan.direction)
        self._interval = interval
        self.scale = run_scale(result)
        trials = {t.number: t for t in result.trials}
        self.families = [
            self._candidate(
                s.family, RecommendationKind.FAMILY, s.val_metric, trials[s.best_trial], s
            )
            for s in summaries
            if s.val_metric is not None and s.best_trial in trials
        ]
        self.fam = next(c for c in self.families if c.name == winner.family)
        done = [b for b in result.baselines if b.val_metric is not None and b.state == "COMPLETE"]
        self.refs = [
            self._candidate(b.name, RecommendationKind.BASELINE, b.val_metric, b, b) for b in done
        ]
        self.exportable = [c for c in self.refs if c.name in _records.EXPORTABLE_BASELINES]
        self.recommended, self.why = self._choose()
        self.kind = RecommendationKind(self.recommended.kind)
        self.top = self._top()
        self.rival = self._rival()
        self.paired = self._paired()
        self.brier_check = self._brier()
        self.stability = stability(
            [c for c in self.families + self.exportable if c.scores is not None], self.seed
        )

    def _choose(self) -> tuple[Candidate, str]:
        """Step 2 of the rule: the best exportable reference against the family's winner."""
        base = max(self.exportable, key=lambda c: self.sign * c.val_metric, default=None)
        if base is None:
            return self.fam, ""
        if self._comparable(self.fam, base):
            rows = np.arange(len(self.fam.scores))  # type: ignore[arg-type]
            prefer, why = prefer_baseline(self.fam, base, rows, self._iv)
            return (base, why) if prefer else (self.fam, "")
        if self.sign * base.val_metric > self.sign * self.fam.val_metric:
            return base, ""
        return self.fam, ""

    def _top(self) -> Candidate:
        everyone = self.families + self.refs
        best = max(self.sign * c.val_metric for c in everyone)
        tied = [c for c in everyone if self.sign * c.val_metric == best]
        return self.recommended if self.recommended in tied else tied[0]

    def _rival(self) -> Candidate | None:
        if self.kind == RecommendationKind.BASELINE:
            return self.fam
        if self.top is not self.recommended:
            return self.top
        rest = [c for c in self.families + self.refs if c is not self.recommended]
        return max(rest, key=lambda c: self.sign * c.val_metric, default=None)

    def _iv(self, a: np.ndarray, b: np.ndarray) -> tuple[float, float] | None:
        return self._interval(a, b, self.seed)

    def _candidate(
        self, name: str, kind: RecommendationKind, val: float, scored: Any, costs: Any
    ) -> Candidate:
        raw = scored.val_scores()
        return Candidate(
            name=name,
            kind=kind.value,
            val_metric=float(val),
            scores=None if raw is None else self.sign * raw,
            brier=scored.val_brier(),
            latency_ms=costs.latency_b256_ms,
            memory_mb=getattr(costs, "peak_memory_mb", None),
            train_time_s=costs.train_time_s,
            n_params=getattr(costs, "n_params", None),
        )

    @staticmethod
    def _comparable(a: Candidate, b: Candidate) -> bool:
        return a.scores is not None and b.scores is not None and len(a.scores) == len(b.scores)

    def metric_interval(self, a: Candidate, b: Candidate) -> tuple[float, float] | None:
        """The interval of ``a``'s advantage over ``b`` in the metric's unit."""
        if not self._comparable(a, b):
            return None
        assert a.scores is not None and b.scores is not None
        raw_a, raw_b = self.sign * a.scores, self.sign * b.scores
        return metric_interval(raw_a, raw_b, self.metric, self.seed, self.scale)

    def _paired(self) -> dict[str, Any]:
        a, b = self.recommended, self.rival
        if b is None:
            return {}
        iv = self.metric_interval(a, b)
        out: dict[str, Any] = {
            "a": a.name,
            "b": b.name,
            "margin": self.sign * (a.val_metric - b.val_metric),
            "interval": list(iv) if iv is not None else None,  # JSON: a list
        }
        if self._comparable(a, b) and self.metric == "accuracy":
            out.update(paired_counts(a.scores, b.scores) or {})
        return out

    def _brier(self) -> dict[str, Any]:
        a, b = self.recommended, self.rival
        if b is None or a.brier is None or b.brier is None or len(a.brier) != len(b.brier):
            return {}
        iv = self._iv(b.brier, a.brier)  # + : a surer
        if iv is None:
            return {}
        return {"a": a.name, "b": b.name, "interval": list(iv), "fired": iv[0] > 0 or iv[1] < 0}

    def recommended_by(self) -> str:
        """The rule that chose the recommendation (``rule.recommended_by``)."""
        if self.kind == RecommendationKind.BASELINE:
            return "cheaper" if self.why else "score"
        if self.top is self.recommended:
            return "score"
        return "not exportable" if self.top.kind == RecommendationKind.BASELINE else "cheaper"

    def facts(self) -> dict[str, Any]:
        """Every candidate's figures and costs, for the verdict's words."""
        everyone = self.families + self.refs
        return {
            "recommended_by": self.recommended_by(),
            "values": {c.name: c.val_metric for c in everyone},
            "costs": {c.name: costs_of(c).to_dict() for c in everyone},
        }
