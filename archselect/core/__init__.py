"""The torch-free core: the value types every stage passes on, and the metric helpers.

Nothing here imports torch, Lightning or optuna (an import-linter contract checks it), so
the selection, the report and the run-directory reader load without the training stack.

Example:
    >>> from archselect.core import metric_for, metric_direction
    >>> metric_for("classification"), metric_direction("rmse")
    ('accuracy', 'minimize')
"""

from __future__ import annotations

from archselect.core.data import Profile, SourceFacts
from archselect.core.metrics import (
    decode_scores,
    encode_scores,
    metric_direction,
    metric_for,
    per_sample_brier,
    per_sample_scores,
    score,
)
from archselect.core.plan import Plan
from archselect.core.recommendation import (
    CurvePoint,
    FamilySummary,
    LearningCurve,
    OrderControl,
    ParetoPoint,
    Recommendation,
)
from archselect.core.records import BaselineResult, SearchResult, TrialRecord, best_by_family

__all__ = [
    "BaselineResult",
    "CurvePoint",
    "FamilySummary",
    "LearningCurve",
    "OrderControl",
    "ParetoPoint",
    "Plan",
    "Profile",
    "Recommendation",
    "SearchResult",
    "SourceFacts",
    "TrialRecord",
    "best_by_family",
    "decode_scores",
    "encode_scores",
    "metric_direction",
    "metric_for",
    "per_sample_brier",
    "per_sample_scores",
    "score",
]
