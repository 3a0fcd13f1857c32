"""Stage 4 — plan: which families to try on this data, over which spaces, with what budget."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

from archselect.core.data import Profile
from archselect.core.metrics import metric_direction, metric_for
from archselect.core.plan import Plan
from archselect.core.spaces import (
    SHARED,
    Space,
    families_for,
    family_layouts,
    load_shared_space,
    load_space,
)
from archselect.errors import UsageError
from archselect.layouts import plugin_for

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_TRIALS_PER_FAMILY",
    "Plan",
    "make_plan",
    "readings_baselines",
]

#: With no budget given: this many trials per family, stopped after DEFAULT_TIMEOUT_S.
DEFAULT_TRIALS_PER_FAMILY = 4
DEFAULT_TIMEOUT_S = 300.0
#: Every family first gets max(MIN_SHARE, budget / families / 2) trials (fewer if the
#: budget is smaller than MIN_SHARE per family).
MIN_SHARE = 3
#: Objectives ``--objectives`` accepts: the task's metric (``accuracy``/``rmse``, ``mase``
#: for a forecast; the name ``metric`` stands for any) and ``latency`` (ms per sample at
#: batch 1).
OBJECTIVE_NAMES = ("accuracy", "rmse", "mase", "metric", "latency")


def baselines_for(layout: str, task: str) -> tuple[str, ...]:
    """The reference models fitted for this layout and task (the layout's own choice,
    :attr:`archselect.layouts.LayoutPlugin.baselines`).

    Example:
        >>> baselines_for("series", "classification")
        ('logistic_regression', 'knn_euclidean', 'minirocket', 'hist_gradient_boosting')
    """
    return plugin_for(layout).baselines(task)


def fair_share(n_trials: int | None, n_families: int) -> int:
    """Trials each family is guaranteed before the sampler concentrates."""
    if n_trials is None:
        return MIN_SHARE
    return max(min(MIN_SHARE, n_trials // n_families), math.ceil(n_trials / n_families / 2), 1)


def _objectives(names: tuple[str, ...] | None, metric: str) -> tuple[str, ...]:
    """Validate ``--objectives``: the task's metric first, optionally ``latency``."""
    if not names:
        return (metric,)
    unknown = [n for n in names if n not in OBJECTIVE_NAMES]
    if unknown:
        raise UsageError(f"Unknown objective {unknown[0]!r}; use {metric} or {metric},latency.")
    resolved = tuple(metric if n == "metric" else n for n in names)
    if resolved not in ((metric,), (metric, "latency")):
        raise UsageError(
            f"--objectives {','.join(names)} does not fit this {metric} task; use {metric} or "
            f"{metric},latency."
        )
    return resolved


def list_models(layout: str | None = None) -> list[str]:
    """Known family names (optionally only those that fit ``layout``), without torch.

    The shipped search spaces name every shipped family and its layouts; a builder that a
    user registered in this process (``archselect.models.register_model``, which has
    loaded torch already) counts too.

    Example:
        >>> "cnn2d" in list_models("image") and "cnn2d" not in list_models("series")
        True
    """
    layouts = dict(family_layouts())
    registry = sys.modules.get("archselect.models")  # imported: its builders are registered
    if registry is not None:
        for name in registry.list_models():
            layouts.setdefault(name, tuple(registry.model_layouts(name)))
    return sorted(n for n, fits in layouts.items() if layout is None or layout in fits)


def _with_layouts(space: Space, layout: str) -> Space:
    """A user's space that names no ``layouts`` fits what the shipped family fits."""
    if space.layouts or space.name not in list_models():
        return space
    return dataclasses.replace(space, layouts=load_space(space.name, layout=layout).layouts)


def _chosen_families(
    profile: Profile, families: tuple[str, ...] | None, user_spaces: dict[str, Space]
) -> tuple[str, ...]:
    """The families to search: the user's (each known and fitting the layout), else every
    family whose TOML fits the layout, by its ``order``."""
    allowed = families_for(profile.layout)
    if not families:
        return allowed
    unknown = [f for f in families if f not in list_models()]
    if unknown:
        raise UsageError(f"Unknown family {unknown[0]!r}; choose from {', '.join(list_models())}.")
    unfit = [
        f
        for f in families
        if profile.layout
        not in (user_spaces.get(f) or load_space(f, layout=profile.layout)).layouts
    ]
    if unfit:
        raise UsageError(
            f"Family {unfit[0]!r} does not fit {profile.layout} data; for this data choose "
            f"from {', '.join(allowed)}."
        )
    return tuple(dict.fromkeys(families))


def _user_spaces(profile: Profile, spaces: tuple[str | Path, ...]) -> dict[str, Space]:
    """The user's TOML spaces by family name (each naming a known family or the shared
    space)."""
    loaded = (load_space("", path=p) for p in spaces)
    user_spaces = {s.name: _with_layouts(s, profile.layout) for s in loaded}
    strangers = sorted(set(user_spaces) - {SHARED, *list_models()})
    if strangers:
        raise UsageError(
            f"--space names the family {strangers[0]!r}, which archselect does not know; set "
            f"its name to one of {', '.join(list_models())} or {SHARED}."
        )
    return user_spaces


def readings_baselines(profile: Profile) -> tuple[str, ...]:
    """The references of the layout, then those of the profile's other reading when it was
    unsure (:attr:`Profile.readings`): a table-or-sequence doubt searched as a sequence adds
    the table's own references (k-nearest neighbours, the RBF SVM) to the sequence's.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from archselect.profile import profile_frame
        >>> a = np.random.default_rng(0).normal(size=30)
        >>> p = profile_frame(pd.DataFrame({"a": a, "y": [0, 1, 2] * 10}))
        >>> readings_baselines(dataclasses.replace(p, layout="series", readings=("table",
        ...                    "series")))[-2:]
        ('k_nearest_neighbours', 'svm_rbf')
    """
    names = list(baselines_for(profile.layout, profile.task))
    for reading in profile.readings:
        names += [b for b in baselines_for(reading, profile.task) if b not in names]
    return tuple(names)


def make_plan(
    profile: Profile,
    *,
    families: tuple[str, ...] | None = None,
    n_trials: int | None = None,
    timeout_s: float | None = None,
    seed: int = 0,
    spaces: tuple[str | Path, ...] = (),
    objectives: tuple[str, ...] | None = None,
    pruning: bool = True,
) -> Plan:
    """Choose the families that fit the profile's layout and load their spaces.

    The families are those whose search space (``<family>.toml``) lists the layout, in the
    ``order`` their TOML gives (:func:`archselect.core.spaces.families_for`). When the
    profile could not tell two readings apart (``profile.readings``), the layout is the one
    under which both are searched, and the references of both are fitted
    (:func:`readings_baselines`).

    Args:
        profile: The data profile.
        families: Restrict to these families (each must fit the layout).
        n_trials: Trial budget; with neither budget given, a default that ends in minutes.
        timeout_s: Wall-clock budget in seconds.
        seed: The run's seed (recorded; feeds the sampler).
        spaces: User TOML files that replace the shipped space of the family they name
            (``name = "shared"`` replaces the shared training space).
        objectives: ``("accuracy",)`` by default; ``("accuracy", "latency")`` makes a
            multi-objective study (accuracy up, latency per sample down). For regression
            the metric is ``rmse``; ``metric`` names the task's metric either way.
        pruning: Stop trials whose learning curve falls below the family's median (default);
            off, every trial trains to its end (equal work per trial, e.g. for benchmarks).

    Example:
        >>> import numpy as np, pandas as pd
        >>> from archselect.profile import profile_frame
        >>> a = np.random.default_rng(0).normal(size=30)
        >>> p = profile_frame(pd.DataFrame({"a": a, "y": [0, 1, 2] * 10}))
        >>> make_plan(p, n_trials=6).family_names
        ('mlp',)
    """
    if n_trials is not None and n_trials < 1:
        raise UsageError(f"--trials must be a positive number of trials, not {n_trials}.")
    if timeout_s is not None and timeout_s <= 0:
        raise UsageError(f"--timeout must be a positive duration, not {timeout_s} seconds.")
    user_spaces = _user_spaces(profile, spaces)
    names = _chosen_families(profile, families, user_spaces)
    family_spaces = tuple(
        user_spaces.get(n) or load_space(n, layout=profile.layout) for n in names
    )
    if n_trials is None and timeout_s is None:
        n_trials, timeout_s = DEFAULT_TRIALS_PER_FAMILY * len(names), DEFAULT_TIMEOUT_S
    metric = metric_for(profile.task, forecast=plugin_for(profile.layout).forecast)
    return Plan(
        objectives=_objectives(objectives, metric),
        pruning=pruning,
        modality=profile.modality,
        layout=profile.layout,
        task=profile.task,
        metric=metric,
        direction=metric_direction(metric),
        families=family_spaces,
        shared=user_spaces.get("shared") or load_shared_space(),
        baselines=readings_baselines(profile),
        n_trials=n_trials,
        timeout_s=timeout_s,
        share_per_family=fair_share(n_trials, len(names)),
        seed=seed,
        readings=tuple(profile.readings),
    )
