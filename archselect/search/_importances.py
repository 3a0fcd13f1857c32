"""Parameter importances (fANOVA), per family and over all families."""

from __future__ import annotations

import logging
import math

import optuna

from archselect._common.secrets import redact
from archselect.core.records import ALL_FAMILIES as ALL_FAMILIES
from archselect.core.records import best_by_family as best_by_family
from archselect.search._constants import MIN_IMPORTANCE_TRIALS, STUDY_NAME
from archselect.search._storage import close_storage, make_storage


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
