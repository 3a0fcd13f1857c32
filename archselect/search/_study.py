"""The study: sampler, creation and resume (the recipe and its identity), trial slots and
the ``--timeout`` window."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any

import optuna

from archselect import _signals
from archselect._budget import SearchWindow
from archselect._errors import UsageError
from archselect._serde import JsonRecord
from archselect.baselines import run_baselines
from archselect.core.records import ALL_FAMILIES as ALL_FAMILIES
from archselect.core.records import best_by_family as best_by_family
from archselect.plan import Plan
from archselect.prepare import Prepared
from archselect.profile import Profile
from archselect.search._constants import (
    ATTR_BASELINES,
    ATTR_RECIPE,
    ATTR_SLOT,
    ATTR_SLOTS,
    ATTR_WINDOW,
    MAX_PLAIN_RECIPE_CHARS,
    PRUNE_STARTUP_TRIALS,
    PRUNE_WARMUP_EPOCHS,
    RECIPE_FORMAT,
    STUDY_NAME,
    TPE_STARTUP_TRIALS,
)
from archselect.search._objective import _FamilyPruner, study_folds
from archselect.search._storage import make_storage


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


def set_window(study: optuna.Study, window: SearchWindow | None) -> None:
    """Record the search's time window in the study, for every trial process to read
    (None: this run has no time budget)."""
    study.set_user_attr(ATTR_WINDOW, None if window is None else window.to_dict())


def _window(study: optuna.Study) -> SearchWindow | None:
    raw = study.user_attrs.get(ATTR_WINDOW)
    return SearchWindow.from_dict(raw) if isinstance(raw, dict) else None
