"""The objective: one trial's family, parameters, fidelity, training or cross-validation,
and the trial records read back from the study. The only module that touches
``optuna.Trial``."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import optuna
import torch

from archselect._common import signals as _signals
from archselect._common.budget import (
    LATER_TRIAL_SAFETY,
    MIN_LATER_S,
    MIN_LATER_SHARE,
    Fidelity,
    SearchWindow,
    choose_fidelity,
)
from archselect._common.secrets import redact
from archselect.core.ensemble_selection import encode_outputs
from archselect.core.metrics import encode_scores, per_sample_brier, per_sample_scores, score
from archselect.core.records import ALL_FAMILIES as ALL_FAMILIES
from archselect.core.records import CUT_SHORT_NOTE, DEADLINE_NOTE, TrialRecord
from archselect.core.records import best_by_family as best_by_family
from archselect.core.spaces import ParamSpec
from archselect.layouts import forecast as _forecast
from archselect.models import create_model
from archselect.plan import Plan
from archselect.prepare import Fold, Prepared, Preprocessing, cross_folds, out_of_fold
from archselect.search._constants import (
    ATTR_CV_FOLDS,
    ATTR_WEIGHTS,
    BATCH_LATENCY_ATTR,
    LENGTH_LATENCY_ATTR,
    WORKER_ID,
)
from archselect.search._storage import Batches
from archselect.train import (
    TrainConfig,
    TrainResult,
    effective_config,
    measure_latency,
    predict_outputs,
    probe_epoch_seconds,
    seed_all,
    select_device,
    train_network,
)


class _FamilyView:
    """A study seen through one family's trials, so pruning compares like with like;
    with ``before``, only those numbered below it."""

    def __init__(self, study: optuna.Study, family: str, before: int | None = None) -> None:
        self._study, self._family, self._before = study, family, before

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def get_trials(
        self, deepcopy: bool = True, states: Any = None
    ) -> list[optuna.trial.FrozenTrial]:
        trials = self._study.get_trials(deepcopy=deepcopy, states=states)
        return [
            t
            for t in trials
            if t.params.get("family") == self._family
            and (self._before is None or t.number < self._before)
        ]


class _FamilyPruner(optuna.pruners.BasePruner):
    """``base`` applied to the trial's family only; with ``batches``, to the trials of the
    batches before the trial's own (all finished), so pruning does not depend on which
    process finished first."""

    def __init__(self, base: optuna.pruners.BasePruner, batches: Batches | None = None) -> None:
        self._base, self.batches = base, batches

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        before = None if self.batches is None else self.batches.start(trial.number)
        view = _FamilyView(study, trial.params.get("family", ""), before)
        return self._base.prune(view, trial)  # type: ignore[arg-type]


def _suggest(trial: optuna.Trial, name: str, spec: ParamSpec) -> Any:
    if spec.type == "categorical":
        return trial.suggest_categorical(name, list(spec.choices))
    assert spec.low is not None and spec.high is not None
    if spec.type == "int":
        step = int(spec.step or 1)
        return trial.suggest_int(name, int(spec.low), int(spec.high), step=step, log=spec.log)
    return trial.suggest_float(
        name,
        float(spec.low),
        float(spec.high),
        log=spec.log,
        step=None if spec.log or spec.step is None else float(spec.step),
    )


def build_network(
    pre: Preprocessing, family: str, model_params: dict[str, Any], *, seed: int
) -> torch.nn.Module:
    """A fresh network of ``family`` for the prepared data; its initial weights follow ``seed``."""
    seed_all(seed)
    return create_model(
        family,
        input_shape=pre.input_shape,
        n_outputs=pre.n_outputs,
        layout=pre.layout,
        **pre.model_inputs(),
        **model_params,
    )


def split_params(params: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Flat Optuna params → (family, builder params, shared training params)."""
    family = str(params["family"])
    prefix = family + "."
    model = {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
    shared = {k: v for k, v in params.items() if k != "family" and "." not in k}
    return family, model, shared


#: Training parameters a trial's shared draw (or the shared space's ``[fixed]``) may set.
TRAIN_KEYS = (
    "lr",
    "weight_decay",
    "batch_size",
    "epochs",
    "schedule",
    "patience",
    "min_steps",
    "min_patience_steps",
)


def train_config(task: str, shared: dict[str, Any], seed: int) -> TrainConfig:
    known = {k: shared[k] for k in TRAIN_KEYS if k in shared}
    return TrainConfig(task=task, seed=seed, **known)


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities of logits ``(N, K)`` (what the ensemble selection averages)."""
    z = logits - logits.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def study_folds(study: optuna.Study, prepared: Prepared, plan: Plan) -> tuple[Fold, ...]:
    """The folds this study scores trials on: chosen when it begins and kept for good.

    A study begun by an archselect that scored every trial on one validation split (no
    ``ATTR_CV_FOLDS``, finished trials) keeps doing so when resumed, so its trials stay
    comparable.
    """
    folds = cross_folds(prepared, plan.seed)
    stored = study.user_attrs.get(ATTR_CV_FOLDS)
    if stored is None:
        begun = any(t.state.is_finished() for t in study.get_trials(deepcopy=False))
        stored = 0 if begun else len(folds)
        study.set_user_attr(ATTR_CV_FOLDS, stored)
    return folds if stored else ()


def chance_level(prepared: Prepared, folds: bool) -> float:
    """The score of a model that learned nothing, on the rows trials are scored on (the
    validation rows; the pooled train + validation rows where trials cross-validate,
    ``folds``): predicting the training rows' majority class (accuracy), or their mean
    (RMSE, in the target's units).

    Example:
        >>> import numpy as np, pandas as pd
        >>> from archselect.load import load_table
        >>> from archselect.prepare import prepare
        >>> from archselect.profile import profile_table
        >>> rng = np.random.default_rng(0)
        >>> frame = pd.DataFrame({"a": rng.normal(size=200), "y": [0, 0, 0, 1] * 50})
        >>> table = load_table(frame)
        >>> round(chance_level(prepare(table, profile_table(table)), folds=False), 2)
        0.75
    """
    pre = prepared.preprocessing
    y_train = np.asarray(prepared.y_train)
    y = np.asarray(prepared.pooled[1] if folds else prepared.y_val)
    if pre.task == "classification":
        majority = int(np.bincount(y_train.astype(np.int64)).argmax())
        return float(np.mean(y.astype(np.int64) == majority))
    mean = y_train.reshape(len(y_train), -1).mean(axis=0)
    flat = y.reshape(len(y), -1)
    return float(np.sqrt(np.mean((flat - mean) ** 2)) * pre.target_std)


class _DeadlineStop:
    """Stops a trial that is still training when the search's ``--timeout`` runs out.

    Called after every epoch (of every fold), with the deadline as a ``time.time()`` value.
    Past it, the trial is pruned, with a ``note`` saying so, unless no trial of its family
    has finished yet: then its training ends there and the best epoch so far is its result
    (returns True), so every family that started has one in the head-to-head.
    """

    def __init__(self, trial: optuna.Trial, family: str, deadline: float | None) -> None:
        self.trial, self.family, self.deadline = trial, family, deadline
        self.cut_short = False

    def __call__(self, where: str) -> bool:
        if self.deadline is None or time.time() < self.deadline:
            return False
        if self.cut_short or not _family_has_finished(self.trial.study, self.family):
            if not self.cut_short:
                self.trial.set_user_attr("note", f"{CUT_SHORT_NOTE} ({where})")
            self.cut_short = True
            return True
        note = f"{DEADLINE_NOTE} ({where})"
        self.trial.set_user_attr("note", note)
        raise optuna.TrialPruned(note)


def _family_has_finished(study: optuna.Study, family: str) -> bool:
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return any(t.params.get("family") == family for t in complete)


def search_deadline(window: SearchWindow, study: optuna.Study, prepared: Prepared) -> float:
    """The unix time after which no trial starts: the window's end.

    The search is no longer shortened to pay for the best trial's final refit: when the
    refit does not fit what is left, the final model is the best trial's own weights
    (:mod:`archselect.run._refit`), so the time goes to measuring the families.
    """
    return window.end


def share_clock() -> Callable[[], float]:
    """The clock a trial's share is counted on: CPU seconds of this process on the CPU (a
    one-thread trial's core-seconds, which other work on the machine does not change),
    wall seconds on a GPU (GPU-seconds)."""
    return time.process_time if select_device() == "cpu" else time.perf_counter


class _Allowance(NamedTuple):
    """What a trial may spend: ``seconds`` (None: no time budget) on ``clock``, whether it is
    its family's first measurement, and, when it must not start, why."""

    seconds: float | None
    first: bool
    clock: Callable[[], float]
    refused: str | None = None


def _allowance(
    window: SearchWindow | None, study: optuna.Study, family: str, prepared: Prepared
) -> _Allowance:
    """Seconds this trial may take, and whether it is its family's first measurement.

    A family's first trial gets its equal share of the search's core-seconds
    (``window.first_share_s``, counted on :func:`share_clock`), even when the round runs
    late, so every family is measured. A later one gets what is left of the window (wall
    time, less a safety margin), and does not start when that is below
    :data:`MIN_LATER_SHARE` of a first share (at least :data:`MIN_LATER_S`): a figure from
    a trial given one second is noise, stored as a measurement.
    """
    first = not _family_has_finished(study, family)
    if window is None:
        return _Allowance(None, first, time.perf_counter)
    if first:
        return _Allowance(window.first_share_s, first, share_clock())
    left = max(0.0, (search_deadline(window, study, prepared) - time.time()) * LATER_TRIAL_SAFETY)
    least = max(MIN_LATER_S, MIN_LATER_SHARE * window.first_share_s)
    refused = None
    if left <= 0:
        refused = f"{DEADLINE_NOTE} (before it started)"
    elif left < least:
        refused = f"not started: {left:.0f} s left of the search, below the {least:.0f} s a "
        refused += "measurement needs"
    return _Allowance(left, first, time.perf_counter, refused)


def _fidelity(
    prepared: Prepared,
    net: torch.nn.Module,
    config: TrainConfig,
    runs: int,
    allowance: _Allowance,
) -> Fidelity:
    """Probe the network's cost on the training rows (on the allowance's clock); choose
    what the allowance pays for."""
    if allowance.seconds is None:
        return Fidelity()
    x, y = prepared.x_train, prepared.y_train
    start = allowance.clock()
    epoch_s = probe_epoch_seconds(net, x, y, len(prepared.x_val), config, clock=allowance.clock)
    return choose_fidelity(
        epoch_s=epoch_s,
        full_epochs=effective_config(config, len(x)).epochs,
        runs=runs,
        n_rows=len(x),
        allowance_s=max(0.0, allowance.seconds - (allowance.clock() - start)),  # probe paid
    )


class _Limits(NamedTuple):
    """A trial's fidelity for each training run: an epoch cap and a time limit (on
    ``clock``)."""

    max_epochs: int | None
    time_limit_s: float | None
    clock: Callable[[], float] = time.perf_counter


def _subsample(n: int, rows: int | None, seed: int) -> np.ndarray:
    """Sorted positions of ``rows`` of ``n`` training rows (all of them for None)."""
    if rows is None or rows >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=rows, replace=False))


def write_attrs(trial: optuna.Trial, attrs: dict[str, Any]) -> None:
    """Set the trial's user attributes in one storage transaction where the storage can
    (:meth:`archselect.search._storage._SlotStorage.set_trial_user_attrs`), one by one
    otherwise: a trial wrote ~26 separate SQLite transactions before (0.11 s each trial)."""
    storage = getattr(trial.storage, "_backend", trial.storage)
    bulk = getattr(storage, "set_trial_user_attrs", None)
    if bulk is None:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return
    bulk(trial._trial_id, attrs)
    trial._cached_frozen_trial.user_attrs.update(attrs)


class _Draw(NamedTuple):
    """A trial's family, its builder's parameters and its training configuration."""

    family: str
    model_params: dict[str, Any]
    config: TrainConfig


def _draw(trial: optuna.Trial, plan: Plan) -> _Draw:
    """Suggest the family, its space and the shared training space."""
    family = trial.suggest_categorical("family", list(plan.family_names))
    space = plan.space(family)
    model_params = {s.name: _suggest(trial, f"{family}.{s.name}", s) for s in space.params}
    model_params.update(space.fixed)
    shared = {s.name: _suggest(trial, s.name, s) for s in plan.shared.params}
    shared = {**plan.shared.fixed, **shared}
    return _Draw(family, model_params, train_config(plan.task, shared, plan.seed + trial.number))


class _Outcome(NamedTuple):
    """One trial's training: the run's result, outputs and the seconds spent training."""

    result: TrainResult
    val_out: np.ndarray
    y_val: np.ndarray
    test_out: np.ndarray
    best_epoch: int
    rows: int
    train_s: float
    #: The cross-validation folds the validation figures are out of (None: one split).
    cv_folds: int | None = None


def make_objective(
    prepared: Prepared,
    plan: Plan,
    interrupted: list[int],
    folds: tuple[Fold, ...],
    window: SearchWindow | None = None,
) -> Callable[[optuna.Trial], float | tuple[float, float]]:
    """The study's objective. ``window``: the search's time budget; trials still training
    at its end stop (see :class:`_DeadlineStop`), and each trial is first measured at the
    fidelity its share of the window pays for (see
    :func:`archselect._common.budget.choose_fidelity`).
    """

    def objective(trial: optuna.Trial) -> float | tuple[float, float]:
        try:
            return run_trial(trial, prepared, plan, folds, window)
        except optuna.TrialPruned:
            raise
        except Exception as exc:  # a bad parameter combination, OOM, NaN loss…
            trial.set_user_attr("error", redact(f"{type(exc).__name__}: {exc}")[:500])
            raise
        except KeyboardInterrupt:
            trial.set_user_attr("error", f"interrupted by {_signals.signal_name()}")
            interrupted.append(trial.number)
            raise

    return objective


def run_trial(
    trial: optuna.Trial,
    prepared: Prepared,
    plan: Plan,
    folds: tuple[Fold, ...],
    window: SearchWindow | None,
) -> float | tuple[float, float]:
    """One trial: draw, plan its fidelity from its allowance, train (and cross-validate),
    record every measurement in one storage write; returns the objective value(s).

    Besides the figures, the trial records its compute: ``share_s`` (its allowance),
    ``core_s`` (CPU seconds of this process over the trial: its core-seconds with one
    thread) and ``overhead_s`` (wall seconds not spent training: probe, predictions,
    latency, bookkeeping).
    """
    _signals.check()  # a stop signal received between trials stops this one at once
    wall0, cpu0 = time.perf_counter(), time.process_time()
    start_attrs: dict[str, Any] = {"worker": WORKER_ID}
    if trial.user_attrs.get("error") is not None:  # a retry starts with a clean record
        start_attrs["error"] = None
    write_attrs(trial, start_attrs)
    draw = _draw(trial, plan)
    net = build_network(
        prepared.preprocessing, draw.family, draw.model_params, seed=draw.config.seed
    )
    allowance = _allowance(window, trial.study, draw.family, prepared)
    plan_attrs: dict[str, Any] = {"family": draw.family, "threads": torch.get_num_threads()}
    if allowance.refused is not None:
        write_attrs(trial, {**plan_attrs, "note": allowance.refused})
        trial.study.stop()  # the search is over for this process
        raise optuna.TrialPruned(allowance.refused)
    fidelity = _fidelity(prepared, net, draw.config, max(1, len(folds)), allowance)
    if allowance.seconds is not None:  # measured against a time budget
        plan_attrs.update(fidelity=fidelity.to_dict(), share_s=round(allowance.seconds, 3))
    if fidelity.note() is not None:
        plan_attrs["note"] = fidelity.note()
    write_attrs(trial, plan_attrs)
    if fidelity.too_slow:
        raise optuna.TrialPruned(fidelity.note())
    outcome = _train_trial(trial, prepared, plan, folds, window, draw, net, allowance, fidelity)
    pre = prepared.preprocessing
    latency_b1 = measure_latency(
        net, pre.input_shape, batch_sizes=(1,), example=prepared.x_val[:1]
    )[1]
    attrs = _measured_attrs(prepared, plan, outcome, latency_b1)
    _keep_weights(trial, draw.family, net, float(attrs["val_metric"]), plan.direction)
    attrs["core_s"] = round(time.process_time() - cpu0, 3)
    attrs["overhead_s"] = round(max(0.0, time.perf_counter() - wall0 - outcome.train_s), 3)
    write_attrs(trial, attrs)
    if plan.multi_objective:
        return attrs["val_metric"], latency_b1
    return float(attrs["val_metric"])


def _train_trial(
    trial: optuna.Trial,
    prepared: Prepared,
    plan: Plan,
    folds: tuple[Fold, ...],
    window: SearchWindow | None,
    draw: _Draw,
    net: torch.nn.Module,
    allowance: _Allowance,
    fidelity: Fidelity,
) -> _Outcome:
    """Train the trial's network (its first run; then the other folds when the study
    cross-validates and the fidelity keeps every fold), pruning or stopping at each epoch."""
    pre = prepared.preprocessing
    stop_at_deadline = _DeadlineStop(trial, draw.family, window.end if window else None)
    trial_folds = () if fidelity.single_split else folds
    runs = max(1, len(trial_folds))
    per_run = None if allowance.seconds is None else allowance.seconds / runs
    limits = _Limits(fidelity.epochs, per_run, allowance.clock)
    report = _reporter(trial, plan, stop_at_deadline, len(trial_folds))
    rows = _subsample(len(prepared.x_train), fidelity.rows, draw.config.seed)
    result = train_network(
        net,
        prepared.x_train[rows],
        prepared.y_train[rows],
        prepared.x_val,
        prepared.y_val,
        draw.config,
        on_epoch=report,
        target_std=pre.target_std,
        max_epochs=limits.max_epochs,
        time_limit_s=limits.time_limit_s,
        limit_clock=limits.clock,
    )
    train_s = result.train_time_s
    val_out = predict_outputs(net, prepared.x_val)
    test_out = predict_outputs(net, prepared.x_test)
    best_epoch, y_val = result.best_epoch, prepared.y_val
    if trial_folds:
        val_out, y_val, best_epoch, folds_s = _cross_validate(
            prepared,
            trial_folds,
            draw.family,
            draw.model_params,
            draw.config,
            val_out,
            result.best_epoch,
            stop_at_deadline,
            limits=limits,
            rows=fidelity.rows,
        )
        train_s += folds_s
        val_metric = score(plan.task, val_out, y_val, pre.target_std)
        result = dataclasses.replace(result, val_metric=val_metric)
    return _Outcome(
        result, val_out, y_val, test_out, best_epoch, len(rows), train_s, len(trial_folds) or None
    )


def weights_file(folder: str | Path, number: int) -> Path:
    """Where trial ``number``'s weights are kept in the run's weights folder."""
    return Path(folder) / f"trial_{number}.pt"


def _keep_weights(
    trial: optuna.Trial, family: str, net: torch.nn.Module, value: float, direction: str
) -> None:
    """Save the trial's weights (its ``state_dict``) when it is its family's best so far
    and the run keeps weights (``ATTR_WEIGHTS``: a folder on this machine), so the final
    model can be the best trial's own network instead of a refit the budget cannot pay
    for (:mod:`archselect.run._refit`)."""
    folder = trial.study.user_attrs.get(ATTR_WEIGHTS)
    if not folder or not Path(folder).is_dir():
        return  # no time budget, or a worker on another machine
    sign = 1.0 if direction == "maximize" else -1.0
    done = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    best = [
        sign * t.values[0]
        for t in done
        if t.params.get("family") == family and t.values and t.number != trial.number
    ]
    if best and sign * value < max(best):
        return
    tmp = weights_file(folder, trial.number).with_suffix(".tmp")
    torch.save(net.state_dict(), tmp)
    tmp.replace(weights_file(folder, trial.number))


def _reporter(
    trial: optuna.Trial, plan: Plan, stop_at_deadline: _DeadlineStop, n_folds: int
) -> Callable[[int, float], bool]:
    """The epoch hook of a trial's first run: deadline, then Optuna's pruner."""

    def report(epoch: int, value: float) -> bool:
        fold = f", fold 1 of {n_folds}" if n_folds else ""
        try:
            if stop_at_deadline(f"epoch {epoch + 1}{fold}"):
                return True
        except optuna.TrialPruned:
            trial.set_user_attr("epochs", epoch + 1)
            raise
        if plan.multi_objective:  # Optuna cannot prune multi-objective trials
            return False
        trial.report(value, epoch)
        if trial.should_prune():
            trial.set_user_attr("epochs", epoch + 1)
            raise optuna.TrialPruned(f"pruned at epoch {epoch + 1} ({value:.4g})")
        return False

    return report


def _measured_attrs(
    prepared: Prepared, plan: Plan, outcome: _Outcome, latency_b1: float
) -> dict[str, Any]:
    """Every figure of a finished trial, as the user attributes :func:`trial_records`
    reads back."""
    pre = prepared.preprocessing
    result, rows = outcome.result, outcome.rows
    attrs: dict[str, Any] = {
        "val_metric": result.val_metric,
        "test_metric": score(plan.task, outcome.test_out, prepared.y_test, pre.target_std),
        "train_metric": result.train_metric,
        "gap": result.gap,
        "train_time_s": result.train_time_s,
        "epochs": result.epochs,
        "best_epoch": outcome.best_epoch,
        "cv_folds": outcome.cv_folds,
        "n_params": result.n_params,
        "peak_memory_mb": result.peak_memory_mb,
        "latency_b1_ms": latency_b1,
        "device": result.device,
        "sec_per_epoch_row": result.train_time_s / max(1, result.epochs * rows),
        "cpu_sec_per_epoch_row": (result.cpu_time_s or 0.0) / max(1, result.epochs * rows),
        "history_val": list(result.history_val),
        "history_train": list(result.history_train),
        "val_scores_b64": encode_scores(
            per_sample_scores(plan.task, outcome.val_out, outcome.y_val)
        ),
    }
    val_out, test_out, y_val = outcome.val_out, outcome.test_out, outcome.y_val
    if plan.task == "classification":
        attrs["val_brier_b64"] = encode_scores(per_sample_brier(val_out, y_val))
        attrs["val_outputs_b64"] = encode_outputs(_softmax(val_out))
        attrs["test_outputs_b64"] = encode_outputs(_softmax(test_out))
    elif pre.forecast is None:  # regression: predictions, in the per-row scores' units
        attrs["val_outputs_b64"] = encode_outputs(val_out, precise=True)
        attrs["test_outputs_b64"] = encode_outputs(test_out, precise=True)
    if pre.forecast is not None:
        attrs.update(_forecast_attrs(prepared, val_out, test_out))
    return attrs


def _cross_validate(
    prepared: Prepared,
    folds: tuple[Fold, ...],
    family: str,
    model_params: dict[str, Any],
    config: TrainConfig,
    first_val_out: np.ndarray,
    first_best_epoch: int,
    stop_at_deadline: Callable[[str], bool] | None = None,
    *,
    limits: _Limits | None = None,
    rows: int | None = None,
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Train folds 1.. of ``folds`` (fold 0 is the trial's own run, given by its outputs).

    ``stop_at_deadline`` is called after every epoch, as ``stop_at_deadline(where)``, and may
    raise to stop the trial or return True to end that fold's training there. ``limits``
    (``max_epochs``, ``time_limit_s``) and ``rows`` (training rows per fold) are the
    trial's fidelity, applied to every fold.

    Returns every pooled row's validation output from the fold that held it out, the pooled
    targets, the median best epoch over the folds (what the final refit trains for) and the
    seconds folds 1.. spent training.
    """
    pre = prepared.preprocessing
    x, y = prepared.pooled
    best = [first_best_epoch]
    spent = [0.0]

    def fit_predict(i: int, fold: Fold) -> np.ndarray:
        fold_config = dataclasses.replace(config, seed=config.seed + i)
        net = build_network(pre, family, model_params, seed=fold_config.seed)

        def on_epoch(epoch: int, value: float) -> bool:
            if stop_at_deadline is None:
                return False
            return stop_at_deadline(f"epoch {epoch + 1}, fold {i + 1} of {len(folds)}")

        train = fold.train[_subsample(len(fold.train), rows, fold_config.seed)]
        result = train_network(
            net,
            x[train],
            y[train],
            x[fold.val],
            y[fold.val],
            fold_config,
            on_epoch=on_epoch,
            target_std=pre.target_std,
            max_epochs=limits.max_epochs if limits else None,
            time_limit_s=limits.time_limit_s if limits else None,
            limit_clock=limits.clock if limits else time.perf_counter,
        )
        best.append(result.best_epoch)
        spent[0] += result.train_time_s
        return predict_outputs(net, x[fold.val])

    out = out_of_fold(folds, first_val_out, fit_predict)
    return out, y, max(1, round(float(np.median(best)))), spent[0]


def _forecast_attrs(
    prepared: Prepared, val_out: np.ndarray, test_out: np.ndarray
) -> dict[str, Any]:
    """MAE and MASE next to the RMSE, and the test-period forecast for the report's plot."""
    pre = prepared.preprocessing
    assert pre.forecast is not None
    extra: dict[str, float] = {}
    for part, out, y in (("val", val_out, prepared.y_val), ("test", test_out, prepared.y_test)):
        m = _forecast.forecast_metrics(out, y, pre.target_std, pre.forecast.mase_scale)
        extra.update({f"{part}_{k}": v for k, v in m.items()})
    tiled = _forecast.tile(prepared.plot_outputs(test_out), pre.forecast.horizon).reshape(1, -1)
    return {
        "extra_metrics": extra,
        "test_forecast": [float(v) for v in pre.decode_output(tiled)[0]],
    }


def trial_records(study: optuna.Study) -> list[TrialRecord]:
    """Every trial of the study as a :class:`TrialRecord`, by number."""
    records = []
    fields = set(TrialRecord.__dataclass_fields__)
    by_length = study.user_attrs.get(LENGTH_LATENCY_ATTR, {})
    by_batch = study.user_attrs.get(BATCH_LATENCY_ATTR, {})
    for t in study.get_trials(deepcopy=False):
        if t.state == optuna.trial.TrialState.WAITING:
            continue  # a queued slot, not a trial yet
        attrs = {k: v for k, v in t.user_attrs.items() if k in fields}
        attrs.update(by_length.get(str(t.number), {}))
        attrs.update(by_batch.get(str(t.number), {}))
        attrs["history_val"] = tuple(attrs.get("history_val") or t.intermediate_values.values())
        duration = t.duration.total_seconds() if t.duration else None
        done = t.datetime_complete.timestamp() if t.datetime_complete else None
        records.append(
            TrialRecord.from_dict(
                {
                    **attrs,
                    "number": t.number,
                    "family": str(t.params.get("family", attrs.get("family", "?"))),
                    "state": t.state.name,
                    "params": dict(t.params),
                    "duration_s": duration,
                    "completed_unix": done,
                }
            )
        )
    return sorted(records, key=lambda r: r.number)
