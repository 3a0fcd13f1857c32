"""Stage 6 — select: the winning family, its margin with an interval, and the reasons."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from archselect.core import records as _records
from archselect.core.recommendation import FamilySummary, ParetoPoint, Recommendation
from archselect.core.records import (
    SearchResult,
    TrialRecord,
    best_by_family,
    cross_validated,
    outranks,
)
from archselect.core.verdict import (
    ALL_ROWS,
    TESTED_ROWS,
    Costs,
    RecommendationKind,
    cheaper_parts,
    direction_sign,
    label,
    restate,
    unit_for,
)
from archselect.plan import Plan
from archselect.profile import Profile
from archselect.select._chance import assess_families, chance_level, settle_budget
from archselect.select._intervals import (
    BOOTSTRAP_ROUNDS,
    metric_interval,
    paired_interval,
    run_scale,
)
from archselect.select._verdict import Verdict

__all__ = [
    "BOOTSTRAP_ROUNDS",
    "FamilySummary",
    "ParetoPoint",
    "Recommendation",
    "pareto_front",
    "select",
    "with_final_test",
]


def _summaries(result: SearchResult, plan: Plan) -> list[FamilySummary]:
    best = best_by_family(result)
    sign = direction_sign(plan.direction)
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


_Rec = TypeVar("_Rec", bound=Recommendation)


def with_final_test(
    rec: _Rec, final_test: float | None, ensemble: int = 1, *, all_rows: bool = False
) -> _Rec:
    """``rec`` with the exported model's test metric recorded and its sentence in the
    headline (:func:`archselect.core.verdict.describe`).

    ``ensemble``: the refits (seeds) the exported network averages; ``all_rows``: the exported
    model is that refit repeated on every labelled row (train + validation + test), so the
    figure is the tested twin's, and the headline says so.
    """
    final = {"seeds": ensemble, "trained_on": ALL_ROWS if all_rows else TESTED_ROWS}
    changes: dict[str, Any] = {"final_test_metric": final_test}
    if hasattr(rec, "final_model"):  # the stored recommendation keeps how it was trained
        changes["final_model"] = {**(rec.final_model or {}), **final}
    return restate(dataclasses.replace(rec, **changes), final_model=final)


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


def _costs(s: FamilySummary) -> Costs:
    return Costs(s.family, s.latency_b256_ms, s.peak_memory_mb, s.train_time_s, s.n_params)


def _cheaper(a: FamilySummary, b: FamilySummary) -> str | None:
    """Why ``a`` is clearly cheaper than ``b`` for the family ranking (latency and peak
    memory, :func:`archselect.core.verdict.cheaper_parts`), or None.

    Example:
        >>> row = dict(best_trial=0, val_metric=1.0, test_metric=1.0, train_time_s=1.0,
        ...            n_params=9, latency_b1_ms=0.1, gap=0.0, trials=1, completed=1,
        ...            pruned=0, failed=0)
        >>> fast = FamilySummary("mlp", latency_b256_ms=0.01, peak_memory_mb=6.5, **row)
        >>> slow = FamilySummary("rnn", latency_b256_ms=0.04, peak_memory_mb=0.1, **row)
        >>> _cheaper(fast, slow)
        'latency mlp 0.01 ms vs rnn 0.04 ms per sample (×4 faster)'
        >>> _cheaper(slow, fast) is None
        True
    """
    return ", ".join(cheaper_parts(_costs(a), _costs(b), training=False)) or None


@dataclass
class _Context:
    """What every step of the selection reads: the plan's facts, each family's row (checked
    against chance), the families measured above chance, ranked, and the references."""

    result: SearchResult
    plan: Plan
    profile: Profile
    sign: float
    scale: float
    chance: float | None
    summaries: list[FamilySummary]
    trials: dict[int, TrialRecord]
    ranked: list[FamilySummary]
    best_base: Any
    notes: list[str]
    objectives: tuple[str, ...]
    front: list[ParetoPoint]

    @classmethod
    def of(cls, result: SearchResult, plan: Plan, profile: Profile) -> _Context:
        sign = direction_sign(plan.direction)
        scale = run_scale(result)
        chance = chance_level(result, profile, scale)
        summaries = assess_families(_summaries(result, plan), result, chance, scale)
        trials = {t.number: t for t in result.trials}
        ok_baselines = [b for b in result.baselines if b.val_metric is not None]
        objectives = plan.objectives or (plan.metric,)
        ctx = cls(
            result=result,
            plan=plan,
            profile=profile,
            sign=sign,
            scale=scale,
            chance=chance,
            summaries=summaries,
            trials=trials,
            ranked=[],
            best_base=max(ok_baselines, key=lambda b: sign * (b.val_metric or 0.0), default=None),
            notes=[f"{b.name}: {b.note}" for b in result.baselines if b.note],
            objectives=objectives,
            front=pareto_front(result) if len(objectives) > 1 else [],
        )
        ctx.ranked = ctx.rank()
        return ctx

    def exportable(self) -> list[Any]:
        return [
            b
            for b in self.result.baselines
            if b.val_metric is not None
            and b.name in _records.EXPORTABLE_BASELINES
            and b.state == "COMPLETE"
        ]

    def rank(self) -> list[FamilySummary]:
        """Families measured above chance, best first (cross-validated first, then the
        metric, the Brier score, the latency). When every family sits at chance and no
        reference can be exported, they are ranked anyway: something must be exported."""
        scored = [s for s in self.summaries if s.val_metric is not None]
        measured = [s for s in scored if not s.at_chance]
        pool = measured or ([] if self.exportable() else scored)
        return sorted(
            pool,
            key=lambda s: (
                not _cross_validated(self.trials, s),
                -self.sign * (s.val_metric or 0.0),
                _mean_brier(self.trials, s),
                _cost(s),
            ),
        )

    def interval(self, a: FamilySummary, b: FamilySummary) -> tuple[float, float] | None:
        """The interval of ``a``'s advantage over ``b`` in the metric's unit."""
        ta, tb = self.trials[a.best_trial or 0], self.trials[b.best_trial or 0]
        sa, sb = ta.val_scores(), tb.val_scores()
        return metric_interval(sa, sb, self.plan.metric, self.plan.seed, self.scale)


@dataclass
class _FamilyStep:
    """Step 1 of the rule: the architecture verdict among the measured families."""

    winner: FamilySummary
    runner: FamilySummary | None = None
    margin: float | None = None
    interval: tuple[float, float] | None = None
    within_noise: bool = False
    deep_top: str = ""
    by: str = "only"
    brier: tuple[float, float] | None = None
    notes: list[str] = field(default_factory=list)


def _family_step(ctx: _Context) -> _FamilyStep:
    """The top family, or the runner-up within noise of it and clearly cheaper (unless the
    Brier score separates them)."""
    winner = ctx.ranked[0]
    step = _FamilyStep(winner=winner, deep_top=winner.family)
    runner = ctx.ranked[1] if len(ctx.ranked) > 1 else None
    if runner is None:
        return step
    a, b = ctx.trials[winner.best_trial or 0], ctx.trials[runner.best_trial or 0]
    sa, sb = a.val_scores(), b.val_scores()
    raw = paired_interval(sa, sb, ctx.plan.seed)  # on the per-row scores, as the rule decides
    decide = raw if raw is None or ctx.sign > 0 else (-raw[1], -raw[0])
    within = decide is not None and decide[0] <= 0.0
    brier = paired_interval(b.val_brier(), a.val_brier(), ctx.plan.seed)  # + favours winner
    cheaper = _cheaper(runner, winner) if within else None
    step.by = "score"
    if within and brier is not None and brier[0] > 0.0:
        within, step.by, step.brier = False, "brier", brier
    if within and cheaper is not None:
        winner, runner, step.by = runner, winner, "cheaper"
    step.winner, step.runner, step.within_noise = winner, runner, within
    step.margin = ctx.sign * ((winner.val_metric or 0.0) - (runner.val_metric or 0.0))
    step.interval = ctx.interval(winner, runner)
    return step


def _notes(ctx: _Context, step: _FamilyStep | None) -> list[str]:
    """The selection's sentences beside the verdict's own: how the figures were measured,
    latency against length, the Pareto front, overfitting, skipped references."""
    out: list[str] = []
    if step is not None:
        cv = _cv_reason(ctx.trials[step.winner.best_trial or 0])
        if cv:
            out.append(cv)
        growth = _length_growth(step.winner, step.runner)
        if growth:
            out.append(growth)
        if ctx.front:
            out.append(_pareto_reason(ctx.front, step.winner, ctx.plan.metric))
        gap = step.winner.gap
        if gap is not None and gap > OVERFIT_GAP:
            out.append(
                f"{step.winner.family}'s train–validation gap is {gap:.3g}: it overfits "
                "noticeably."
            )
    return out


#: A train–validation gap above this is called overfitting in the reasons.
OVERFIT_GAP = 0.1


def _without_deep(ctx: _Context) -> Recommendation:
    """No family measured above chance (none finished, or every one at chance): the best
    exportable reference, when there is one, is recommended and exported."""
    metric = ctx.plan.metric
    best_base = ctx.best_base
    top = max(ctx.exportable(), key=lambda b: ctx.sign * (b.val_metric or 0.0), default=None)
    notes = []
    if not any(s.val_metric is not None for s in ctx.summaries):
        failed = sum(s.failed for s in ctx.summaries)
        notes.append(f"No deep trial finished ({failed} failed); see the failures table.")
    if best_base is not None:
        notes.append(
            f"The best reference is {label(best_base.name)} with validation "
            f"{unit_for(metric).name} {unit_for(metric).value(best_base.val_metric)}."
        )
    rec = Recommendation(
        family=None,
        trial=None,
        params={},
        metric=metric,
        direction=ctx.plan.direction,
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
        profile_confidence=ctx.profile.confidence,
        families=tuple(ctx.summaries),
        notes=tuple(ctx.notes),
        objectives=ctx.objectives,
        kind=RecommendationKind.BASELINE.value if top else RecommendationKind.FAMILY.value,
        recommended=top.name if top is not None else None,
        top_scorer=best_base.name if best_base else None,
        rule={
            "recommended_by": "no deep measurement",
            "values": {b.name: b.val_metric for b in ctx.result.baselines},
            "costs": {
                b.name: Costs(
                    b.name, b.latency_b256_ms, None, b.train_time_s, b.n_params
                ).to_dict()
                for b in ctx.result.baselines
            },
            "settle_budget_s": _settle(ctx),
            "notes": notes,
        },
        chance_metric=ctx.chance,
        interval_unit="metric",
    )
    return restate(rec)


def _settle(ctx: _Context) -> int | None:
    """A ``--timeout`` that would train every family not trained enough (None: unknown)."""
    settle = settle_budget(ctx.summaries, ctx.plan.timeout_s)
    return round(settle) if settle is not None else None


def _rule(ctx: _Context, step: _FamilyStep, verdict: Verdict) -> dict[str, Any]:
    facts = verdict.facts()
    for s in ctx.summaries:  # families at chance too: the verdict names them
        if s.val_metric is not None:
            facts["values"].setdefault(s.family, s.val_metric)
            facts["costs"].setdefault(s.family, _costs(s).to_dict())
    return {
        **facts,
        "deep_top": step.deep_top,
        "architecture_by": step.by,
        "architecture_brier": list(step.brier) if step.brier else None,
        "settle_budget_s": _settle(ctx),
        "notes": _notes(ctx, step),
    }


def select(result: SearchResult, plan: Plan, profile: Profile) -> Recommendation:
    """The recommendation: the architecture verdict among the families measured above chance,
    then the best model whatever its kind (a reference that beats it, or ties it and is
    cheaper), with the paired comparison, the Brier check and the verdict's stability; the
    words come from :func:`archselect.core.verdict.describe`.

    Example:
        See :func:`archselect.fit`; ``recommendation.json`` is this function's output.
    """
    ctx = _Context.of(result, plan, profile)
    if not ctx.ranked:
        return _without_deep(ctx)
    step = _family_step(ctx)
    verdict = Verdict(result, plan, ctx.ranked, step.winner, interval=paired_interval)
    winner, runner, best_base = step.winner, step.runner, ctx.best_base
    rec = Recommendation(
        family=winner.family,
        trial=winner.best_trial,
        params=dict(ctx.trials[winner.best_trial or 0].params),
        metric=plan.metric,
        direction=plan.direction,
        val_metric=winner.val_metric,
        test_metric=winner.test_metric,
        runner_up=runner.family if runner else None,
        runner_up_val_metric=runner.val_metric if runner else None,
        margin=step.margin,
        margin_interval=step.interval,
        within_noise=step.within_noise,
        baseline_best=best_base.name if best_base else None,
        baseline_val_metric=best_base.val_metric if best_base else None,
        baseline_test_metric=best_base.test_metric if best_base else None,
        baseline_beats_deep=best_base is not None
        and ctx.sign * (best_base.val_metric or 0.0) > ctx.sign * (winner.val_metric or 0.0),
        profile_confidence=profile.confidence,
        families=tuple(ctx.summaries),
        notes=tuple(ctx.notes),
        objectives=ctx.objectives,
        pareto_front=tuple(ctx.front),
        kind=verdict.kind.value,
        recommended=verdict.recommended.name,
        top_scorer=verdict.top.name,
        verdict_stability=verdict.stability,
        paired=verdict.paired,
        brier_check=verdict.brier_check,
        rule=_rule(ctx, step, verdict),
        chance_metric=ctx.chance,
        interval_unit="metric",
    )
    return restate(rec)


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
            f"{unit_for(metric).value(fastest.val_metric)}, {fastest.latency_b1_ms:.3g} ms vs "
            f"{winner.latency_b1_ms:.3g} ms per sample), pick it if latency matters more"
        )
    return text + "."
