"""Paired bootstrap intervals over the validation rows, in the metric's own unit.

Every candidate stores per-row validation scores on the same rows: 1/0 correct
(classification), the squared error in standardised units (regression) or the absolute
scaled error (forecasts, whose metric is their mean, the MASE). The
selection decides on the per-row mean difference; what it reports is the difference of the
metric itself: accuracy in points, RMSE in the target's unit. The RMSE of a resample is
``scale * sqrt(mean squared error)``, with ``scale`` the run's target scale
(:func:`implied_scale`), so both intervals come from the same resamples and always agree
on whether 0 is excluded (the square root keeps the order of every resample).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from archselect.core.metrics import FORECAST_METRIC
from archselect.core.records import SearchResult
from archselect.core.verdict import INTERVAL, PERCENT_METRICS

__all__ = [
    "BOOTSTRAP_ROUNDS",
    "implied_scale",
    "metric_interval",
    "paired_interval",
    "run_scale",
]

#: Paired bootstrap rounds over the validation rows.
BOOTSTRAP_ROUNDS = 2000
#: Rounds drawn at once (the index matrix of one chunk: rounds × rows integers).
CHUNK_ROUNDS = 250


def _bootstrap_means(
    arrays: Sequence[np.ndarray], seed: int, rounds: int = BOOTSTRAP_ROUNDS
) -> list[np.ndarray]:
    """Each array's mean over the same ``rounds`` resamples of its rows (same seed, same
    resamples, whichever arrays are passed)."""
    rng = np.random.default_rng(seed)
    n = len(arrays[0])
    out = [np.empty(rounds) for _ in arrays]
    for start in range(0, rounds, CHUNK_ROUNDS):
        k = min(CHUNK_ROUNDS, rounds - start)
        idx = rng.integers(0, n, size=(k, n))
        for means, values in zip(out, arrays, strict=True):
            means[start : start + k] = values[idx].mean(axis=1)
    return out


def _quantiles(values: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(values, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2])
    return float(lo), float(hi)


def _usable(sa: np.ndarray | None, sb: np.ndarray | None) -> bool:
    return sa is not None and sb is not None and len(sa) == len(sb) and len(sa) >= 2


def paired_interval(
    sa: np.ndarray | None, sb: np.ndarray | None, seed: int
) -> tuple[float, float] | None:
    """Paired-bootstrap 95 % interval of mean(sa - sb) over the same validation rows.

    Example:
        >>> a, b = np.r_[np.ones(30), np.zeros(10)], np.r_[np.ones(20), np.zeros(20)]
        >>> lo, hi = paired_interval(a, b, 0)
        >>> bool(0 < lo < 0.25 < hi)
        True
    """
    if not _usable(sa, sb):
        return None
    assert sa is not None and sb is not None
    ma, mb = _bootstrap_means([sa, sb], seed)
    return _quantiles(ma - mb)


def metric_interval(
    sa: np.ndarray | None, sb: np.ndarray | None, metric: str, seed: int, scale: float = 1.0
) -> tuple[float, float] | None:
    """The 95 % interval of ``a``'s advantage over ``b`` in the metric's unit: accuracy
    ``mean(sa) - mean(sb)`` (1/0 rows), an error metric ``RMSE_b - RMSE_a`` (squared-error
    rows, ``RMSE = scale * sqrt(mean)``); positive favours ``a`` either way.

    Example:
        >>> sa, sb = np.full(40, 0.25), np.r_[np.full(20, 0.25), np.full(20, 1.0)]
        >>> lo, hi = metric_interval(sa, sb, "rmse", 0, scale=2.0)  # RMSE 1.0 vs about 1.58
        >>> bool(0 < lo < 0.58 < hi)
        True
    """
    if not _usable(sa, sb):
        return None
    assert sa is not None and sb is not None
    ma, mb = _bootstrap_means([sa, sb], seed)
    if metric in PERCENT_METRICS:
        return _quantiles(ma - mb)
    if metric == FORECAST_METRIC:  # absolute scaled errors: their mean is the MASE
        return _quantiles(mb - ma)
    return _quantiles(scale * (np.sqrt(np.maximum(mb, 0.0)) - np.sqrt(np.maximum(ma, 0.0))))


def implied_scale(pairs: Iterable[tuple[float | None, np.ndarray | None]]) -> float:
    """The run's target scale from ``(RMSE, squared errors)`` pairs of its candidates: the
    median of ``RMSE / sqrt(mean squared error)`` (the target's standard deviation, which
    turns standardised errors into the target's unit); 1.0 when none can tell."""
    ratios = []
    for rmse, se in pairs:
        if rmse is None or se is None or not len(se) or not math.isfinite(rmse):
            continue
        mean = float(np.mean(se))
        if mean > 0 and rmse > 0:
            ratios.append(rmse / math.sqrt(mean))
    return float(np.median(ratios)) if ratios else 1.0


def run_scale(result: SearchResult) -> float:
    """:func:`implied_scale` over a search's finished trials and references (1.0 for a
    metric shown in points, whose per-row scores need no scale)."""
    if result.metric in PERCENT_METRICS or result.metric == FORECAST_METRIC:
        return 1.0
    pairs: list[tuple[float | None, np.ndarray | None]] = [
        (t.val_metric, t.val_scores()) for t in result.finished()
    ]
    pairs += [(b.val_metric, b.val_scores()) for b in result.baselines]
    return implied_scale(pairs)
