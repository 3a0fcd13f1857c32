"""Stage 6 — select: the recommendation from the search result (see :mod:`._main`)."""

from __future__ import annotations

from archselect.select._ensemble import (
    ENSEMBLE,
    EnsembleLabels,
    ensemble_row,
    ensemble_sentence,
    with_ensemble,
)
from archselect.select._main import (
    BOOTSTRAP_ROUNDS,
    CHEAPER_LATENCY_FRACTION,
    CHEAPER_MEMORY_MB,
    FamilySummary,
    ParetoPoint,
    Recommendation,
    bootstrap_margin,
    paired_interval,
    pareto_front,
    select,
    with_final_test,
)
from archselect.select._verdict import fmt_metric

__all__ = [
    "BOOTSTRAP_ROUNDS",
    "CHEAPER_LATENCY_FRACTION",
    "CHEAPER_MEMORY_MB",
    "ENSEMBLE",
    "EnsembleLabels",
    "FamilySummary",
    "ParetoPoint",
    "Recommendation",
    "bootstrap_margin",
    "ensemble_row",
    "ensemble_sentence",
    "fmt_metric",
    "paired_interval",
    "pareto_front",
    "select",
    "with_ensemble",
    "with_final_test",
]
