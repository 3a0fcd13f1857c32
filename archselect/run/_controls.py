"""The controls of a verdict, measured after the search and before the final model (issue 31):

- the **order control**: the recommended deep family's best configuration trained again, the
  same way on the same rows with the same seed, on one fixed permutation of its steps or
  pixels (channels and target untouched), and scored on the same validation rows; the
  drop and its paired bootstrap interval say whether the model uses the order. A table has
  no order to use. The permutation lives only here, on the prepared arrays in memory: the
  exported model, its preprocessing and its ONNX graph never see it;
- the **learning curves** of the top two candidates (:mod:`archselect.run._curves`);
- when the profile was unsure, which of the two readings it searched won, and by how much.

They are paid from the ``--timeout`` budget: the search window ends early by
:func:`controls_reserve` (:data:`CONTROLS_FRACTION` of the budget on top of the usual
reserve for the final model and the report), and each measurement is planned at its
search-time cost and skipped, with a note, when the time left does not pay for it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np

from archselect._common.budget import MIN_RESERVE_S, RESERVE_FRACTION, Clock
from archselect.core.data import Profile
from archselect.core.kinds import Modality
from archselect.core.recommendation import LearningCurve, OrderControl, Recommendation
from archselect.core.records import (
    SearchResult,
    TrialRecord,
    best_by_family,
    outranks,
)
from archselect.layouts import plugin_for
from archselect.plan import Plan
from archselect.prepare import Prepared, cross_folds
from archselect.run._curves import curve_candidates, curve_cost, curve_from, curve_runs
from archselect.run._lanes import Lanes
from archselect.run._readings import flat_families, readings_reason
from archselect.run._retrain import (
    Fitted,
    Retraining,
    metric_of,
    metric_samples,
    permute,
    quantiles,
    stored_split_scores,
    subsample,
)
from archselect.select import select
from archselect.train import select_device, torch_threads

__all__ = [
    "CONTROLS_FRACTION",
    "CONTROLS_MAX_FRACTION",
    "MEASURE_CONTROLS",
    "NO_ORDER",
    "Controls",
    "controlled_trial",
    "controls_reserve",
    "measure_controls",
    "order_kind",
    "permute",
    "run_controls",
]

_log = logging.getLogger(__name__)

#: Whether ``fit`` measures the controls (tests of other stages turn them off, as they turn
#: off the small-data rules, to keep the suite's fits short).
MEASURE_CONTROLS = True
#: Share of a ``--timeout`` budget the search window leaves for the controls …
CONTROLS_FRACTION = 0.15
#: … and the most they may spend (the final model and the report keep their own reserve).
CONTROLS_MAX_FRACTION = 0.20
#: A retraining of the control is planned at the trial's measured training time times this.
COST_SAFETY = 1.5
#: Torch threads of the controls' training on CPU: one, as the trials in this process use.
IN_PROCESS_CPU_THREADS = 1
#: Fewest epochs of a control trained below its trial's schedule to fit the budget.
MIN_CONTROL_EPOCHS = 3
#: The permutation's seed is the run's seed plus this (recorded in the control).
PERMUTATION_SEED_OFFSET = 1
#: The order control's note for a table.
NO_ORDER = (
    "a table has no order to use: its columns are separate features, and any order of them "
    "is the same table"
)

_Rec = TypeVar("_Rec", bound=Recommendation)
_Searched = TypeVar("_Searched", bound="_SearchOutcome")


class _SearchOutcome(Protocol):
    """What the search phase hands on (:class:`archselect.run._fit.Searched`)."""

    @property
    def result(self) -> SearchResult: ...
    @property
    def interrupted(self) -> KeyboardInterrupt | None: ...


@dataclass(frozen=True)
class Controls:
    """What :func:`measure_controls` found, to be added to the recommendation."""

    order_control: OrderControl | None = None
    learning_curves: tuple[LearningCurve, ...] = ()
    #: Why a control was not measured (the budget, the data's form).
    notes: tuple[str, ...] = ()
    #: The both-readings sentence when the profile was unsure.
    reasons: tuple[str, ...] = ()
    seconds: float = 0.0

    def applied_to(self, rec: _Rec) -> _Rec:
        """``rec`` with the controls, their notes and reasons added."""
        return dataclasses.replace(
            rec,
            order_control=self.order_control,
            learning_curves=self.learning_curves,
            notes=(*rec.notes, *self.notes),
            reasons=(*rec.reasons, *self.reasons),
        )


def controls_reserve(clock: Clock) -> float | None:
    """Seconds the search window must leave after it in a budgeted command: the usual
    reserve (final model, length latency, report) plus :data:`CONTROLS_FRACTION` (None, the
    usual reserve alone, when the controls are off)."""
    if clock.budget_s is None or not MEASURE_CONTROLS:
        return None
    usual = max(MIN_RESERVE_S, RESERVE_FRACTION * clock.budget_s)
    return usual + CONTROLS_FRACTION * clock.budget_s


class _Allowance:
    """The seconds the controls may still spend (None: no budget).

    They keep the usual reserve after them for the final model and the report, or, when
    ``final_s`` says what the final model needs (see
    :func:`archselect.run._refit.final_need`), that need plus :data:`MIN_RESERVE_S` for the
    report when the reserve holds it, and :data:`MIN_RESERVE_S` alone when it does not (the
    final model is then the best trial's own weights unless time is left over): a reserve
    the final model cannot use is the controls' (at 3 minutes, the learning curves').
    """

    def __init__(self, clock: Clock, *, final_s: float | None = None) -> None:
        self.clock = clock
        self.start = time.monotonic()
        budget = clock.budget_s
        after = max(MIN_RESERVE_S, RESERVE_FRACTION * budget) if budget is not None else None
        if after is not None and final_s is not None:
            need = final_s + MIN_RESERVE_S
            after = need if need <= after else MIN_RESERVE_S
        self.after = after
        self.cap = None if budget is None else CONTROLS_MAX_FRACTION * budget

    def left(self) -> float | None:
        left = self.clock.left()
        if left is None or self.after is None or self.cap is None:
            return None
        spent = time.monotonic() - self.start
        return max(0.0, min(left - self.after, self.cap - spent))

    def pays(self, need: float) -> bool:
        left = self.left()
        return left is None or need <= left


def order_kind(prepared: Prepared) -> tuple[str | None, str | None]:
    """What a permutation of this data's order moves: ``pixels`` (images), ``steps``
    (series, forecast windows) or nothing, with why not (a table: :data:`NO_ORDER`)."""
    pre = prepared.preprocessing
    plugin = plugin_for(pre.layout)
    if plugin.modality == Modality.TABULAR:
        return None, NO_ORDER
    if plugin.masked or pre.text is not None:
        return None, (
            "the order control was not measured: sequences of different lengths (texts, "
            "padded series) have no one permutation of their steps"
        )
    if plugin.modality == Modality.SPATIAL and prepared.x_train.ndim == 4:
        return "pixels", None
    if prepared.x_train.ndim == 3:
        return "steps", None
    return None, "the order control was not measured: the inputs have no axis of steps"


def _positions(prepared: Prepared, kind: str) -> int:
    shape = prepared.x_train.shape
    return int(shape[2] * shape[3]) if kind == "pixels" else int(shape[1])


def _permutation(n: int, seed: int) -> np.ndarray:
    """One fixed permutation of ``n`` positions that moves at least one (n > 1)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    while n > 1 and np.array_equal(perm, np.arange(n)):
        perm = rng.permutation(n)
    return perm


def _twin_runs(
    prepared: Prepared, plan: Plan, trial: TrialRecord, move: tuple[str, np.ndarray],
    how: _ControlPlan,
) -> list[Retraining]:  # fmt: skip
    """The trial's configuration on the inputs in the order ``move`` (what it moves, the
    permutation), trained as the trial trained (its rows, its seed, its epoch cap unless
    ``how`` lowers it): one retraining on each of the study's folds (out-of-fold scores over
    the pooled rows) or one on the split."""
    kind, perm = move
    n_train = len(prepared.x_train)
    folds = cross_folds(prepared, plan.seed) if how.folds else ()
    parts: list[tuple[np.ndarray, np.ndarray | None]] = [(f.train, f.val) for f in folds]
    parts = parts or [(np.arange(n_train), None)]
    runs = []
    for i, (train, val) in enumerate(parts):
        rows = subsample(len(train), trial.fidelity.get("rows"), plan.seed + trial.number + i)
        runs.append(
            Retraining(
                trial.family,
                tuple(int(r) for r in train[rows]),
                trial=trial,
                val=None if val is None else tuple(int(v) for v in val),
                kind=kind,
                perm=tuple(int(p) for p in perm),
                max_epochs=how.max_epochs,
                seed_offset=i,
            )
        )
    return runs


def _twin_scores(
    prepared: Prepared, runs: list[Retraining], fitted: list[Fitted], folds: bool
) -> tuple[np.ndarray, int, list[str]]:
    """One twin's per-row scores (out of fold over the pooled rows, or the split's), the
    epochs of its first run, and why any run stopped short."""
    if not folds:
        return fitted[0].scores, fitted[0].epochs, [fitted[0].cut] if fitted[0].cut else []
    scores = np.empty(len(prepared.pooled[1]))
    for run, one in zip(runs, fitted, strict=True):
        assert run.val is not None
        scores[np.asarray(run.val)[: len(one.scores)]] = one.scores
    return scores, fitted[0].epochs, [f.cut for f in fitted if f.cut]


def _in_order_scores(
    prepared: Prepared, plan: Plan, trial: TrialRecord
) -> tuple[np.ndarray | None, bool]:
    """The trial's own per-row scores (and whether they are out-of-fold over the pooled
    rows, on folds this data still cuts the same way), or None when they must be measured
    again on the split."""
    stored = trial.val_scores()
    if stored is not None and trial.cv_folds and len(stored) == len(prepared.pooled[1]):
        if len(cross_folds(prepared, plan.seed)) == trial.cv_folds:
            return stored, True
        return None, False
    if not trial.cv_folds:
        split = stored_split_scores(stored, prepared)
        if split is not None:
            return split, False
    return None, False


@dataclass(frozen=True)
class _ControlPlan:
    """How the order control is measured: over the study's folds or on the split, reusing
    the trial's own in-order scores or training the in-order twin too, at which epoch cap."""

    folds: bool
    reuse: bool
    max_epochs: int | None
    note: str | None = None


def _control_plan(
    prepared: Prepared, plan: Plan, trial: TrialRecord, budget: _Allowance, lanes: int = 1
) -> _ControlPlan | str:
    """The richest control the time left pays for, at the trial's measured cost, with
    ``lanes`` retrainings at once: the trial's own procedure (shuffled twin only, on its
    folds or its split), then both twins on the split, then both with fewer epochs (at
    least :data:`MIN_CONTROL_EPOCHS`); else why not."""
    stored, folds = _in_order_scores(prepared, plan, trial)
    run_s = COST_SAFETY * float(trial.train_time_s or 0.0)
    cap = trial.fidelity.get("epochs")
    options = [(_ControlPlan(False, False, cap), 2)]
    if stored is not None:
        options.insert(0, (_ControlPlan(folds, True, cap), (trial.cv_folds or 1) if folds else 1))
    for option, runs in options:
        if budget.pays(run_s * math.ceil(runs / lanes)):
            return option
    trained = max(1, int(trial.epochs or 1))
    rounds = math.ceil(2 / lanes)  # both twins on the split
    epochs = math.floor((budget.left() or 0.0) / (rounds * run_s / trained)) if run_s else 0
    if epochs >= MIN_CONTROL_EPOCHS:
        note = (
            f"both twins trained at most {epochs} epochs (the trial trained {trained}) to fit "
            "the --timeout budget"
        )
        return _ControlPlan(False, False, epochs, note)
    return (
        f"the order control was not measured: two runs of at least {MIN_CONTROL_EPOCHS} "
        f"epochs need about {rounds * run_s * MIN_CONTROL_EPOCHS / trained:.0f} s and the "
        f"--timeout budget left {budget.left() or 0:.0f} s for it"
    )


def measure_order_control(
    prepared: Prepared,
    plan: Plan,
    trial: TrialRecord,
    budget: _Allowance,
    lanes: Lanes | None = None,
) -> tuple[OrderControl | None, list[str]]:
    """The order control of ``trial`` (the recommended deep family's best), or None with a
    note when the data has no one order to move or the time left does not pay for it. The
    twins' retrainings run on ``lanes`` (default: this process alone)."""
    lanes = lanes or Lanes()
    pre = prepared.preprocessing
    kind, why = order_kind(prepared)
    if kind is None:
        if why == NO_ORDER and trial.val_metric is not None:
            return _no_order(plan, trial), []
        return None, [why or "the order control was not measured"]
    how = _control_plan(prepared, plan, trial, budget, lanes.count)
    if isinstance(how, str):
        return None, [how]
    start = time.monotonic()
    seed = plan.seed + PERMUTATION_SEED_OFFSET
    n = _positions(prepared, kind)
    twins = {"shuffled": _permutation(n, seed)} | ({} if how.reuse else {"in-order": np.arange(n)})
    scores: dict[str, np.ndarray] = {}
    notes = [how.note] if how.note else []
    epochs = 0
    runs = {
        name: _twin_runs(prepared, plan, trial, (kind, perm), how) for name, perm in twins.items()
    }
    every = [r for name in twins for r in runs[name]]
    left = budget.left()  # shared alike, so that neither twin is cut shorter than the other
    share = None if left is None else left / math.ceil(len(every) / lanes.count)
    fitted = iter(lanes.map(prepared, plan, every, lambda: share))
    for name in twins:
        mine = [next(fitted) for _ in runs[name]]
        scores[name], ran, cut = _twin_scores(prepared, runs[name], mine, how.folds)
        epochs = epochs or ran
        notes += [f"the {name} twin {c}" for c in cut]
    in_order = scores.get("in-order")
    if in_order is None:
        in_order, _ = _in_order_scores(prepared, plan, trial)
        assert in_order is not None
    control = _compare(pre.task, plan, trial, in_order, scores["shuffled"], pre.target_std, seed)
    control = dataclasses.replace(
        control, epochs=epochs, seconds=round(time.monotonic() - start, 2),
        rows=len(prepared.pooled[1]) if how.folds else len(prepared.x_train),
        note="; ".join(notes) or None,
    )  # fmt: skip
    return control, []


def _compare(
    task: str, plan: Plan, trial: TrialRecord, in_order: np.ndarray, shuffled: np.ndarray,
    target_std: float, seed: int,
) -> OrderControl:  # fmt: skip
    """In order against shuffled on the same rows: the difference (+: order helps) and its
    paired bootstrap interval."""
    sign = 1.0 if plan.direction == "maximize" else -1.0
    a, b = metric_of(task, in_order, target_std), metric_of(task, shuffled, target_std)
    sa, sb = metric_samples(task, (in_order, shuffled), target_std, seed)
    interval = quantiles(sign * (sa - sb))
    return OrderControl(
        family=trial.family, metric=plan.metric, in_order=a, shuffled=b, diff=sign * (a - b),
        interval=interval, uses_order=interval[0] > 0, rows=len(in_order), epochs=0,
        seconds=0.0, permutation_seed=seed,
    )  # fmt: skip


def _no_order(plan: Plan, trial: TrialRecord) -> OrderControl:
    metric = float(trial.val_metric or 0.0)
    return OrderControl(
        family=trial.family, metric=plan.metric, in_order=metric, shuffled=metric, diff=0.0,
        interval=None, uses_order=False, rows=0, epochs=0, seconds=0.0, note=NO_ORDER,
    )  # fmt: skip


def measure_curves(
    prepared: Prepared,
    plan: Plan,
    result: SearchResult,
    budget: _Allowance,
    lanes: Lanes | None = None,
) -> tuple[tuple[LearningCurve, ...], list[str]]:
    """The learning curves of the top candidates that the time left pays for, their
    retrainings run on ``lanes`` (default: this process alone)."""
    lanes = lanes or Lanes()
    chosen, notes, planned = [], [], 0.0
    for candidate in curve_candidates(result, plan, prepared):
        need = curve_cost(candidate)
        if not budget.pays((planned + need) / lanes.count):
            notes.append(
                f"no learning curve for {candidate.name}: it needs about {need:.0f} s and the "
                f"--timeout budget left {budget.left() or 0:.0f} s for it"
            )
            continue
        planned += need
        chosen.append((candidate, curve_runs(prepared, plan, candidate)))
    fitted = iter(lanes.map(prepared, plan, [r for _, runs in chosen for r in runs], budget.left))
    curves = [
        curve_from(prepared, plan, candidate, [next(fitted) for _ in runs])
        for candidate, runs in chosen
    ]
    return tuple(curves), notes


def controlled_trial(
    prepared: Prepared, plan: Plan, result: SearchResult, recommended: int | None
) -> tuple[TrialRecord | None, str | None]:
    """The trial the order control retrains: the recommended deep family's best, unless that
    family reads the columns as one flat vector (``mlp``: a fixed permutation of its inputs
    is the same problem, so it cannot lose by it) while the data has an order: then the best
    family that can use the order, and why."""
    trial = next((t for t in result.trials if t.number == recommended), None)
    flat = flat_families()
    if trial is None or trial.family not in flat or order_kind(prepared)[0] is None:
        return trial, None
    sign = 1.0 if plan.direction == "maximize" else -1.0
    ordered = [t for f, t in best_by_family(result).items() if f not in flat]
    best = None
    for t in ordered:
        best = t if best is None or outranks(t, best, sign) else best
    if best is None:
        return trial, (
            f"{trial.family} reads the columns as one flat vector, which a fixed permutation "
            "of them does not change, and no family that can use the order finished: this "
            "control cannot show an order"
        )
    return best, (
        f"{trial.family} reads the columns as one flat vector, which a fixed permutation of "
        f"them does not change; the control retrains {best.family}, the best family that "
        "can use the order"
    )


def measure_controls(
    prepared: Prepared,
    profile: Profile,
    plan: Plan,
    result: SearchResult,
    clock: Clock,
    lanes: Lanes | None = None,
    final_s: Callable[[TrialRecord], float | None] | None = None,
) -> Controls:
    """The order control of the recommended deep family, the learning curves of the top two
    candidates and the both-readings sentence, within the time the budget leaves them, their
    retrainings on ``lanes`` (default: this process alone). ``final_s`` says what the
    recommended trial's final model needs (:class:`_Allowance`). A failure here costs the
    controls (with a note), never the run."""
    lanes = lanes or Lanes()
    budget = _Allowance(clock, final_s=_final_need(result, plan, profile, final_s))
    start = time.monotonic()
    reason = readings_reason(
        profile, plan, result, prepared.preprocessing.target_std, len(prepared.pooled[1])
    )
    notes: list[str] = []
    control: OrderControl | None = None
    curves: tuple[LearningCurve, ...] = ()
    try:
        rec = select(result, plan, profile)
        trial, why = controlled_trial(prepared, plan, result, rec.trial)
        if trial is not None:
            control, notes = measure_order_control(prepared, plan, trial, budget, lanes)
        else:
            notes = ["the order control was not measured: no deep trial finished"]
        if control is not None and why:
            control = dataclasses.replace(
                control, note="; ".join(n for n in (why, control.note) if n)
            )
        curves, more = measure_curves(prepared, plan, result, budget, lanes)
        notes += more
    except Exception as exc:
        _log.warning("controls skipped: %s: %s", type(exc).__name__, exc)
        notes.append(f"the controls were not measured ({type(exc).__name__}: {exc})"[:300])
    return Controls(
        order_control=control,
        learning_curves=curves,
        notes=tuple(notes),
        reasons=(reason,) if reason else (),
        seconds=round(time.monotonic() - start, 2),
    )


def _final_need(
    result: SearchResult,
    plan: Plan,
    profile: Profile,
    final_s: Callable[[TrialRecord], float | None] | None,
) -> float | None:
    """What the recommended deep trial's final model needs (None: unknown, or a reference)."""
    if final_s is None:
        return None
    try:
        number = select(result, plan, profile).trial
    except Exception:  # the final model's selection reports it
        return None
    trial = next((t for t in result.trials if t.number == number), None)
    return None if trial is None else final_s(trial)


def run_controls(
    prepared: Prepared,
    profile: Profile,
    plan: Plan,
    searched: _Searched,
    clock: Clock,
    lanes: Lanes | None = None,
    final_s: Callable[[TrialRecord], float | None] | None = None,
) -> tuple[Controls, _Searched]:
    """The ``controls`` phase of ``fit``, between the search and the final model, with the
    trials' torch threads, its retrainings on ``lanes`` (default: this process alone):
    nothing after a stop signal, and a stop signal during it ends the run as one during the
    search does (what was measured is kept)."""
    if searched.interrupted is not None or not MEASURE_CONTROLS:
        return Controls(), searched
    threads = IN_PROCESS_CPU_THREADS if select_device() == "cpu" else None
    try:
        with clock.phase("controls"), torch_threads(threads):
            found = measure_controls(
                prepared, profile, plan, searched.result, clock, lanes, final_s
            )
            return found, searched
    except KeyboardInterrupt as exc:
        return Controls(), dataclasses.replace(searched, interrupted=exc)  # type: ignore[type-var]
