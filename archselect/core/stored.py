"""What the run directory stores besides the stages' outputs, for the report to show.

The report renders from the run directory alone, so anything it pictures must be stored
there: a small sample of the raw rows and the class/target distribution (``preview`` in
``profile.json``), and the exported model's test-split evaluation and the parameter
importances (``evaluation`` and ``importances`` in ``recommendation.json``). Everything here
is plain JSON and kept small (see the caps below), so a run directory stays light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archselect._common.serde import JsonRecord
from archselect.core.data import Profile
from archselect.core.recommendation import Recommendation

__all__ = [
    "DataPreview",
    "Evaluation",
    "Histogram",
    "RunProfile",
    "RunRecommendation",
    "SampleRow",
    "evaluate_outputs",
]

#: Regression evaluation: (actual, predicted) pairs kept at most.
MAX_EVAL_POINTS = 1000
#: Significant digits kept of stored raw values.
VALUE_DIGITS = 4


@dataclass(frozen=True)
class Histogram(JsonRecord):
    """Counts between consecutive ``edges`` (``len(edges) == len(counts) + 1``)."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class SampleRow(JsonRecord):
    """One raw data row: its label (or target value) and its feature values or text."""

    label: str
    values: tuple[float | None, ...] = ()
    text: str | None = None


@dataclass(frozen=True)
class DataPreview(JsonRecord):
    """A few raw rows and the target's distribution, for the report's data section.

    Attributes:
        kind: ``image`` (values are ``(H, W, C)`` row-major), ``series`` (``C`` channel
            groups of ``T`` steps, one after another), ``text`` or ``none``.
        shape: ``(H, W, C)`` for images, ``(C, T)`` for series, after striding.
        stride: Every ``stride``-th pixel / step was kept (1: all).
        class_counts: Rows per class (classification).
        target_hist: The target's histogram (regression).
        samples: The sample rows.
        text_lengths: Per class (or ``all``), the histogram of text lengths in ``text_unit``.
    """

    layout: str
    kind: str
    task: str
    shape: tuple[int, ...] = ()
    stride: int = 1
    class_counts: dict[str, int] = field(default_factory=dict)
    target_hist: Histogram | None = None
    samples: tuple[SampleRow, ...] = ()
    text_lengths: dict[str, Histogram] = field(default_factory=dict)
    text_unit: str = ""


@dataclass(frozen=True)
class Evaluation(JsonRecord):
    """The exported model on the held-out test split.

    Classification: ``confusion[i][j]`` counts rows of class ``labels[i]`` predicted as
    ``labels[j]``. Regression: ``actual`` and ``predicted`` in target units (a sample of at
    most :data:`MAX_EVAL_POINTS` rows).
    """

    task: str
    split: str = "test"
    n_rows: int = 0
    labels: tuple[str, ...] = ()
    confusion: tuple[tuple[int, ...], ...] = ()
    actual: tuple[float, ...] = ()
    predicted: tuple[float, ...] = ()


@dataclass(frozen=True)
class RunProfile(Profile):
    """The profile as stored in ``profile.json``: the stage's profile plus a data preview."""

    preview: DataPreview | None = None


@dataclass(frozen=True)
class RunRecommendation(Recommendation):
    """The recommendation as stored: plus parameter importances and the test evaluation."""

    importances: dict[str, dict[str, float]] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    #: Where the time went: seconds per phase of ``fit`` (``trials: <family>`` sums each
    #: family's trials), and the command's budget (``--timeout``; None: none).
    phase_seconds: dict[str, float] = field(default_factory=dict)
    budget_s: float | None = None
    #: Seconds from the start of ``fit`` until each family's first measurement.
    first_result_s: dict[str, float] = field(default_factory=dict)
    #: How the exported model was trained (:class:`archselect.run._refit.FinalModel`).
    final_model: dict[str, Any] = field(default_factory=dict)


def round_value(value: float) -> float | None:
    """``value`` to VALUE_DIGITS significant digits; None when not finite."""
    if not math.isfinite(value):
        return None
    return float(f"{value:.{VALUE_DIGITS}g}")


def evaluate_outputs(
    task: str,
    outputs: np.ndarray,
    y: np.ndarray,
    *,
    classes: tuple[str, ...] = (),
    target_mean: float = 0.0,
    target_std: float = 1.0,
    seed: int = 0,
) -> Evaluation:
    """Confusion matrix (classification) or actual/predicted pairs (regression).

    Args:
        task: ``classification`` or ``regression``.
        outputs: Raw network outputs for the rows (logits, or standardised values).
        y: Encoded targets (class indices, or standardised values).
        classes: Class labels in index order.
        target_mean: Mean used to standardise the target (regression).
        target_std: Its standard deviation.
        seed: Seed of the subsample of regression points.

    Returns:
        The :class:`Evaluation`.

    Example:
        >>> import numpy as np
        >>> out = np.array([[2.0, 0.1], [0.3, 1.0], [1.0, 0.0]])
        >>> ev = evaluate_outputs("classification", out, np.array([0, 1, 1]), classes=("a", "b"))
        >>> ev.confusion
        ((1, 0), (1, 1))
    """
    if task == "classification":
        k = len(classes)
        pred = outputs.argmax(axis=1)
        matrix = np.zeros((k, k), dtype=np.int64)
        np.add.at(matrix, (y.astype(np.int64), pred.astype(np.int64)), 1)
        return Evaluation(
            task=task,
            n_rows=len(y),
            labels=tuple(classes),
            confusion=tuple(tuple(int(v) for v in row) for row in matrix),
        )
    width = y.shape[1] if y.ndim > 1 else 1  # forecasting: one value per horizon step
    predicted = outputs.reshape(len(y), -1)[:, :width].ravel() * target_std + target_mean
    actual = y.astype(np.float64).ravel() * target_std + target_mean
    idx = np.arange(len(actual))
    if len(idx) > MAX_EVAL_POINTS:
        idx = np.sort(np.random.default_rng(seed).choice(idx, MAX_EVAL_POINTS, replace=False))
    return Evaluation(
        task=task,
        n_rows=len(y),
        actual=tuple(round_value(float(v)) or 0.0 for v in actual[idx]),
        predicted=tuple(round_value(float(v)) or 0.0 for v in predicted[idx]),
    )
