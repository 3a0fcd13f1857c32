"""The study: sampler (per-trial seeds over synchronous batches), creation and resume (the
recipe and its identity), trial slots with the warm-start portfolio, and the ``--timeout``
window."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from archselect._common import signals as _signals
from archselect._common.budget import SearchWindow
from archselect._common.serde import JsonRecord
from archselect.baselines import BaselineResult, run_baselines
from archselect.core.records import ALL_FAMILIES as ALL_FAMILIES
from archselect.core.records import best_by_family as best_by_family
from archselect.errors import UsageError
from archselect.plan import Plan
from archselect.prepare import Prepared
from archselect.profile import Profile
from archselect.search._attrs import chance_level
from archselect.search._constants import (
    ATTR_BASELINES,
    ATTR_BATCHES,
    ATTR_CHANCE,
    ATTR_PORTFOLIO,
    ATTR_RECIPE,
    ATTR_SLOT,
    ATTR_SLOTS,
    ATTR_WINDOW,
    BATCH_SIZE,
    MAX_PLAIN_RECIPE_CHARS,
    PRUNE_STARTUP_TRIALS,
    PRUNE_WARMUP_EPOCHS,
    RECIPE_FORMAT,
    STUDY_NAME,
    TPE_STARTUP_TRIALS,
)
from archselect.search._objective import _FamilyPruner, study_folds
from archselect.search._storage import Batches, make_storage, study_batches


def _tpe(seed: int) -> optuna.samplers.TPESampler:
    return optuna.samplers.TPESampler(
        seed=seed,
        multivariate=True,
        group=True,
        n_startup_trials=TPE_STARTUP_TRIALS,
    )


def _sampler(plan: Plan, seed: int | None) -> optuna.samplers.BaseSampler:
    return _tpe(plan.seed if seed is None else seed)


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number`` (a 32-bit value mixed from both)."""
    return int(np.random.SeedSequence([seed % 2**32, number]).generate_state(1)[0])


class _TrialsBefore:
    """A study seen through its trials numbered below ``limit`` (all others hidden)."""

    def __init__(self, study: optuna.Study, limit: int) -> None:
        self._study, self._limit = study, limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)

    def get_trials(
        self, deepcopy: bool = True, states: Any = None
    ) -> list[optuna.trial.FrozenTrial]:
        trials = self._study.get_trials(deepcopy=deepcopy, states=states)
        return [t for t in trials if t.number < self._limit]

    def _get_trials(
        self, deepcopy: bool = True, states: Any = None, use_cache: bool = False
    ) -> list[optuna.trial.FrozenTrial]:
        trials = self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache)
        return [t for t in trials if t.number < self._limit]


class _BatchSampler(optuna.samplers.BaseSampler):
    """Optuna's TPE sampler, made independent of timing and of the number of processes.

    Each trial is sampled by a fresh :class:`optuna.samplers.TPESampler` seeded with
    :func:`trial_seed` (seed, trial number), from a view of the study that holds only the
    trials of the batches before its own (all finished: see :class:`_SlotStorage`). Trials
    of one batch thus see the same history and differ by their seeds.
    """

    def __init__(self, seed: int, batches: Batches) -> None:
        self._seed, self._batches = seed, batches
        self._current: tuple[int, optuna.samplers.TPESampler] | None = None

    def _for(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> tuple[Any, optuna.samplers.TPESampler]:
        if self._current is None or self._current[0] != trial.number:
            self._current = (trial.number, _tpe(trial_seed(self._seed, trial.number)))
        return _TrialsBefore(study, self._batches.start(trial.number)), self._current[1]

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, optuna.distributions.BaseDistribution]:
        view, tpe = self._for(study, trial)
        return tpe.infer_relative_search_space(view, trial)

    def sample_relative(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        search_space: dict[str, optuna.distributions.BaseDistribution],
    ) -> dict[str, Any]:
        view, tpe = self._for(study, trial)
        return tpe.sample_relative(view, trial, search_space)

    def sample_independent(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        param_name: str,
        param_distribution: optuna.distributions.BaseDistribution,
    ) -> Any:
        view, tpe = self._for(study, trial)
        return tpe.sample_independent(view, trial, param_name, param_distribution)

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: optuna.trial.TrialState,
        values: Any,
    ) -> None:
        view, tpe = self._for(study, trial)
        tpe.after_trial(view, trial, state, values)
        self._current = None


def _use_batches(study: optuna.Study, plan: Plan, *, owner: bool) -> Batches | None:
    """The study's batches; the owner of a run with a trial budget records them first
    (a study that already has them keeps them, so a resumed run continues the same way)."""
    batches = study_batches(study)
    if batches is None and owner and plan.n_trials is not None:
        batches = Batches(first=len(plan.family_names), size=BATCH_SIZE)
        study.set_user_attr(ATTR_BATCHES, batches._asdict())
    return batches


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

    With a trial budget the study runs in synchronous batches (see the module's docstring):
    the sampler is then seeded per trial from ``plan.seed``, and ``sampler_seed`` (a
    worker's own seed) is used only by studies without batches.
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
    batches = _use_batches(study, plan, owner=enqueue) if plan.n_trials is not None else None
    if batches is not None:
        study.sampler = _BatchSampler(plan.seed, batches)
        if isinstance(pruner, _FamilyPruner):
            pruner.batches = batches
        storage.batch_gate = (study._study_id, batches)
    if enqueue:
        _enqueue_slots(study, plan)
    storage.slots_only = plan.n_trials is not None
    return study


def default_params(plan: Plan, family: str) -> dict[str, Any]:
    """The flat Optuna params of a family's first trial: its and the shared ``[default]``
    (the shared training values a family's ``[default]`` names replace the shared ones,
    where the run's shared space can draw them)."""
    space = plan.space(family)
    names = {p.name for p in space.params}
    own = {f"{family}.{k}": v for k, v in space.default.items() if k in names}
    shared = {p.name: p for p in plan.shared.params}
    overrides = {
        k: v
        for k, v in space.default.items()
        if k not in names and (spec := shared.get(k)) is not None and spec.admits(v)
    }
    return {"family": family, **own, **plan.shared.default, **overrides}


def portfolio_params(plan: Plan, family: str, index: int) -> dict[str, Any] | None:
    """The flat Optuna params of the family's ``index``-th warm-start configuration for the
    plan's layout (its ``[[portfolio]]``), or None past its end. What an entry leaves out
    is sampled."""
    space = plan.space(family)
    entries = space.portfolio_for(plan.layout)
    if index >= len(entries):
        return None
    own = {p.name: p for p in space.params}
    shared = {p.name: p for p in plan.shared.params}
    # a value the run's own spaces (a user's --space) cannot draw is left to the sampler
    return {
        "family": family,
        **{
            (f"{family}.{k}" if k in own else k): v
            for k, v in entries[index].items()
            if (spec := own.get(k) or shared.get(k)) is not None and spec.admits(v)
        },
    }


def _enqueue_slots(study: optuna.Study, plan: Plan) -> None:
    """Queue the budget's slots: each family's default trial, its other fair-share trials
    (its warm-start portfolio first, then family fixed and the rest sampled), then open
    slots. Under a time budget only the first round is queued here; the later fair-share
    slots are queued one at a time when no trial waits (:func:`queue_next_slot`), so that
    promoted configurations, queued as soon as every family is measured, run before them
    (queued all at once they stood behind a dozen slots, and never ran in 3 minutes)."""
    have = int(study.user_attrs.get(ATTR_SLOTS, 0))
    want = len(plan.family_names) if plan.n_trials is None else plan.n_trials
    for slot in range(have, want):
        _enqueue_slot(study, plan, slot)


def _enqueue_slot(study: optuna.Study, plan: Plan, slot: int) -> None:
    fair = [f for _ in range(plan.share_per_family) for f in plan.family_names]
    params: dict[str, Any] = {}
    attrs: dict[str, Any] = {ATTR_SLOT: slot}
    if slot < len(plan.family_names):
        params = default_params(plan, fair[slot])
    elif slot < len(fair):
        rank = slot // len(plan.family_names) - 1
        params = portfolio_params(plan, fair[slot], rank) or {"family": fair[slot]}
        if len(params) > 1:
            attrs[ATTR_PORTFOLIO] = rank + 1
    study.enqueue_trial(params, user_attrs=attrs, skip_if_exists=False)
    study.set_user_attr(ATTR_SLOTS, slot + 1)


def queue_next_slot(study: optuna.Study, plan: Plan) -> bool:
    """Under a time budget: queue the next fair-share slot when no trial is waiting (a
    promoted one goes first); False when every fair-share slot is queued (the sampler
    explores from then on)."""
    if plan.n_trials is not None:
        return False
    waiting = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    if waiting:
        return True
    slot = int(study.user_attrs.get(ATTR_SLOTS, 0))
    if slot >= plan.share_per_family * len(plan.family_names):
        return False
    _enqueue_slot(study, plan, slot)
    return True


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
    baselines: bool = True,
) -> optuna.Study:
    """Create (or resume) the study, queue the budget, record the recipe, fit baselines once
    (here, in this process, unless ``baselines`` is False: ``fit`` runs them as killable
    jobs beside the trials and records them with :func:`record_baselines`).

    ``baseline_deadline`` (a ``time.time()`` value): no baseline starts after it.

    Example:
        See :func:`archselect.fit`, which prepares the arguments.
    """
    study = open_study(storage, plan, study_name=study_name)
    folds = study_folds(study, prepared, plan)  # fixed now, before any worker joins
    if recipe is not None:
        study.set_user_attr(ATTR_RECIPE, _encode_recipe(recipe))
    if ATTR_CHANCE not in study.user_attrs:
        study.set_user_attr(ATTR_CHANCE, chance_level(prepared, folds=bool(folds)))
    if baselines and needs_baselines(study):
        with _signals.interruptible():  # scikit-learn only: a stop may land anywhere
            found = run_baselines(
                prepared, plan.baselines, seed=plan.seed, folds=folds, deadline=baseline_deadline
            )
        record_baselines(study, found)
    return study


def needs_baselines(study: optuna.Study) -> bool:
    """Whether the study has no reference results yet (a resumed one keeps its own)."""
    return ATTR_BASELINES not in study.user_attrs


def record_baselines(study: optuna.Study, results: list[BaselineResult]) -> None:
    """Store the reference results in the study (every process and the report read them)."""
    study.set_user_attr(ATTR_BASELINES, [b.to_dict() for b in results])


def set_window(study: optuna.Study, window: SearchWindow | None) -> None:
    """Record the search's time window in the study, for every trial process to read
    (None: this run has no time budget)."""
    study.set_user_attr(ATTR_WINDOW, None if window is None else window.to_dict())


def _window(study: optuna.Study) -> SearchWindow | None:
    raw = study.user_attrs.get(ATTR_WINDOW)
    return SearchWindow.from_dict(raw) if isinstance(raw, dict) else None
