"""Stage 6 — select: the winning family, its margin with an interval, and the reasons."""

from __future__ import annotations

import dataclasses
import math
from typing import TypeVar

import numpy as np

from archselect.core import records as _records
from archselect.core.recommendation import FamilySummary, ParetoPoint, Recommendation
from archselect.core.records import (
    SearchResult,
    TrialRecord,
    best_by_family,
    cross_validated,
    outranks,
)
from archselect.plan import Plan
from archselect.profile import Profile
from archselect.select._verdict import INTERVAL, Verdict, fmt_points, interval_text, label
from archselect.select._verdict import fmt_metric as _fmt

__all__ = [
    "BOOTSTRAP_ROUNDS",
    "FamilySummary",
    "ParetoPoint",
    "Recommendation",
    "pareto_front",
    "select",
]

#: Paired bootstrap rounds over validation rows, and the interval's coverage.
BOOTSTRAP_ROUNDS = 2000
#: "Cheaper" needs a difference above measurement noise: latency (batch 256, per sample)
#: lower by at least this fraction, or peak training memory lower by at least this many MB
#: (process RSS growth on CPU moves by a few MB for reasons that have nothing to do with the
#: model), and not clearly worse on the other.
CHEAPER_LATENCY_FRACTION = 0.10
CHEAPER_MEMORY_MB = 32.0


def _summaries(result: SearchResult, plan: Plan) -> list[FamilySummary]:
    best = best_by_family(result)
    sign = 1.0 if plan.direction == "maximize" else -1.0
    rows = []
    for fam in plan.family_names:
        trials = [t for t in result.trials if t.family == fam]
        b = best.get(fam)
        running: list[float | None] = []
        cur: TrialRecord | None = None
        for t in trials:
            if t.state == "COMPLETE" and t.val_metric is not None:
                cur = t if cur is None or outranks(t, cur, sign) else cur
            running.append(cur.val_metric if cur is not None else None)
        rows.append(
            FamilySummary(
                family=fam,
                best_trial=b.number if b else None,
                val_metric=b.val_metric if b else None,
                test_metric=b.test_metric if b else None,
                train_time_s=b.train_time_s if b else None,
                n_params=b.n_params if b else None,
                peak_memory_mb=b.peak_memory_mb if b else None,
                latency_b1_ms=b.latency_b1_ms if b else None,
                latency_b256_ms=b.latency_b256_ms if b else None,
                gap=b.gap if b else None,
                trials=len(trials),
                completed=sum(t.state == "COMPLETE" for t in trials),
                pruned=sum(t.state == "PRUNED" for t in trials),
                failed=sum(t.state == "FAIL" for t in trials),
                seq_len=b.seq_len if b else None,
                latency_len1x_ms=b.latency_len1x_ms if b else None,
                latency_len2x_ms=b.latency_len2x_ms if b else None,
                latency_len4x_ms=b.latency_len4x_ms if b else None,
                trial_numbers=tuple(t.number for t in trials),
                best_val_by_trial=tuple(running),
                extra_metrics=dict(b.extra_metrics) if b else {},
            )
        )
    return rows


def pareto_front(result: SearchResult) -> list[ParetoPoint]:
    """Finished trials not dominated in (validation metric, batch-1 latency), best first.

    Example:
        >>> from archselect.core.records import SearchResult, TrialRecord
        >>> rec = lambda n, v, ms: TrialRecord(n, "mlp", "COMPLETE", val_metric=v,
        ...                                   latency_b1_ms=ms)
        >>> res = SearchResult("s", "", "accuracy", "maximize",
        ...                    (rec(0, 0.9, 2.0), rec(1, 0.8, 1.0), rec(2, 0.7, 3.0)), ())
        >>> [p.trial for p in pareto_front(res)]
        [0, 1]
    """
    sign = 1.0 if result.direction == "maximize" else -1.0
    pts = [
        (t, sign * (t.val_metric or 0.0), t.latency_b1_ms)
        for t in result.finished()
        if t.latency_b1_ms is not None
    ]
    front = [
        t
        for t, good, ms in pts
        if not any(
            g2 >= good and m2 <= ms and (g2 > good or m2 < ms)  # type: ignore[operator]
            for _, g2, m2 in pts
        )
    ]
    front.sort(key=lambda t: (-sign * (t.val_metric or 0.0), t.latency_b1_ms))
    return [
        ParetoPoint(t.number, t.family, float(t.val_metric or 0.0), float(t.latency_b1_ms or 0))
        for t in front
    ]


def bootstrap_margin(
    a: TrialRecord, b: TrialRecord, direction: str, seed: int
) -> tuple[float, float] | None:
    """Interval of the difference a - b in mean per-row validation score (paired bootstrap).

    For accuracy the per-row score is 1/0; for regression it is the squared error, so the
    interval is reported on the MSE scale, sign-flipped so that positive favours ``a``.
    """
    sa, sb = a.val_scores(), b.val_scores()
    if sa is None or sb is None:
        return None
    return (
        paired_interval(sa, sb, seed) if direction == "maximize" else paired_interval(sb, sa, seed)
    )


def paired_interval(
    sa: np.ndarray | None, sb: np.ndarray | None, seed: int
) -> tuple[float, float] | None:
    """Paired-bootstrap interval of mean(sa - sb) over the same validation rows."""
    if sa is None or sb is None or len(sa) != len(sb) or len(sa) < 2:
        return None
    diff = sa - sb
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(diff), size=(BOOTSTRAP_ROUNDS, len(diff)))
    means = diff[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2])
    return float(lo), float(hi)


_Rec = TypeVar("_Rec", bound=Recommendation)


def with_final_test(
    rec: _Rec, final_test: float | None, ensemble: int = 1, *, all_rows: bool = False
) -> _Rec:
    """``rec`` with the tested refit's test metric recorded and named in the headline.

    ``all_rows``: the exported model is that refit repeated on every labelled row (train +
    validation + test), so the figure is the tested twin's, and the headline says so.
    """
    if final_test is None:
        return dataclasses.replace(rec, final_test_metric=None)
    what = (
        "refit on train + validation"
        if ensemble == 1
        else f"the mean of {ensemble} refits on train + validation with different seeds"
    )
    if rec.kind == "baseline":
        what = f"{label(rec.recommended)} {what}"
    if all_rows:
        tail = (
            f"the model {what} scores test {rec.metric} {_fmt(rec.metric, final_test)}; the "
            "exported model is the same refit on every labelled row (the test rows too), "
            "which has no held-out figure of its own."
        )
    else:
        tail = (
            f"the exported model, {what}, scores test {rec.metric} {_fmt(rec.metric, final_test)}."
        )
    headline = f"{rec.headline} On the held-out test rows (never used for choosing), {tail}"
    return dataclasses.replace(rec, final_test_metric=final_test, headline=headline)


def _mean_brier(trials: dict[int, TrialRecord], s: FamilySummary) -> float:
    """Mean validation Brier score of a family's best trial (0 when not recorded)."""
    return trials[s.best_trial].mean_val_brier() if s.best_trial in trials else 0.0


def _cross_validated(trials: dict[int, TrialRecord], s: FamilySummary) -> bool:
    """Whether a family's best trial was cross-validated (the first sort key of the ranking:
    a family measured on the validation split alone ranks after those that were)."""
    return s.best_trial in trials and cross_validated(trials[s.best_trial])


def _cost(t: FamilySummary) -> float:
    """The last sort key of the ranking: inference latency (unknown: last)."""
    return t.latency_b256_ms if t.latency_b256_ms is not None else math.inf


def _cheaper(a: FamilySummary, b: FamilySummary) -> str | None:
    """Why ``a`` is clearly cheaper than ``b`` (the measurements, each family named), or None.

    Clearly cheaper: lower latency by CHEAPER_LATENCY_FRACTION or lower peak memory by
    CHEAPER_MEMORY_MB, and not clearly dearer on the other.

    Example:
        >>> row = dict(best_trial=0, val_metric=1.0, test_metric=1.0, train_time_s=1.0,
        ...            n_params=9, latency_b1_ms=0.1, gap=0.0, trials=1, completed=1,
        ...            pruned=0, failed=0)
        >>> fast = FamilySummary("mlp", latency_b256_ms=0.01, peak_memory_mb=6.5, **row)
        >>> slow = FamilySummary("rnn", latency_b256_ms=0.04, peak_memory_mb=0.1, **row)
        >>> _cheaper(fast, slow)
        'latency mlp 0.01 ms vs rnn 0.04 ms per sample'
        >>> _cheaper(slow, fast) is None
        True
    """
    lat_a, lat_b = a.latency_b256_ms, b.latency_b256_ms
    mem_a, mem_b = a.peak_memory_mb, b.peak_memory_mb
    faster = slower = leaner = fatter = False
    if lat_a is not None and lat_b is not None:
        faster = lat_a < lat_b * (1.0 - CHEAPER_LATENCY_FRACTION)
        slower = lat_b < lat_a * (1.0 - CHEAPER_LATENCY_FRACTION)
    if mem_a is not None and mem_b is not None:
        leaner = mem_a < mem_b - CHEAPER_MEMORY_MB
        fatter = mem_b < mem_a - CHEAPER_MEMORY_MB
    parts = []
    if faster and not fatter:
        parts.append(f"latency {a.family} {lat_a:.3g} ms vs {b.family} {lat_b:.3g} ms per sample")
    if leaner and not slower:
        parts.append(
            f"peak training memory {a.family} {mem_a:.3g} MB vs {b.family} {mem_b:.3g} MB"
        )
    return ", ".join(parts) or None


def select(result: SearchResult, plan: Plan, profile: Profile) -> Recommendation:
    """Pick the family with the best validation metric; cheaper one if within noise.

    Example:
        See :func:`archselect.fit`; ``recommendation.json`` is this function's output.
    """
    sign = 1.0 if plan.direction == "maximize" else -1.0
    summaries = _summaries(result, plan)
    trials = {t.number: t for t in result.trials}
    ranked = sorted(
        (s for s in summaries if s.val_metric is not None),
        key=lambda s: (
            not _cross_validated(trials, s),
            -sign * (s.val_metric or 0.0),
            _mean_brier(trials, s),
            _cost(s),
        ),
    )
    ok_baselines = [b for b in result.baselines if b.val_metric is not None]
    best_base = max(ok_baselines, key=lambda b: sign * (b.val_metric or 0.0), default=None)
    reasons: list[str] = []
    notes: list[str] = [f"{b.name}: {b.note}" for b in result.baselines if b.note]
    metric = plan.metric
    objectives = plan.objectives or (plan.metric,)
    front = pareto_front(result) if len(objectives) > 1 else []
    if not ranked:
        failed = sum(s.failed for s in summaries)
        reasons.append(f"No deep trial finished ({failed} failed); see the failures table.")
        if best_base is not None:
            reasons.append(
                f"The best reference is {best_base.name} with validation {metric} "
                f"{_fmt(metric, best_base.val_metric)}."
            )
        headline = "No deep family finished a trial; no architecture can be recommended."
        exportable = [
            b
            for b in ok_baselines
            if b.name in _records.EXPORTABLE_BASELINES and b.state == "COMPLETE"
        ]
        top = max(exportable, key=lambda b: sign * (b.val_metric or 0.0), default=None)
        fallback = top.name if top is not None else None
        if top is not None:
            headline = (
                f"No deep family finished a trial: use {label(top.name)}, the best reference "
                f"(validation {metric} {_fmt(metric, top.val_metric)}), which is exported."
            )
        return Recommendation(
            family=None,
            trial=None,
            params={},
            metric=metric,
            direction=plan.direction,
            val_metric=None,
            test_metric=None,
            runner_up=None,
            runner_up_val_metric=None,
            margin=None,
            margin_interval=None,
            within_noise=False,
            baseline_best=best_base.name if best_base else None,
            baseline_val_metric=best_base.val_metric if best_base else None,
            baseline_test_metric=best_base.test_metric if best_base else None,
            baseline_beats_deep=best_base is not None,
            profile_confidence=profile.confidence,
            families=tuple(summaries),
            reasons=tuple(reasons),
            headline=headline,
            notes=tuple(notes),
            objectives=objectives,
            kind="baseline" if fallback else "family",
            recommended=fallback,
            top_scorer=best_base.name if best_base else None,
        )
    winner = ranked[0]
    runner = ranked[1] if len(ranked) > 1 else None
    margin = interval = None
    within_noise = swapped = False
    if runner is not None:
        margin = sign * ((winner.val_metric or 0.0) - (runner.val_metric or 0.0))
        a, b = trials[winner.best_trial or 0], trials[runner.best_trial or 0]
        interval = bootstrap_margin(a, b, plan.direction, plan.seed)
        within_noise = interval is not None and interval[0] <= 0.0
        brier = paired_interval(b.val_brier(), a.val_brier(), plan.seed)  # + favours winner
        cheaper = _cheaper(runner, winner) if within_noise else None
        if within_noise and brier is not None and brier[0] > 0.0:
            within_noise = False
            than = f" of the cheaper {runner.family} ({cheaper})" if cheaper else ""
            reasons.append(
                f"Their validation {metric} alone cannot separate {winner.family} and "
                f"{runner.family} ({interval_text(metric, interval)}), but the per-row Brier "
                f"score does: {winner.family} is surer where it is right ({INTERVAL:.0%} "
                f"interval of the Brier difference [{brier[0]:+.3f}, {brier[1]:+.3f}] excludes "
                f"0), so it stays ahead{than}."
            )
        if within_noise and cheaper is not None:
            reasons.append(
                f"{winner.family} and {runner.family} are within noise (validation {metric} "
                f"{_fmt(metric, winner.val_metric)} vs {_fmt(metric, runner.val_metric)}, "
                f"{interval_text(metric, interval)}), so the cheaper {runner.family} is preferred "
                f"({cheaper})."
            )
            winner, runner, swapped = runner, winner, True
            margin = sign * ((winner.val_metric or 0.0) - (runner.val_metric or 0.0))
            interval = bootstrap_margin(
                trials[winner.best_trial or 0],
                trials[runner.best_trial or 0],
                plan.direction,
                plan.seed,
            )
    reasons.insert(
        0,
        f"{winner.family} reached "
        + ("" if swapped else "the best ")
        + f"validation {metric} {_fmt(metric, winner.val_metric)} (trial {winner.best_trial}, "
        f"{winner.completed} of {winner.trials} trials finished).",
    )
    if runner is not None:
        iv = f" ({interval_text(metric, interval)})" if interval else ""
        reasons.append(
            f"Next deep family {runner.family}: {_fmt(metric, runner.val_metric)}; margin "
            f"{fmt_points(metric, margin or 0.0)}{iv}."
        )
    cv = _cv_reason(trials[winner.best_trial or 0])
    if cv:
        reasons.insert(1, cv)
    baseline_beats = False
    if best_base is not None and best_base.val_metric is not None:
        baseline_beats = sign * best_base.val_metric > sign * (winner.val_metric or 0.0)
        if baseline_beats:
            reasons.append(
                f"The non-deep reference {best_base.name} beats every deep family "
                f"({_fmt(metric, best_base.val_metric)} vs {_fmt(metric, winner.val_metric)}): "
                "a deep model may not be worth it on this data."
            )
        elif best_base.val_metric == winner.val_metric:
            reasons.append(
                f"It only ties with the best non-deep reference, {best_base.name} "
                f"({_fmt(metric, best_base.val_metric)}): on this validation data the deep "
                "model earns nothing over it."
            )
        else:
            lead = sign * ((winner.val_metric or 0.0) - best_base.val_metric)
            reasons.append(
                f"It beats the best non-deep reference, {best_base.name} "
                f"({_fmt(metric, best_base.val_metric)}), by {fmt_points(metric, lead)}."
            )
    growth = _length_growth(winner, runner)
    if growth:
        reasons.append(growth)
    if front:
        reasons.append(_pareto_reason(front, winner, metric))
    if winner.gap is not None and winner.gap > 0.1:
        reasons.append(f"Its train–validation gap is {winner.gap:.3g}: it overfits noticeably.")
    verdict = Verdict(result, plan, summaries, winner, interval=paired_interval)
    versus = ""
    if runner is not None and margin is not None:
        versus = f", {fmt_points(metric, margin)} over {runner.family}"
        if within_noise:
            versus = f", within noise of {runner.family} ({_fmt(metric, runner.val_metric)})"
            versus += " and cheaper" if swapped else ""
    headline = verdict.headline(
        f"Use {winner.family}: validation {metric} {_fmt(metric, winner.val_metric)}{versus}",
        profile.confidence,
    )
    reasons.extend(verdict.reasons())
    best_trial = trials[winner.best_trial or 0]
    return Recommendation(
        family=winner.family,
        trial=winner.best_trial,
        params=dict(best_trial.params),
        metric=metric,
        direction=plan.direction,
        val_metric=winner.val_metric,
        test_metric=winner.test_metric,
        runner_up=runner.family if runner else None,
        runner_up_val_metric=runner.val_metric if runner else None,
        margin=margin,
        margin_interval=interval,
        within_noise=within_noise,
        baseline_best=best_base.name if best_base else None,
        baseline_val_metric=best_base.val_metric if best_base else None,
        baseline_test_metric=best_base.test_metric if best_base else None,
        baseline_beats_deep=baseline_beats,
        profile_confidence=profile.confidence,
        families=tuple(summaries),
        reasons=tuple(reasons),
        headline=headline,
        notes=tuple(notes),
        objectives=objectives,
        pareto_front=tuple(front),
        kind=verdict.kind,
        recommended=verdict.recommended.name,
        top_scorer=verdict.top.name,
        verdict_stability=verdict.stability,
        paired=verdict.paired,
        brier_check=verdict.brier_check,
    )


def _cv_reason(trial: TrialRecord) -> str:
    """How the validation figures were measured, where cross-validation replaced one split."""
    scores = trial.val_scores()
    if not trial.cv_folds or scores is None:
        return ""
    n, k = len(scores), trial.cv_folds
    return (
        f"The data is small, so every validation figure is {k}-fold cross-validated: each of "
        f"the {n} train + validation rows is scored by the fold that held it out (a single "
        f"validation split would score {n // k})."
    )


def _length_growth(winner: FamilySummary, runner: FamilySummary | None) -> str:
    """A sentence on how batch-1 latency grows from T to 4T, for the top two families."""
    parts = []
    for s in (winner, runner):
        if s is not None and s.latency_len1x_ms and s.latency_len4x_ms:
            parts.append(
                f"{s.family} {s.latency_len1x_ms:.3g} → {s.latency_len4x_ms:.3g} ms "
                f"(×{s.latency_len4x_ms / s.latency_len1x_ms:.2g})"
            )
    if not parts or winner.seq_len is None:
        return ""
    return (
        f"Latency per sequence at batch 1 from length {winner.seq_len} to "
        f"{4 * winner.seq_len}: " + "; ".join(parts) + "."
    )


def _pareto_reason(front: list[ParetoPoint], winner: FamilySummary, metric: str) -> str:
    """Explain the choice from the accuracy–latency Pareto front."""
    on_front = next((p for p in front if p.trial == winner.best_trial), None)
    fastest = min(front, key=lambda p: p.latency_b1_ms)
    families = ", ".join(dict.fromkeys(p.family for p in front))
    where = (
        "is on the front"
        if on_front is not None
        else "is not on the front (a faster or more accurate trial of another family "
        "dominates it) but is the best of its family"
    )
    text = (
        f"{metric} and latency were optimised together: the Pareto front holds "
        f"{len(front)} trial(s) ({families}); the recommended trial {winner.best_trial} "
        f"{where}, chosen as the most accurate family"
    )
    if fastest.trial != winner.best_trial and winner.latency_b1_ms:
        text += (
            f"; the fastest point on the front is trial {fastest.trial} ({fastest.family}, "
            f"{_fmt(metric, fastest.val_metric)}, {fastest.latency_b1_ms:.3g} ms vs "
            f"{winner.latency_b1_ms:.3g} ms per sample), pick it if latency matters more"
        )
    return text + "."
