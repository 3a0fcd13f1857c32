"""Stage 6 — select: the recommendation from the search result (see :mod:`._main`).

The selection decides and stores numbers; the words come from :mod:`archselect.core.verdict`.
"""

from __future__ import annotations

from archselect.select._ensemble import (
    ENSEMBLE,
    EnsembleLabels,
    at_chance_families,
    ensemble_row,
    ensemble_sentence,
    with_ensemble,
)
from archselect.select._intervals import BOOTSTRAP_ROUNDS, metric_interval, paired_interval
from archselect.select._main import (
    FamilySummary,
    ParetoPoint,
    Recommendation,
    pareto_front,
    select,
    with_final_test,
)

__all__ = [
    "BOOTSTRAP_ROUNDS",
    "ENSEMBLE",
    "EnsembleLabels",
    "FamilySummary",
    "ParetoPoint",
    "Recommendation",
    "at_chance_families",
    "ensemble_row",
    "ensemble_sentence",
    "metric_interval",
    "paired_interval",
    "pareto_front",
    "select",
    "with_ensemble",
    "with_final_test",
]
