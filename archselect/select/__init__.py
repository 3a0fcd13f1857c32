"""Stage 6 — select: the recommendation from the search result (see :mod:`._main`)."""

from __future__ import annotations

from archselect.select._main import (
    BOOTSTRAP_ROUNDS,
    CHEAPER_LATENCY_FRACTION,
    CHEAPER_MEMORY_MB,
    FamilySummary,
    ParetoPoint,
    Recommendation,
    bootstrap_margin,
    pareto_front,
    select,
    with_final_test,
)

__all__ = [
    "BOOTSTRAP_ROUNDS",
    "CHEAPER_LATENCY_FRACTION",
    "CHEAPER_MEMORY_MB",
    "FamilySummary",
    "ParetoPoint",
    "Recommendation",
    "bootstrap_margin",
    "pareto_front",
    "select",
    "with_final_test",
]
