"""Both readings of an unsure profile (issue 31): which one the search found better, and by
how much, in one sentence for the verdict.

When the profile cannot tell a table from a sequence (or from an image), the plan searches
the families and references of both readings under one budget; :func:`readings_reason`
compares the best candidate of each on the same rows with a paired bootstrap interval.
"""

from __future__ import annotations

import numpy as np

from archselect.core.data import Profile
from archselect.core.kinds import Modality
from archselect.core.records import (
    SearchResult,
    cross_validated,
)
from archselect.core.spaces import families_for
from archselect.core.verdict import unit_for
from archselect.layouts import plugin_for, registered_layouts
from archselect.plan import Plan, baselines_for
from archselect.run._retrain import (
    metric_samples,
    quantiles,
)

__all__ = ["flat_families", "readings_reason"]

#: How a reading is named, by its modality: the noun and the adjective.
_READINGS = {
    Modality.TABULAR: ("a table", "table"),
    Modality.SEQUENTIAL: ("a sequence", "sequence"),
    Modality.SPATIAL: ("an image", "image"),
}


def _reading_words(layout: str) -> tuple[str, str]:
    return _READINGS.get(Modality(plugin_for(layout).modality), (layout, layout))


def _flat(layout: str) -> bool:
    """Whether a layout's models read the columns as separate features (a table)."""
    return plugin_for(layout).modality == Modality.TABULAR


def flat_families() -> set[str]:
    """The families of the tabular layouts: they read the columns as one flat vector."""
    return {f for name in registered_layouts() if _flat(name) for f in families_for(name)}


def _reading_candidates(plan: Plan) -> dict[str, set[str]]:
    """What each reading searched: the table's every candidate (they read columns as
    features); the other reading only what the table's plan lacks."""
    whole = {r: set(families_for(r)) | set(baselines_for(r, plan.task)) for r in plan.readings}
    table = set().union(*(c for r, c in whole.items() if _flat(r)))
    return {r: (c if _flat(r) else c - table) for r, c in whole.items()}


def _best_of(
    result: SearchResult, names: set[str], sign: float, n_pooled: int | None
) -> tuple[str, float, np.ndarray | None] | None:
    """The best searched candidate among ``names`` (those scored out of fold over the
    ``n_pooled`` train + validation rows first, as in the verdict): its name, metric and
    per-row scores."""
    found: list[tuple[bool, str, float, np.ndarray | None]] = []
    for t in result.finished():
        if t.family in names and t.val_metric is not None:
            found.append((cross_validated(t), t.family, t.val_metric, t.val_scores()))
    for b in result.baselines:
        if b.name in names and b.state == "COMPLETE" and b.val_metric is not None:
            scores = b.val_scores()
            cv = scores is not None and n_pooled is not None and len(scores) == n_pooled
            found.append((cv, b.name, b.val_metric, scores))
    best = max(found, key=lambda c: (c[0], sign * c[2]), default=None)
    return None if best is None else best[1:]


def readings_reason(
    profile: Profile,
    plan: Plan,
    result: SearchResult,
    target_std: float = 1.0,
    n_pooled: int | None = None,
) -> str | None:
    """ "The profile could not tell …; both readings were searched: the … reading wins by …"
    (None when the profile was sure or a reading has no result)."""
    if len(plan.readings) != 2:
        return None
    sign = 1.0 if plan.direction == "maximize" else -1.0
    best = {
        r: _best_of(result, names, sign, n_pooled)
        for r, names in _reading_candidates(plan).items()
    }
    first, second = plan.readings
    a, b = best[first], best[second]
    if a is None or b is None:
        return None
    (win, (wname, wval, wsc)), (_, (lname, lval, lsc)) = sorted(
        ((first, a), (second, b)), key=lambda item: -sign * item[1][1]
    )
    margin = sign * (wval - lval)
    unit = unit_for(plan.metric)
    interval = ""
    if wsc is not None and lsc is not None and len(wsc) == len(lsc):
        sw, sl = metric_samples(plan.task, (wsc, lsc), target_std, plan.seed)
        interval = f"; {unit.interval(quantiles(sign * (sw - sl)))}"
    return (
        f"The profile could not tell {_reading_words(first)[0]} from "
        f"{_reading_words(second)[0]} (confidence {profile.confidence:.2f}); both "
        f"readings were searched: the {_reading_words(win)[1]} reading wins by "
        f"{unit.amount(margin)} of {unit.name} "
        f"({wname} {unit.value(wval)} against {lname} {unit.value(lval)}{interval})."
    )
