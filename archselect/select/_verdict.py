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

from archselect.core.metrics import FORECAST_METRIC

__all__ = [
    "COIN_TOSS_SHARE",
    "STABILITY_RESAMPLES",
    "Candidate",
    "cheaper_reason",
    "paired_counts",
    "prefer_baseline",
    "stability",
    "stability_sentence",
]

#: Bootstrap resamples of the rows the verdict is re-derived on.
STABILITY_RESAMPLES = 1000
#: A verdict that comes out in fewer than this share of resamples is a coin toss …
COIN_TOSS_SHARE = 0.65
#: … and one that comes out in at least this share is stable.
STABLE_SHARE = 0.9
#: Two-sided normal quantile of the 95 % interval used inside the resamples.
Z95 = 1.959963984540054
#: "Cheaper" needs a difference above measurement noise (as in :mod:`archselect.select`).
CHEAPER_FRACTION = 0.10
CHEAPER_MEMORY_MB = 32.0

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


#: A model at most this fraction of the other's size is clearly smaller. Sizes are counted,
#: not timed, so this part of "cheaper" is free of measurement noise.
SMALLER_FRACTION = 0.5

#: … and by at least this much in absolute terms (latency ms per sample, training seconds):
#: a few microseconds per sample are timer noise, whatever the ratio.
CHEAPER_MIN_MS = 0.01
CHEAPER_MIN_S = 0.5


def _lower_by(
    a: float | None, b: float | None, floor: float, fraction: float = CHEAPER_FRACTION
) -> bool:
    return a is not None and b is not None and a < b * (1.0 - fraction) and b - a >= floor


def cheaper_reason(a: Candidate, b: Candidate, training: bool = True) -> str | None:
    """Why ``a`` is clearly cheaper than ``b``, as measured ratios naming both, or None.

    Latency, peak memory and (with ``training``) model size and training time count, the
    timings beyond the absolute floors above; the family ranking (``training=False``) uses
    the rule of :func:`archselect.select.select`: latency and memory, relative differences
    only. Model size is counted, not timed: a reference that is clearly smaller than the
    family is cheaper even when both train and answer within timer noise of each other.

    Example:
        >>> fast = Candidate("lr", "baseline", 1.0, None, latency_ms=0.01, train_time_s=0.1,
        ...                  n_params=14)
        >>> slow = Candidate("cnn1d", "family", 1.0, None, latency_ms=0.04, train_time_s=2.0,
        ...                  n_params=7000)
        >>> for why in cheaper_reason(fast, slow).split(", "): print(why)
        latency lr 0.01 ms vs cnn1d 0.04 ms per sample (×4 faster)
        model size lr 14 vs cnn1d 7,000 stored numbers (×500 smaller)
        training lr 0.1 s vs cnn1d 2 s (×20 faster)
    """
    name_a, name_b = label(a.name), label(b.name)
    ms = CHEAPER_MIN_MS if training else 0.0
    if _lower_by(b.latency_ms, a.latency_ms, ms) or (
        a.memory_mb is not None
        and b.memory_mb is not None
        and b.memory_mb < a.memory_mb - CHEAPER_MEMORY_MB
    ):
        return None  # clearly dearer on latency or memory
    parts = []
    if _lower_by(a.latency_ms, b.latency_ms, ms) and a.latency_ms:
        parts.append(
            f"latency {name_a} {a.latency_ms:.2g} ms vs {name_b} {b.latency_ms:.2g} ms per sample "
            f"(×{b.latency_ms / a.latency_ms:.3g} faster)"  # type: ignore[operator]
        )
    if (
        a.memory_mb is not None
        and b.memory_mb is not None
        and a.memory_mb < b.memory_mb - CHEAPER_MEMORY_MB
    ):
        parts.append(
            f"peak training memory {name_a} {a.memory_mb:.3g} MB vs {name_b} {b.memory_mb:.3g} MB"
        )
    if training and a.n_params and b.n_params and a.n_params <= b.n_params * SMALLER_FRACTION:
        parts.append(
            f"model size {name_a} {a.n_params:,} vs {name_b} {b.n_params:,} stored numbers "
            f"(×{b.n_params / a.n_params:.3g} smaller)"
        )
    if training and _lower_by(a.train_time_s, b.train_time_s, CHEAPER_MIN_S) and a.train_time_s:
        parts.append(
            f"training {name_a} {a.train_time_s:.2g} s vs {name_b} {b.train_time_s:.2g} s "
            f"(×{b.train_time_s / a.train_time_s:.3g} faster)"  # type: ignore[operator]
        )
    return ", ".join(parts) or None


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
    fams = [c for c in cands if c.kind == "family"]
    bases = [c for c in cands if c.kind == "baseline"]
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


def stability_sentence(stab: dict[str, Any], recommended: str, label: Callable[[str], str]) -> str:
    """The verdict's stability in words, saying plainly when it is a coin toss."""
    shares: dict[str, float] = stab.get("shares", {})
    if not shares:
        return ""
    listed = ", ".join(f"{label(k)} in {v:.0%}" for k, v in list(shares.items())[:3])
    head = (
        f"Re-applying the selection rule to {stab['resamples']:,} bootstrap resamples of the "
        f"{stab['rows']:,} validation rows recommends {listed}"
    )
    share = shares.get(recommended, 0.0)
    if share >= STABLE_SHARE:
        return head + ": the verdict is stable."
    if share < COIN_TOSS_SHARE:
        return (
            head + f": the verdict ({label(recommended)}) is a coin toss on this data. More "
            "labelled rows would settle it (the intervals narrow with the square root of the "
            "rows); more trials help only if the candidates' best settings are not yet found."
        )
    return (
        head
        + ": the verdict leans one way but is not settled; more labelled rows would firm it up."
    )


# --- formatting (one number format: accuracy in %, differences in points) ---------------------

#: Coverage of every interval quoted.
INTERVAL = 0.95


def fmt_metric(metric: str, value: float | None) -> str:
    """A metric value: accuracy as a percentage, else 4 significant digits."""
    if value is None:
        return "n/a"
    return f"{value:.1%}" if metric == "accuracy" else f"{value:.4g}"


def fmt_points(metric: str, diff: float) -> str:
    """A difference of the metric: accuracy in percentage points, else in its units."""
    return f"{diff * 100:+.1f} points" if metric == "accuracy" else f"{diff:+.4g}"


def interval_text(metric: str, iv: tuple[float, float] | None) -> str:
    """A bootstrap interval of a per-row difference: points for accuracy; regression rows
    are squared errors (standardised units), so their interval is of the mean squared error;
    forecast rows are absolute scaled errors, so theirs is of the MASE.
    An interval that ends exactly at 0 (every resample ≥ 0: the rows one candidate alone gets
    right are few) "reaches 0" rather than "includes" it."""
    if iv is None:
        return "no interval (per-row scores missing)"
    if metric == "accuracy":
        span = f"[{iv[0] * 100:+.1f}, {iv[1] * 100:+.1f}] points"
    elif metric == FORECAST_METRIC:  # per-row absolute scaled errors: the interval is of MASE
        span = f"[{iv[0]:+.3g}, {iv[1]:+.3g}] in MASE"
    else:
        span = f"[{iv[0]:+.3g}, {iv[1]:+.3g}] in mean squared error (standardised units)"
    where = "excludes 0" if iv[0] > 0 or iv[1] < 0 else "reaches 0" if 0 in iv else "includes 0"
    return f"{INTERVAL:.0%} interval {span}, {where}"


def label(name: str | None) -> str:
    """A candidate's name for a sentence: references by their short name."""
    from archselect.core import records

    return records.BASELINE_NAMES.get(name or "", name or "n/a")


class Verdict:
    """The recommendation over families and references, and what backs it.

    Args:
        result: The search result (trials and baselines with per-row scores).
        plan: The plan (metric, direction, layout, seed).
        summaries: The families' best trials (:class:`archselect.select.FamilySummary`).
        winner: The family the family ranking chose (the architecture verdict).
        interval: ``interval(a, b, seed)``: the paired-bootstrap interval of mean(a - b).
    """

    def __init__(
        self,
        result: Any,
        plan: Any,
        summaries: Sequence[Any],
        winner: Any,
        interval: Callable[[np.ndarray, np.ndarray, int], tuple[float, float] | None],
    ) -> None:
        from archselect.core import records

        self.metric, self.seed = plan.metric, plan.seed
        self.sign = 1.0 if plan.direction == "maximize" else -1.0
        self._interval = interval
        trials = {t.number: t for t in result.trials}
        self.families = [
            self._candidate(s.family, "family", s.val_metric, trials[s.best_trial], s)
            for s in summaries
            if s.val_metric is not None and s.best_trial in trials
        ]
        self.fam = next(c for c in self.families if c.name == winner.family)
        done = [b for b in result.baselines if b.val_metric is not None and b.state == "COMPLETE"]
        refs = [self._candidate(b.name, "baseline", b.val_metric, b, b) for b in done]
        self.exportable = [c for c in refs if c.name in records.EXPORTABLE_BASELINES]
        base = max(self.exportable, key=lambda c: self.sign * c.val_metric, default=None)
        self.why = ""
        prefer = False
        if base is not None:
            if self._comparable(self.fam, base):
                rows = np.arange(len(self.fam.scores))  # type: ignore[arg-type]
                prefer, self.why = prefer_baseline(self.fam, base, rows, self._iv)
            elif self.sign * base.val_metric > self.sign * self.fam.val_metric:
                prefer = True
        self.recommended = base if prefer and base is not None else self.fam
        self.kind = self.recommended.kind
        everyone = self.families + refs
        best = max(self.sign * c.val_metric for c in everyone)
        tied = [c for c in everyone if self.sign * c.val_metric == best]
        self.top = self.recommended if self.recommended in tied else tied[0]
        if self.kind == "baseline":
            self.rival: Candidate | None = self.fam
        elif self.top is not self.recommended:
            self.rival = self.top
        else:
            rest = [c for c in everyone if c is not self.recommended]
            self.rival = max(rest, key=lambda c: self.sign * c.val_metric, default=None)
        self.paired = self._paired()
        self.brier_check = self._brier()
        self.stability = stability(
            [c for c in self.families + self.exportable if c.scores is not None], self.seed
        )

    def _iv(self, a: np.ndarray, b: np.ndarray) -> tuple[float, float] | None:
        return self._interval(a, b, self.seed)

    def _candidate(self, name: str, kind: str, val: float, scored: Any, costs: Any) -> Candidate:
        raw = scored.val_scores()
        return Candidate(
            name=name,
            kind=kind,
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

    def _paired(self) -> dict[str, Any]:
        a, b = self.recommended, self.rival
        if b is None:
            return {}
        out: dict[str, Any] = {
            "a": a.name,
            "b": b.name,
            "margin": self.sign * (a.val_metric - b.val_metric),
            "interval": None,
        }
        if self._comparable(a, b):
            iv = self._iv(a.scores, b.scores)  # type: ignore[arg-type]
            out["interval"] = list(iv) if iv is not None else None  # JSON: a list
            if self.metric == "accuracy":
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

    def headline(self, family_head: str, confidence: float) -> str:
        """The first sentence: what to use, and why when it is not the top scorer."""
        m, rec, fam, top = self.metric, self.recommended, self.fam, self.top
        conf = f" (profile confidence {confidence:.2f})."
        if self.kind == "baseline" or top is not rec:
            conf = f". Profile confidence {confidence:.2f}."
        if self.kind == "baseline":
            versus = (
                f"validation {m} {fmt_metric(m, rec.val_metric)} vs "
                f"{fmt_metric(m, fam.val_metric)} for the best deep family, {fam.name}"
            )
            why = (
                f"it is within noise of {fam.name} ({versus}) and cheaper: {self.why}"
                if self.why
                else f"it scores higher ({versus})"
            )
            return f"Use {label(rec.name)}: no deep family earns its cost here; {why}" + conf
        if top is rec:
            return family_head + conf
        cheaper = cheaper_reason(rec, top)
        why = f" and cheaper ({cheaper})" if cheaper else ""
        if top.kind == "baseline":
            why = (
                f"; the top scorer, {label(top.name)}, is a reference archselect cannot export "
                "(see the notes)"
            )
            return f"Use {rec.name}: validation {m} {fmt_metric(m, rec.val_metric)}{why}" + conf
        return (
            f"Use {rec.name}: within noise of the top scorer {top.name} (validation {m} "
            f"{fmt_metric(m, rec.val_metric)} vs {fmt_metric(m, top.val_metric)}){why}" + conf
        )

    def reasons(self) -> list[str]:
        """Sentences on the architecture verdict, the paired comparison, the Brier check and
        the verdict's stability."""
        m, out = self.metric, []
        if self.kind == "baseline":
            out.append(
                f"Architecture verdict: the best deep family is {self.fam.name} (validation {m} "
                f"{fmt_metric(m, self.fam.val_metric)}); {label(self.recommended.name)} is "
                "recommended and exported instead."
            )
        p = self.paired
        if p:
            text = (
                f"{label(p['a'])} vs {label(p['b'])} on the same validation rows: "
                f"{fmt_points(m, p['margin'])} "
                f"({interval_text(m, tuple(p['interval']) if p['interval'] else None)})"
            )
            if "only_a" in p:
                text += (
                    f"; rows only {label(p['a'])} gets right: {p['only_a']}, only "
                    f"{label(p['b'])}: {p['only_b']} (exact McNemar p = {p['p_value']:.3g})"
                )
            out.append(text + ".")
        b = self.brier_check
        if b:
            lo, hi = b["interval"]
            verdict = (
                f"{label(b['a'])} is surer where it is right"
                if lo > 0
                else f"{label(b['b'])} is surer where it is right"
                if hi < 0
                else "neither is measurably surer"
            )
            out.append(
                f"Brier check ({label(b['a'])} vs {label(b['b'])}): {INTERVAL:.0%} interval of "
                f"the mean per-row Brier difference [{lo:+.3f}, {hi:+.3f}] "
                f"{'excludes' if b['fired'] else 'includes'} 0: {verdict}."
            )
        sentence = stability_sentence(self.stability, self.recommended.name, label)
        if sentence:
            out.append(sentence)
        return out
