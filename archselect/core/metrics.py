"""Metric helpers shared by every stage (numpy only): the task's metric, its direction,
per-row scores and how they are stored."""

from __future__ import annotations

import base64
import math

import numpy as np

__all__ = [
    "FORECAST_METRIC",
    "MAX_STORED_SCORES",
    "decode_scores",
    "encode_scores",
    "metric_direction",
    "metric_for",
    "per_sample_brier",
    "per_sample_scores",
    "score",
]

#: Validation rows whose per-row scores are kept per trial and per baseline.
MAX_STORED_SCORES = 8192


#: The metric of forecasts: the mean absolute scaled error. Each series' target is scaled by
#: its in-sample seasonal naive error, so the mean absolute error in those units is the MASE
#: (averaged over series, the forecasting field's yardstick).
FORECAST_METRIC = "mase"


def metric_for(task: str, forecast: bool = False) -> str:
    """``accuracy`` for classification, ``rmse`` for regression, ``mase`` for forecasts.

    Example:
        >>> metric_for("regression"), metric_for("regression", forecast=True)
        ('rmse', 'mase')
    """
    if task == "classification":
        return "accuracy"
    return FORECAST_METRIC if forecast else "rmse"


def metric_direction(metric: str) -> str:
    """``maximize`` for accuracy, ``minimize`` for an error."""
    return "maximize" if metric == "accuracy" else "minimize"


def per_sample_scores(task: str, outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row contribution to the metric: 1/0 correct, squared error (scaled units), or for a
    forecast (``y`` ``(N, horizon)``) the absolute error averaged over the horizon (units of
    each series' naive error: the row's MASE)."""
    if task == "classification":
        return (outputs.argmax(axis=1) == y).astype(np.float64)
    if y.ndim == 2:  # a forecast: mean absolute scaled error over the horizon
        return np.abs(outputs.reshape(y.shape) - y).mean(axis=1).astype(np.float64)
    return (outputs.reshape(len(y), -1)[:, 0] - y) ** 2


def per_sample_brier(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row Brier score of class logits ``(N, K)`` against labels ``(N,)`` (lower is better).

    A proper score: unlike 1/0 correctness it tells two models apart that get the same rows
    right, by how sure they were.
    """
    z = outputs - outputs.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # (N, K)
    p[np.arange(len(y)), y] -= 1.0
    return (p**2).sum(axis=1).astype(np.float64)


def score(task: str, outputs: np.ndarray, y: np.ndarray, target_std: float = 1.0) -> float:
    """Accuracy, RMSE in target units (``target_std`` undoes the scaling), or for a forecast
    the MASE (its targets are scaled per series: ``target_std`` is 1)."""
    s = per_sample_scores(task, outputs, y)
    if task == "classification":
        return float(s.mean())
    if np.ndim(y) == 2:
        return float(s.mean() * target_std)
    return float(math.sqrt(s.mean()) * target_std)


def encode_scores(scores: np.ndarray) -> str:
    """Per-row scores as base64 float16 (the format trials store theirs in)."""
    return base64.b64encode(scores[:MAX_STORED_SCORES].astype(np.float16).tobytes()).decode()


def decode_scores(b64: str | None) -> np.ndarray | None:
    """The inverse of :func:`encode_scores` (None stays None)."""
    if not b64:
        return None
    return np.frombuffer(base64.b64decode(b64), dtype=np.float16).astype(np.float64)
