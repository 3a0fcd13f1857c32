"""The objective: one trial's family, parameters, fidelity, training or cross-validation,
and the trial records read back from the study. The only module that touches
``optuna.Trial``."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import optuna
import torch

from archselect._common import signals as _signals
from archselect._common.budget import (
    Fidelity,
    SearchWindow,
)
from archselect._common.secrets import redact
from archselect.core.metrics import score
from archselect.core.records import ALL_FAMILIES as ALL_FAMILIES
from archselect.core.records import CUT_SHORT_NOTE, DEADLINE_NOTE
from archselect.core.records import best_by_family as best_by_family
from archselect.core.spaces import ParamSpec
from archselect.models import create_model
from archselect.plan import Plan
from archselect.prepare import Fold, Prepared, Preprocessing, cross_folds, out_of_fold
from archselect.search._attrs import (
    _keep_weights,
    _measured_attrs,
    _Outcome,
    write_attrs,
)
from archselect.search._constants import (
    ATTR_CV_FOLDS,
    WORKER_ID,
)
from archselect.search._share import (
    _Allowance,
    _allowance,
    _family_has_finished,
    _fidelity,
    _Limits,
    _subsample,
    at_resolution,
    wait_for_gpu_room,
)
from archselect.search._storage import Batches
from archselect.train import (
    TrainConfig,
    effective_config,
    measure_latency,
    predict_outputs,
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
    if select_device() == "cuda":
        wait_for_gpu_room(trial.study)
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
    if fidelity.resample > 1:  # the resolution fidelity: shorter series, its own network
        prepared = at_resolution(prepared, fidelity.resample)
        net = build_network(
            prepared.preprocessing, draw.family, draw.model_params, seed=draw.config.seed
        )
    outcome = _train_trial(trial, prepared, plan, folds, window, draw, net, allowance, fidelity)
    trained = _trained_fidelity(fidelity, outcome, draw.config)
    pre = prepared.preprocessing
    latency_b1 = measure_latency(
        net, pre.input_shape, batch_sizes=(1,), example=prepared.x_val[:1]
    )[1]
    attrs = _measured_attrs(prepared, plan, outcome, latency_b1)
    if trained != fidelity:  # what the run trained, not what the probe planned
        attrs.update(fidelity=trained.to_dict(), note=trained.note())
    if fidelity.resample > 1:
        attrs["resolution"] = fidelity.steps
    _keep_weights(trial, draw.family, net, float(attrs["val_metric"]), plan.direction)
    attrs["core_s"] = round(time.process_time() - cpu0, 3)
    attrs["overhead_s"] = round(max(0.0, time.perf_counter() - wall0 - outcome.train_s), 3)
    write_attrs(trial, attrs)
    if plan.multi_objective:
        return attrs["val_metric"], latency_b1
    return float(attrs["val_metric"])


def _trained_fidelity(fidelity: Fidelity, outcome: _Outcome, config: TrainConfig) -> Fidelity:
    """The fidelity a trial trained at: a run whose epoch cap came from its probe trains
    while its share lasts (:class:`_Limits`), so its cap is the epochs it trained (none when
    that was its whole schedule; cross-validated, the epochs of its first fold)."""
    if fidelity.epochs is None or fidelity.allowance_s is None:
        return fidelity
    trained = outcome.result.epochs
    full = trained >= effective_config(config, outcome.rows).epochs
    return dataclasses.replace(fidelity, epochs=None if full else trained)


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
    # an epoch cap from the probe: the probe's first batches pay first-use costs (a
    # convolution's first 5 epochs took 7.5 s of a 13.6 s share, probed at 2.15 s each),
    # so the run trains on while its own pace leaves time for another epoch
    # (within what the probe left of the share, less the predictions after training; each
    # fold of a cross-validated trial its part of it: ACSF1's vanilla RNN, capped at 4 epochs
    # a fold, used 7.5 of its 13 core-seconds)
    on = fidelity.epochs is not None and fidelity.allowance_s is not None
    if on and fidelity.allowance_s is not None:
        per_run = fidelity.allowance_s / runs
    limits = _Limits(None if on else fidelity.epochs, per_run, allowance.clock, on)
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
        to_limit=limits.to_limit,
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
            to_limit=limits.to_limit if limits else False,
        )
        best.append(result.best_epoch)
        spent[0] += result.train_time_s
        return predict_outputs(net, x[fold.val])

    out = out_of_fold(folds, first_val_out, fit_predict)
    return out, y, max(1, round(float(np.median(best)))), spent[0]
