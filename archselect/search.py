"""Stage 5 — search: one Optuna study over every planned family, fair shares first.

This is the only module that touches ``optuna.Trial``. Each trial picks a family
(the first ``share_per_family`` trials of each family are enqueued round-robin so
every family gets its share before the sampler concentrates), samples that family's
space plus the shared training space, trains through :mod:`archselect.train`, and
stores every measurement as trial user attributes.

After the search, each family's best trial on sequence data is rebuilt for sequences
1x, 2x and 4x as long as the data's and timed at batch 1 (the parallelism claim:
recurrent nets step through time, convolutions do not); those figures live in the
study's user attribute ``LENGTH_LATENCY_ATTR`` and are merged into the trial records.

With ``plan.objectives == (metric, "latency")`` the study is multi-objective (the metric
and milliseconds per sample at batch 1); Optuna cannot prune such trials, so every trial
runs to its early stop.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
import math
import os
import socket
import sqlite3
import threading
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import optuna
import sqlalchemy
import sqlalchemy.exc
import torch
from sqlalchemy.engine import Engine

from archselect import _forecast, _signals
from archselect._budget import Clock, Fidelity, SearchWindow, choose_fidelity, search_window
from archselect._errors import UsageError
from archselect._secrets import mask_url, redact, remember_url
from archselect._serde import JsonRecord
from archselect.baselines import BaselineResult, run_baselines
from archselect.core.records import ALL_FAMILIES as ALL_FAMILIES
from archselect.core.records import CUT_SHORT_NOTE, DEADLINE_NOTE, SearchResult, TrialRecord
from archselect.core.records import best_by_family as best_by_family
from archselect.models import create_model
from archselect.plan import Plan
from archselect.prepare import Fold, Prepared, Preprocessing, cross_folds, out_of_fold
from archselect.profile import Profile
from archselect.spaces import ParamSpec
from archselect.train import (
    TrainConfig,
    effective_config,
    measure_latency,
    per_sample_brier,
    per_sample_scores,
    predict_outputs,
    probe_epoch_seconds,
    score,
    seed_all,
    train_network,
)

__all__ = [
    "DEADLINE_NOTE",
    "STUDY_NAME",
    "BudgetSpent",
    "SearchResult",
    "StudyRecipe",
    "TrialRecord",
    "close_storage",
    "collect_result",
    "finish_search",
    "load_recipe",
    "mask_url",
    "open_study",
    "param_importances",
    "prepare_study",
    "resume_conflicts",
    "run_search",
    "run_trials",
    "set_window",
    "storage_url",
    "trial_records",
]

STUDY_NAME = "archselect"
#: Seconds between heartbeats of a running trial; a trial silent for HEARTBEAT_GRACE_S
#: (its process died) is failed and retried once. Both can be set through the environment
#: variables below (every process of a study should use the same values).
HEARTBEAT_S = 10
HEARTBEAT_GRACE_S = 30
HEARTBEAT_ENV = "ARCHSELECT_HEARTBEAT_S"
GRACE_ENV = "ARCHSELECT_GRACE_S"
#: A stale trial (its process died) is retried this many times by another worker.
STALE_RETRIES = 1
#: SQLite waits this long for a lock instead of failing with "database is locked".
SQLITE_TIMEOUT_S = 60
#: Study user attributes written by archselect.
ATTR_RECIPE = "archselect.recipe"
ATTR_SLOTS = "archselect.slots"
ATTR_SLOT = "archselect.slot"
ATTR_BASELINES = "baselines"
#: The search's time window (:class:`archselect._budget.SearchWindow`), set by each run.
ATTR_WINDOW = "archselect.window"
#: Folds the study scores its trials on (0: one validation split), fixed when it begins.
ATTR_CV_FOLDS = "archselect.cv_folds"
#: Recipes larger than this (MySQL TEXT holds 64 KiB) are stored zlib-compressed.
MAX_PLAIN_RECIPE_CHARS = 60_000
#: Version of the recipe a study records (a worker refuses a newer one).
RECIPE_FORMAT = 1
#: Pruning: median over the same family's trials, after this many trials and epochs.
PRUNE_STARTUP_TRIALS = 2
PRUNE_WARMUP_EPOCHS = 10
#: Validation rows whose per-row scores are kept per trial (for the bootstrap).
MAX_STORED_SCORES = 8192
#: Which process ran a trial (stored with it): ``host:pid``.
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
#: Random trials before TPE models the space.
TPE_STARTUP_TRIALS = 8
#: Sequence-length multiples at which each family's best trial is timed (sequence data).
LENGTH_MULTIPLES = (1, 2, 4)
#: Study user attribute holding ``{trial number: [ms at 1T, 2T, 4T]}``.
LENGTH_LATENCY_ATTR = "length_latency"
#: Timed runs per length (the minimum is kept).
LENGTH_REPEATS = 15
#: Parameter importances need at least this many complete trials (per group).
MIN_IMPORTANCE_TRIALS = 2



def configure_optuna() -> None:
    """Quiet optuna and hook archselect's SQLite transactions, where a study storage is made.

    Called by :func:`make_storage` (every study archselect opens goes through it), so that
    importing this module changes nothing process-wide: optuna's log level (warnings only),
    its ``ExperimentalWarning`` for the trial heartbeats archselect uses on purpose, and the
    SQLAlchemy ``begin``/``commit``/``rollback`` hooks (:func:`_begin_immediate`; they act on
    archselect's own SQLite connections only). Idempotent.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    for name, hook in (
        ("begin", _begin_immediate),
        ("commit", _end_transaction),
        ("rollback", _end_transaction),
    ):
        if not sqlalchemy.event.contains(Engine, name, hook):
            sqlalchemy.event.listen(Engine, name, hook)


def storage_url(run_dir: Path, storage: str | None) -> str:
    """The study's storage: ``--storage`` if given, else ``RUN_DIR/study.db``."""
    return storage or f"sqlite:///{(run_dir / 'study.db').resolve()}"


class _ImmediateSqlite(sqlite3.Connection):
    """A SQLite connection for parallel processes: WAL journal, every transaction immediate.

    pysqlite opens transactions lazily and SQLite cannot upgrade a reader to a writer while
    another process writes, which fails at once with "database is locked" (the busy timeout
    does not apply to that case). Here SQLAlchemy's ``begin`` issues ``BEGIN IMMEDIATE``
    (see :func:`_begin_immediate`), so each transaction takes the write lock first and
    waits up to :data:`SQLITE_TIMEOUT_S` for it; WAL lets readers (optuna-dashboard) work
    while a worker writes, and keeps Optuna's read-then-update steps (claiming a queued
    trial, failing a stale one) atomic across processes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.isolation_level = None  # transactions are begun by _begin_immediate
        self.execute("PRAGMA journal_mode=WAL")
        self.execute("PRAGMA synchronous=NORMAL")


#: Per thread, the archselect SQLite connections with an open transaction.
_open_transactions = threading.local()


def _sqlite_of(conn: sqlalchemy.Connection) -> _ImmediateSqlite | None:
    dbapi = conn.connection.dbapi_connection
    return dbapi if isinstance(dbapi, _ImmediateSqlite) else None


def _begin_immediate(conn: sqlalchemy.Connection) -> None:
    """``BEGIN IMMEDIATE`` — or a plain ``BEGIN`` for a transaction nested inside another of
    the same thread (Optuna reads through a second connection while the first is open; an
    immediate one would wait for the lock its own thread holds)."""
    dbapi = _sqlite_of(conn)
    if dbapi is None:
        return
    held: set[int] = _open_transactions.__dict__.setdefault("ids", set())
    conn.exec_driver_sql("BEGIN" if held else "BEGIN IMMEDIATE")
    held.add(id(dbapi))


def _end_transaction(conn: sqlalchemy.Connection) -> None:
    dbapi = _sqlite_of(conn)
    if dbapi is not None:
        _open_transactions.__dict__.setdefault("ids", set()).discard(id(dbapi))


class BudgetSpent(Exception):
    """Raised instead of creating a trial beyond the study's trial budget."""


class _SlotStorage(optuna.storages.RDBStorage):
    """RDBStorage in which, for a trial budget, workers only run the queued trial slots.

    ``fit`` enqueues exactly ``--trials`` WAITING trials (the fair-share ones first);
    Optuna claims a WAITING trial atomically (``SELECT … FOR UPDATE``), so any number of
    workers on any number of machines run exactly the budget, with no duplicate numbers.
    A stale trial's retry is enqueued by Optuna's heartbeat callback and claimed the same
    way. When no slot is left, ``ask`` raises :class:`BudgetSpent` instead of creating one.
    """

    slots_only = False

    def _create_new_trial(
        self, study_id: int, template_trial: optuna.trial.FrozenTrial | None = None
    ) -> optuna.trial.FrozenTrial:
        if template_trial is None and self.slots_only:
            raise BudgetSpent("every trial of the budget is taken")
        return super()._create_new_trial(study_id, template_trial)


def _env_seconds(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(
            f"${name}={raw!r} is not a whole number of seconds >= 1; fix or unset it."
        )
    return value


def make_storage(url: str) -> _SlotStorage:
    """The Optuna storage for ``url``, with heartbeats and a safe SQLite setup.

    Raises:
        UsageError: The URL is malformed or the database cannot be reached (the message
            never contains the password).

    Example:
        >>> s = make_storage("sqlite:///:memory:")  # doctest: +SKIP
    """
    configure_optuna()
    remember_url(url)
    engine_kwargs: dict[str, Any]
    if url.startswith("sqlite"):
        engine_kwargs = {
            "connect_args": {"timeout": SQLITE_TIMEOUT_S, "factory": _ImmediateSqlite}
        }
    else:
        engine_kwargs = {"pool_pre_ping": True}
    heartbeat = _env_seconds(HEARTBEAT_ENV, HEARTBEAT_S)
    grace = max(_env_seconds(GRACE_ENV, HEARTBEAT_GRACE_S), heartbeat + 1)
    try:
        return _SlotStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat,
            grace_period=grace,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=STALE_RETRIES
            ),
        )
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        reason = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        raise UsageError(
            f"cannot open the study storage {mask_url(url)} ({type(exc).__name__}: {reason}); "
            "check the URL, that the database exists and that its driver is installed."
        ) from None


def _sampler(plan: Plan, seed: int | None) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(
        seed=plan.seed if seed is None else seed,
        multivariate=True,
        group=True,
        n_startup_trials=TPE_STARTUP_TRIALS,
    )


def open_study(
    url: str,
    plan: Plan,
    *,
    study_name: str = STUDY_NAME,
    enqueue: bool = True,
    sampler_seed: int | None = None,
) -> optuna.Study:
    """Create or load the study (resuming), with heartbeats and a seeded TPE sampler.

    With ``enqueue`` (the process that owns the run), the trial slots of the budget are
    queued: the fair-share trials first, then open slots up to ``plan.n_trials``.
    """
    storage = make_storage(url)
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    if plan.pruning:
        pruner = _FamilyPruner(
            optuna.pruners.MedianPruner(
                n_startup_trials=PRUNE_STARTUP_TRIALS, n_warmup_steps=PRUNE_WARMUP_EPOCHS
            )
        )
    directions = [plan.direction] + ["minimize"] * (len(plan.objectives) - 1)
    study = optuna.create_study(
        storage=storage,
        sampler=_sampler(plan, sampler_seed),
        pruner=pruner,
        study_name=study_name,
        directions=directions,  # type: ignore[arg-type]
        load_if_exists=True,
    )
    if len(study.directions) != len(directions):
        stored = study.user_attrs.get("objectives") or ["?"] * len(study.directions)
        raise UsageError(
            f"Study {study_name!r} was created with objectives {','.join(stored)}; rerun "
            f"with --objectives {','.join(stored)} or use another --out/--study."
        )
    if "objectives" not in study.user_attrs:
        study.set_user_attr("objectives", list(plan.objectives or (plan.metric,)))
    if enqueue:
        _enqueue_slots(study, plan)
    storage.slots_only = plan.n_trials is not None
    return study


def default_params(plan: Plan, family: str) -> dict[str, Any]:
    """The flat Optuna params of a family's first trial: its and the shared ``[default]``."""
    space = plan.space(family)
    own = {f"{family}.{k}": v for k, v in space.default.items()}
    return {"family": family, **own, **plan.shared.default}


def _enqueue_slots(study: optuna.Study, plan: Plan) -> None:
    """Queue the budget's slots: each family's default trial, its other fair-share trials
    (family fixed, the rest sampled), then open slots."""
    fair = [f for _ in range(plan.share_per_family) for f in plan.family_names]
    have = int(study.user_attrs.get(ATTR_SLOTS, 0))
    want = len(fair) if plan.n_trials is None else plan.n_trials
    for slot in range(have, want):
        params: dict[str, Any] = {}
        if slot < len(plan.family_names):
            params = default_params(plan, fair[slot])
        elif slot < len(fair):
            params = {"family": fair[slot]}
        study.enqueue_trial(params, user_attrs={ATTR_SLOT: slot}, skip_if_exists=False)
        study.set_user_attr(ATTR_SLOTS, slot + 1)


@dataclass(frozen=True)
class StudyRecipe(JsonRecord):
    """What a worker needs to join a study: where the data is, its hash, profile and plan."""

    format_version: int
    data_path: str | None
    data_sha256: str
    seed: int
    profile: Profile
    plan: Plan


def _encode_recipe(recipe: StudyRecipe) -> Any:
    text = recipe.to_json()
    if len(text) <= MAX_PLAIN_RECIPE_CHARS:
        return recipe.to_dict()
    return {"zlib_b64": base64.b64encode(zlib.compress(text.encode())).decode()}


def load_recipe(study: optuna.Study) -> StudyRecipe:
    """The recipe a study records (written by ``fit``).

    Raises:
        UsageError: The study was not created by ``archselect fit`` or by a newer version.
    """
    raw = study.user_attrs.get(ATTR_RECIPE)
    if not isinstance(raw, dict):
        raise UsageError(
            f"study {study.study_name!r} records no archselect recipe; start it with "
            "`archselect fit DATA --storage URL` first."
        )
    if "zlib_b64" in raw:
        raw = json.loads(zlib.decompress(base64.b64decode(raw["zlib_b64"])))
    if int(raw.get("format_version", 0)) > RECIPE_FORMAT:
        raise UsageError(
            f"study {study.study_name!r} was written by a newer archselect; upgrade archselect "
            "on this machine."
        )
    return StudyRecipe.from_dict(raw)


def study_identity(profile: Profile, plan: Plan) -> dict[str, Any]:
    """What a resumed study must share with the run that began it: with another target,
    task, input, metric or family list its trials would not be comparable (and Optuna's
    family choice would change under the sampler)."""
    return {
        "target": profile.target,
        "task": plan.task,
        "layout": plan.layout,
        "input shape": list(profile.input_shape),
        "classes": list(profile.classes),
        "objectives": list(plan.objectives or (plan.metric,)),
        "families": sorted(plan.family_names),
    }


def resume_conflicts(url: str, study_name: str, profile: Profile, plan: Plan) -> list[str]:
    """How the study stored as ``study_name`` at ``url`` differs from this run, in words
    (``"task regression, now classification"``); empty when there is no such study, or when
    this run can resume it."""
    storage = make_storage(url)
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
        raw = study.user_attrs.get(ATTR_RECIPE)
        old = load_recipe(study) if isinstance(raw, dict) else None
    except KeyError:
        old = None
    finally:
        storage.engine.dispose()  # a refused resume leaves no open database behind
    if old is None:
        return []
    before, now = study_identity(old.profile, old.plan), study_identity(profile, plan)

    def text(v: Any) -> str:
        return ",".join(map(str, v)) if isinstance(v, list) else str(v)

    return [f"{k} {text(before[k])}, now {text(now[k])}" for k in now if before[k] != now[k]]


def prepare_study(
    prepared: Prepared,
    plan: Plan,
    *,
    storage: str,
    study_name: str = STUDY_NAME,
    recipe: StudyRecipe | None = None,
    baseline_deadline: float | None = None,
) -> optuna.Study:
    """Create (or resume) the study, queue the budget, record the recipe, fit baselines once.

    ``baseline_deadline`` (a ``time.time()`` value): no baseline starts after it.

    Example:
        See :func:`archselect.fit`, which prepares the arguments.
    """
    study = open_study(storage, plan, study_name=study_name)
    folds = study_folds(study, prepared, plan)  # fixed now, before any worker joins
    if recipe is not None:
        study.set_user_attr(ATTR_RECIPE, _encode_recipe(recipe))
    if ATTR_BASELINES not in study.user_attrs:
        with _signals.interruptible():  # scikit-learn only: a stop may land anywhere
            baselines = run_baselines(
                prepared, plan.baselines, seed=plan.seed, folds=folds, deadline=baseline_deadline
            )
        study.set_user_attr(ATTR_BASELINES, [b.to_dict() for b in baselines])
    return study


class _FamilyView:
    """A study seen through one family's trials, so pruning compares like with like."""

    def __init__(self, study: optuna.Study, family: str) -> None:
        self._study, self._family = study, family

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def get_trials(
        self, deepcopy: bool = True, states: Any = None
    ) -> list[optuna.trial.FrozenTrial]:
        trials = self._study.get_trials(deepcopy=deepcopy, states=states)
        return [t for t in trials if t.params.get("family") == self._family]


class _FamilyPruner(optuna.pruners.BasePruner):
    def __init__(self, base: optuna.pruners.BasePruner) -> None:
        self._base = base

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        view = _FamilyView(study, trial.params.get("family", ""))
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


def _encode_scores(scores: np.ndarray) -> str:
    return base64.b64encode(scores[:MAX_STORED_SCORES].astype(np.float16).tobytes()).decode()


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


def _family_has_finished(study: optuna.Study, family: str) -> bool:
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return any(t.params.get("family") == family for t in complete)


def _allowance(
    window: SearchWindow | None, study: optuna.Study, family: str
) -> tuple[float | None, bool]:
    """Seconds this trial may take, and whether it is its family's first measurement.

    A family's first trial gets its share of the first round, even when the round runs
    late (so every family is measured); later ones whatever is left of the search.
    """
    first = not _family_has_finished(study, family)
    if window is None:
        return None, first
    return (window.first_share_s if first else max(0.0, window.end - time.time())), first


def _fidelity(
    prepared: Prepared,
    net: torch.nn.Module,
    config: TrainConfig,
    runs: int,
    allowance: float | None,
) -> Fidelity:
    """Probe the network's cost on the training rows; choose what ``allowance`` pays for."""
    if allowance is None:
        return Fidelity()
    x, y = prepared.x_train, prepared.y_train
    epoch_s = probe_epoch_seconds(net, x, y, len(prepared.x_val), config)
    return choose_fidelity(
        epoch_s=epoch_s,
        full_epochs=effective_config(config, len(x)).epochs,
        runs=runs,
        n_rows=len(x),
        allowance_s=allowance,
    )


class _Limits(NamedTuple):
    """A trial's fidelity for each training run: an epoch cap and a time limit."""

    max_epochs: int | None
    time_limit_s: float | None


def _subsample(n: int, rows: int | None, seed: int) -> np.ndarray:
    """Sorted positions of ``rows`` of ``n`` training rows (all of them for None)."""
    if rows is None or rows >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=rows, replace=False))


def _objective(
    prepared: Prepared,
    plan: Plan,
    interrupted: list[int],
    folds: tuple[Fold, ...],
    window: SearchWindow | None = None,
) -> Callable[[optuna.Trial], float | tuple[float, float]]:
    """The study's objective. ``window``: the search's time budget; trials still training
    at its end stop (see :class:`_DeadlineStop`), and each trial is first measured at the
    fidelity its share of the window pays for (see :func:`archselect._budget.choose_fidelity`).
    """
    pre = prepared.preprocessing
    deadline = window.end if window is not None else None

    def objective(trial: optuna.Trial) -> float | tuple[float, float]:
        try:
            return run_trial(trial)
        except optuna.TrialPruned:
            raise
        except Exception as exc:  # a bad parameter combination, OOM, NaN loss…
            trial.set_user_attr("error", redact(f"{type(exc).__name__}: {exc}")[:500])
            raise
        except KeyboardInterrupt:
            trial.set_user_attr("error", f"interrupted by {_signals.signal_name()}")
            interrupted.append(trial.number)
            raise

    def run_trial(trial: optuna.Trial) -> float | tuple[float, float]:
        _signals.check()  # a stop signal received between trials stops this one at once
        trial.set_user_attr("worker", WORKER_ID)
        if trial.user_attrs.get("error") is not None:  # a retry starts with a clean record
            trial.set_user_attr("error", None)
        family = trial.suggest_categorical("family", list(plan.family_names))
        space = plan.space(family)
        model_params = {s.name: _suggest(trial, f"{family}.{s.name}", s) for s in space.params}
        model_params.update(space.fixed)
        shared = {s.name: _suggest(trial, s.name, s) for s in plan.shared.params}
        shared = {**plan.shared.fixed, **shared}
        trial.set_user_attr("family", family)
        config = train_config(plan.task, shared, plan.seed + trial.number)
        stop_at_deadline = _DeadlineStop(trial, family, deadline)

        net = build_network(pre, family, model_params, seed=config.seed)
        allowance, first = _allowance(window, trial.study, family)
        if allowance is not None and allowance <= 0 and not first:
            note = f"{DEADLINE_NOTE} (before it started)"
            trial.set_user_attr("note", note)
            raise optuna.TrialPruned(note)
        runs = max(1, len(folds))
        fidelity = _fidelity(prepared, net, config, runs, allowance)
        if allowance is not None:  # measured against a time budget
            trial.set_user_attr("fidelity", fidelity.to_dict())
        trial.set_user_attr("threads", torch.get_num_threads())
        if fidelity.note() is not None:
            trial.set_user_attr("note", fidelity.note())
        if fidelity.too_slow:
            raise optuna.TrialPruned(fidelity.note())
        trial_folds = () if fidelity.single_split else folds
        runs = max(1, len(trial_folds))
        limits = _Limits(fidelity.epochs, None if allowance is None else allowance / runs)

        def report(epoch: int, value: float) -> bool:
            fold = f", fold 1 of {len(trial_folds)}" if trial_folds else ""
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

        rows = _subsample(len(prepared.x_train), fidelity.rows, config.seed)
        result = train_network(
            net,
            prepared.x_train[rows],
            prepared.y_train[rows],
            prepared.x_val,
            prepared.y_val,
            config,
            on_epoch=report,
            target_std=pre.target_std,
            max_epochs=limits.max_epochs,
            time_limit_s=limits.time_limit_s,
        )
        val_out = predict_outputs(net, prepared.x_val)
        test_out = predict_outputs(net, prepared.x_test)
        latency = measure_latency(net, pre.input_shape, example=prepared.x_val[:1])
        val_metric, best_epoch, y_val = result.val_metric, result.best_epoch, prepared.y_val
        if trial_folds:
            val_out, y_val, best_epoch = _cross_validate(
                prepared,
                trial_folds,
                family,
                model_params,
                config,
                val_out,
                result.best_epoch,
                stop_at_deadline,
                limits=limits,
                rows=fidelity.rows,
            )
            val_metric = score(plan.task, val_out, y_val, pre.target_std)
            result = dataclasses.replace(result, val_metric=val_metric)
        attrs = {
            "val_metric": val_metric,
            "test_metric": score(plan.task, test_out, prepared.y_test, pre.target_std),
            "train_metric": result.train_metric,
            "gap": result.gap,
            "train_time_s": result.train_time_s,
            "epochs": result.epochs,
            "best_epoch": best_epoch,
            "cv_folds": len(trial_folds) or None,
            "n_params": result.n_params,
            "peak_memory_mb": result.peak_memory_mb,
            "latency_b1_ms": latency[1],
            "latency_b256_ms": latency[256],
            "device": result.device,
            "sec_per_epoch_row": result.train_time_s / max(1, result.epochs * len(rows)),
            "history_val": list(result.history_val),
            "val_scores_b64": _encode_scores(per_sample_scores(plan.task, val_out, y_val)),
        }
        if plan.task == "classification":
            attrs["val_brier_b64"] = _encode_scores(per_sample_brier(val_out, y_val))
        if pre.forecast is not None:
            attrs.update(_forecast_attrs(prepared, val_out, test_out))
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        if plan.multi_objective:
            return val_metric, latency[1]
        return val_metric

    return objective


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
) -> tuple[np.ndarray, np.ndarray, int]:
    """Train folds 1.. of ``folds`` (fold 0 is the trial's own run, given by its outputs).

    ``stop_at_deadline`` is called after every epoch, as ``stop_at_deadline(where)``, and may
    raise to stop the trial or return True to end that fold's training there. ``limits``
    (``max_epochs``, ``time_limit_s``) and ``rows`` (training rows per fold) are the
    trial's fidelity, applied to every fold.

    Returns every pooled row's validation output from the fold that held it out, the pooled
    targets, and the median best epoch over the folds (what the final refit trains for).
    """
    pre = prepared.preprocessing
    x, y = prepared.pooled
    best = [first_best_epoch]

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
        )
        best.append(result.best_epoch)
        return predict_outputs(net, x[fold.val])

    out = out_of_fold(folds, first_val_out, fit_predict)
    return out, y, max(1, round(float(np.median(best))))


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
    for t in study.get_trials(deepcopy=False):
        if t.state == optuna.trial.TrialState.WAITING:
            continue  # a queued slot, not a trial yet
        attrs = {k: v for k, v in t.user_attrs.items() if k in fields}
        attrs.update(by_length.get(str(t.number), {}))
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


#: Seconds between checks while other workers' trials are still running.
POLL_S = 1.0


def _states(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts


def _fail_own_running(study: optuna.Study, numbers: list[int]) -> None:
    """Fail this process's trial that an interrupt left RUNNING (outside the objective)."""
    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if t.user_attrs.get("worker") == WORKER_ID:
            storage.set_trial_user_attr(
                t._trial_id, "error", f"interrupted by {_signals.signal_name()}"
            )
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
                numbers.append(t.number)


def _requeue(study: optuna.Study, numbers: list[int]) -> None:
    """Queue a retry of each interrupted trial, so rerunning the command runs it again."""
    # Optuna 5's name for the retry callback (RetryFailedTrialCallback is deprecated); it
    # queues a WAITING copy of the trial, its parameters and attributes
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=STALE_RETRIES)
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)):
        if t.number in numbers:
            retry(study, t)


def close_storage(study: optuna.Study) -> None:
    """Close the study's database connections (SQLite then checkpoints its WAL into the
    file, so a copy of ``study.db`` alone holds every trial; servers see no idle session)."""
    storage = study._storage
    backend = getattr(storage, "_backend", storage)
    engine = getattr(backend, "engine", None)
    if engine is not None:
        engine.dispose()


def collect_result(study: optuna.Study, plan: Plan) -> SearchResult:
    """The study's trials and baselines as a :class:`SearchResult` (password masked)."""
    url = getattr(study._storage, "url", None) or getattr(
        getattr(study._storage, "_backend", None), "url", ""
    )
    return SearchResult(
        study_name=study.study_name,
        storage=mask_url(str(url)),
        metric=plan.metric,
        direction=plan.direction,
        trials=tuple(trial_records(study)),
        baselines=tuple(
            BaselineResult.from_dict(b) for b in study.user_attrs.get(ATTR_BASELINES, [])
        ),
        objectives=plan.objectives or (plan.metric,),
    )


def finish_search(study: optuna.Study, prepared: Prepared, plan: Plan) -> SearchResult:
    """After the last trial: time sequence families at longer lengths; return every trial."""
    if plan.layout == "series":
        measure_length_latency(study, prepared, plan)
    return collect_result(study, plan)


def run_search(
    prepared: Prepared,
    plan: Plan,
    *,
    storage: str,
    study_name: str = STUDY_NAME,
    on_trial: Callable[[TrialRecord], None] | None = None,
    max_failures: int | None = None,
    recipe: StudyRecipe | None = None,
    worker: bool = False,
    sampler_seed: int | None = None,
) -> SearchResult:
    """Run (or resume) the study until its budget is spent; return every trial.

    The owner of the run (``worker=False``) creates the study, queues the budget's trial
    slots, records ``recipe`` and fits the baselines once; a worker only joins. Either
    runs queued slots until none is left, then waits for the trials other processes are
    running (failing and retrying those whose process died). Finished trials of an
    earlier run count against ``plan.n_trials``.

    Example:
        See :func:`archselect.fit`, which prepares the arguments.
    """
    if worker:
        study = open_study(
            storage, plan, study_name=study_name, enqueue=False, sampler_seed=sampler_seed
        )
    else:
        study = prepare_study(
            prepared, plan, storage=storage, study_name=study_name, recipe=recipe
        )
        if plan.timeout_s is not None:
            window = search_window(
                Clock(plan.timeout_s), n_families=len(plan.family_names), workers=1, reserve=0.0
            )
            assert window is not None
            set_window(study, window)
    run_trials(study, prepared, plan, on_trial=on_trial, max_failures=max_failures)
    if worker:
        return collect_result(study, plan)
    return finish_search(study, prepared, plan)


def set_window(study: optuna.Study, window: SearchWindow | None) -> None:
    """Record the search's time window in the study, for every trial process to read
    (None: this run has no time budget)."""
    study.set_user_attr(ATTR_WINDOW, None if window is None else window.to_dict())


def _window(study: optuna.Study) -> SearchWindow | None:
    raw = study.user_attrs.get(ATTR_WINDOW)
    return SearchWindow.from_dict(raw) if isinstance(raw, dict) else None


#: Study user attribute: the trials whose configuration has been promoted (re-run with
#: the time left, at full fidelity when it pays for it).
ATTR_PROMOTED = "archselect.promoted"


def promote(study: optuna.Study, plan: Plan) -> list[int]:
    """Successive halving over the families' first measurements: once every planned family
    has a result (or a measured "too slow"), the best configuration of each family in the
    better half that was measured at reduced fidelity is queued again, to be trained with
    the time that is left. Returns the numbers of the trials promoted now.
    """
    records = trial_records(study)
    measured = {r.family for r in records if r.state in ("COMPLETE", "PRUNED")}
    if not set(plan.family_names) <= measured:
        return []
    interim = SearchResult("", "", plan.metric, plan.direction, tuple(records), ())
    sign = 1.0 if plan.direction == "maximize" else -1.0
    ranked = sorted(best_by_family(interim).values(), key=lambda r: -sign * (r.val_metric or 0))
    done = set(study.user_attrs.get(ATTR_PROMOTED, []))
    now = []
    for rec in ranked[: math.ceil(len(ranked) / 2)]:
        if rec.number in done or not rec.fidelity or Fidelity.from_dict(rec.fidelity).full:
            continue
        study.enqueue_trial(rec.params, user_attrs={"promoted_from": rec.number})
        now.append(rec.number)
    if now:
        study.set_user_attr(ATTR_PROMOTED, sorted(done | set(now)))
    return now


def run_trials(
    study: optuna.Study,
    prepared: Prepared,
    plan: Plan,
    *,
    on_trial: Callable[[TrialRecord], None] | None = None,
    max_failures: int | None = None,
) -> None:
    """Run the study's queued slots (and, with a time budget, new trials until its window
    ends), then wait for trials other processes are running."""
    failures = 0
    stopped = False

    def notify(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
        nonlocal failures, stopped
        if _signals.received is not None:  # stop between trials; the loop below raises
            study.stop()
            return
        if window is not None and plan.n_trials is None:
            promote(study, plan)
        if frozen.state == optuna.trial.TrialState.FAIL:
            failures += 1
            if max_failures is not None and failures >= max_failures:
                stopped = True
                study.stop()
        if on_trial is not None:
            rec = next((r for r in trial_records(study) if r.number == frozen.number), None)
            if rec is not None:
                on_trial(rec)

    interrupted: list[int] = []
    window = _window(study)
    deadline = None if window is None else window.end
    objective = _objective(prepared, plan, interrupted, study_folds(study, prepared, plan), window)
    logging.getLogger("optuna").setLevel(logging.ERROR)
    try:
        while not stopped:
            _signals.check()
            left = None if deadline is None else deadline - time.time()
            if left is not None and left <= 0:
                break
            with contextlib.suppress(BudgetSpent):
                study.optimize(
                    objective,
                    timeout=left,
                    catch=(Exception,),
                    callbacks=[notify],
                    gc_after_trial=True,
                )
            _signals.check()
            if stopped or plan.n_trials is None:
                break
            optuna.storages.fail_stale_trials(study)
            counts = _states(study)
            if counts.get("WAITING"):
                continue
            if not counts.get("RUNNING"):
                break
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        _fail_own_running(study, interrupted)
        _requeue(study, interrupted)
        raise


@torch.no_grad()
def length_latency(
    nets: dict[int, torch.nn.Module], shape: tuple[int, int], repeats: int = LENGTH_REPEATS
) -> dict[int, float]:
    """Batch-1 latency (ms) of ``nets[m]`` on a ``(m * T, C)`` sequence, for each ``m``.

    The lengths are timed round-robin and the minimum of ``repeats`` runs is kept, so load
    from other processes affects every length alike and inflates none.
    """
    t_len, channels = shape
    inputs = {m: torch.randn(1, m * t_len, channels) for m in nets}
    best = {m: math.inf for m in nets}
    for m, net in nets.items():
        net.eval()(inputs[m])  # warm-up
    for _ in range(repeats):
        for m, net in nets.items():
            t0 = time.perf_counter()
            net(inputs[m])
            best[m] = min(best[m], time.perf_counter() - t0)
    return {m: v * 1000.0 for m, v in best.items()}


def measure_length_latency(study: optuna.Study, prepared: Prepared, plan: Plan) -> None:
    """Time each family's best trial at sequence lengths T, 2T, 4T (batch 1, per sample).

    The architecture is rebuilt from the trial's parameters for each length (latency does
    not depend on the trained weights); families whose builder is tied to the length (the
    MLP) are built for the longer input. Figures are stored once per trial in the study's
    ``LENGTH_LATENCY_ATTR`` user attribute, so a resumed run measures only new best trials.
    """
    pre = prepared.preprocessing
    if len(pre.input_shape) != 2:
        return
    t_len, channels = pre.input_shape
    stored: dict[str, dict[str, Any]] = dict(study.user_attrs.get(LENGTH_LATENCY_ATTR, {}))
    interim = SearchResult("", "", plan.metric, plan.direction, tuple(trial_records(study)), ())
    changed = False
    for rec in best_by_family(interim).values():
        if str(rec.number) in stored or rec.family not in plan.family_names:
            continue
        family, model_params, _ = split_params(rec.params)
        nets: dict[int, torch.nn.Module] = {}
        for mult in LENGTH_MULTIPLES:
            try:
                nets[mult] = create_model(
                    family,
                    input_shape=(int(t_len) * mult, int(channels)),
                    n_outputs=len(pre.classes) or 1,
                    **{**model_params, **plan.space(family).fixed},
                )
            except Exception:  # a family that cannot take this length: no figure
                continue
        timed = length_latency(nets, (int(t_len), int(channels)))
        entry: dict[str, Any] = {"seq_len": int(t_len)}
        entry.update({f"latency_len{m}x_ms": timed.get(m) for m in LENGTH_MULTIPLES})
        stored[str(rec.number)] = entry
        changed = True
    if changed:
        study.set_user_attr(LENGTH_LATENCY_ATTR, stored)


def _group_importances(
    trials: list[optuna.trial.FrozenTrial],
    directions: list[optuna.study.StudyDirection],
    drop: tuple[str, ...],
    seed: int,
) -> dict[str, float]:
    """fANOVA importances of the parameters every trial of the group has and varies."""
    if len(trials) < MIN_IMPORTANCE_TRIALS:
        return {}
    common = set.intersection(*(set(t.params) for t in trials)) - set(drop)
    params = sorted(p for p in common if len({repr(t.params[p]) for t in trials}) > 1)
    if not params:
        return {}
    view = optuna.create_study(directions=directions)
    view.add_trials(trials)
    result = optuna.importance.get_param_importances(
        view,
        evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed),
        params=params,
        target=lambda t: float(t.values[0]),
    )
    return {k: float(v) for k, v in result.items() if math.isfinite(v)}


def param_importances(
    storage: str, *, study_name: str = STUDY_NAME, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Parameter importances (fANOVA, normalised to sum 1) of the finished trials.

    ``"all families"`` ranks ``family`` against the shared training parameters over every
    complete trial; each family's entry ranks its own and the shared parameters over its
    trials. Groups with fewer than :data:`MIN_IMPORTANCE_TRIALS` complete trials, or where
    the computation fails, are left out: this never raises.

    Example:
        >>> param_importances("sqlite:///runs/digits/study.db")  # doctest: +SKIP
        {'all families': {'family': 0.61, 'lr': 0.3, ...}, 'cnn2d': {...}}
    """
    log = logging.getLogger(__name__)
    try:
        study = optuna.load_study(study_name=study_name, storage=make_storage(storage))
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        directions = list(study.directions)
        close_storage(study)
    except Exception as exc:  # a damaged or unreachable study: no importances, no crash
        log.warning("parameter importances skipped: %s: %s", type(exc).__name__, redact(str(exc)))
        return {}
    families = sorted({str(t.params.get("family")) for t in complete})
    groups: dict[str, tuple[list[optuna.trial.FrozenTrial], tuple[str, ...]]] = {}
    if len(families) > 1:  # with one family the overall ranking repeats that family's
        groups[ALL_FAMILIES] = (complete, ())
    for family in families:
        own = [t for t in complete if str(t.params.get("family")) == family]
        groups[family] = (own, ("family",))
    out: dict[str, dict[str, float]] = {}
    for name, (trials, drop) in groups.items():
        try:
            values = _group_importances(trials, directions, drop, seed)
        except Exception as exc:  # fANOVA can fail on degenerate trials; skip the group
            log.info("parameter importances of %s skipped: %s", name, exc)
            continue
        if values:
            out[name] = values
    return out
