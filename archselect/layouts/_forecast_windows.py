"""Forecasting, part 2: window and horizon, sliding windows, the time-ordered split, the MASE
scale, the fitted windowing record and the naive baselines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from archselect._common.serde import JsonRecord
from archselect.errors import DataError, UsageError
from archselect.layouts._forecast_time import (
    DEFAULT_HORIZON,
    HORIZON,
    MAX_WINDOW,
    MAX_WINDOW_FRACTION,
    MIN_SEASON_ACF,
    MIN_TRAIN_WINDOWS,
    MIN_WINDOW,
    SEASON,
    TEST_FRACTION,
    VAL_FRACTION,
    WINDOW_PER_HORIZON,
    SeriesGrid,
    numeric_values,
    parse_times,
    regularise,
    regularise_panel,
)

__all__ = [
    "ForecastWindowing",
    "choose_window_horizon",
    "forecast_baselines",
    "forecast_metrics",
    "mase_scale",
    "panel_mase_scale",
    "splits_into_windows",
    "tile",
    "time_ordered_split",
    "window_targets",
    "windows",
]


def splits_into_windows(n_steps: int, window: int, horizon: int) -> bool:
    """Whether a series of ``n_steps`` gives :func:`time_ordered_split` enough windows."""
    try:
        time_ordered_split(n_steps, window, horizon)
    except DataError:
        return False
    return True


def _acf(x: np.ndarray, lag: int) -> float:
    if lag <= 0 or lag >= len(x) - 2:
        return float("nan")
    x = np.diff(x)  # remove a trend before looking for a season
    if lag >= len(x) - 1:
        return float("nan")
    a, b = x[:-lag], x[lag:]
    if a.std() < 1e-12 or b.std() < 1e-12:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def choose_window_horizon(
    target: np.ndarray,
    group: str,
    *,
    horizon: int | None = None,
    window: int | None = None,
) -> dict[str, Any]:
    """Season, horizon H and window W for a series, with the rule behind each.

    Example:
        >>> y = np.sin(np.arange(240) * 2 * np.pi / 12)
        >>> c = choose_window_horizon(y, "M")
        >>> (c["season"], c["horizon"], c["window"])
        (12, 12, 36)
    """
    n = len(target)
    n_train = int(n * (1 - VAL_FRACTION - TEST_FRACTION))
    candidate = SEASON.get(group, 1)
    acf = _acf(target[:n_train], candidate) if candidate > 1 else float("nan")
    season = candidate if candidate > 1 and np.isfinite(acf) and acf > MIN_SEASON_ACF else 1
    season_rule = (
        f"{group} data: candidate season {candidate}, lag-{candidate} autocorrelation of the "
        f"differenced training series {acf:.2f} "
        + ("> " if season > 1 else "<= ")
        + f"{MIN_SEASON_ACF}"
        if candidate > 1
        else f"{group} data: no calendar season"
    )
    max_window = max(2, min(MAX_WINDOW, int(n * MAX_WINDOW_FRACTION)))
    if horizon is not None:
        if horizon < 1:
            raise UsageError(f"--horizon must be a positive number of steps, not {horizon}.")
        h, h_rule = int(horizon), "given with --horizon"
    else:
        h = min(HORIZON.get(group, DEFAULT_HORIZON), max(1, int(n * TEST_FRACTION) // 2))
        h_rule = f"default for {group} data, at most half the test period"
    if window is not None:
        if window < 2:
            raise UsageError(f"--window must be at least 2 steps, not {window}.")
        w, w_rule = int(window), "given with --window"
    else:
        w = min(max_window, max(MIN_WINDOW, WINDOW_PER_HORIZON * h, season))
        w_rule = (
            f"max({MIN_WINDOW}, {WINDOW_PER_HORIZON} x horizon, season) capped at "
            f"min({MAX_WINDOW}, {MAX_WINDOW_FRACTION:.0%} of {n} steps)"
        )
    if season > w:
        season, season_rule = 1, season_rule + f"; longer than the window {w}, so not used"
    need = w + h + 2 * h + MIN_TRAIN_WINDOWS
    if n < need / (1 - VAL_FRACTION - TEST_FRACTION):
        raise DataError(
            f"The series has {n} time steps, too few for window {w} and horizon {h} with "
            f"train/validation/test periods; give a longer series or smaller --window/--horizon."
        )
    return {
        "season": int(season),
        "season_candidate": int(candidate),
        "season_acf": acf if np.isfinite(acf) else None,
        "season_rule": season_rule,
        "horizon": h,
        "horizon_rule": h_rule,
        "window": w,
        "window_rule": w_rule,
    }


def windows(values: np.ndarray, window: int) -> np.ndarray:
    """Every input window of ``window`` steps: (N, C) → (N - window + 1, window, C).

    Example:
        >>> windows(np.arange(5.0)[:, None], 3)[:, :, 0].tolist()
        [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]
    """
    v = np.asarray(values)
    if len(v) < window:
        return np.zeros((0, window, v.shape[1]), dtype=v.dtype)
    view = np.lib.stride_tricks.sliding_window_view(v, window, axis=0)  # (M, C, W)
    return np.ascontiguousarray(view.transpose(0, 2, 1))


def window_targets(target: np.ndarray, window: int, horizon: int) -> np.ndarray:
    """Targets after each complete window: (N,) → (N - window - horizon + 1, horizon)."""
    future = np.asarray(target)[window:]
    if len(future) < horizon:
        return np.zeros((0, horizon), dtype=future.dtype)
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(future, horizon))


def time_ordered_split(
    n_steps: int, window: int, horizon: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int, int]:
    """Window indices of train, validation and test, in time order, never mixed.

    Window ``i`` reads steps ``[i, i + window)`` and predicts ``[i + window, i + window +
    horizon)``. Test windows predict only the last TEST_FRACTION of the steps, validation
    windows only the VAL_FRACTION before them, training windows only what comes before.

    Returns:
        ``(train, val, test, val_start, test_start)`` (the last two are time steps).

    Example:
        >>> tr, va, te, vs, ts = time_ordered_split(100, 10, 5)
        >>> (vs, ts, max(tr) + 10 + 5 <= vs, min(va) + 10 >= vs, min(te) + 10 >= ts)
        (60, 80, True, True, True)
    """
    n_test = max(horizon, round(n_steps * TEST_FRACTION))
    n_val = max(horizon, round(n_steps * VAL_FRACTION))
    test_start = n_steps - n_test
    val_start = test_start - n_val
    last = n_steps - window - horizon  # last window index with a full target
    train = tuple(range(0, max(0, val_start - window - horizon + 1)))
    val = tuple(range(max(0, val_start - window), test_start - window - horizon + 1))
    test = tuple(range(max(0, test_start - window), last + 1))
    if len(train) < MIN_TRAIN_WINDOWS or not val or not test:
        raise DataError(
            f"{n_steps} time steps leave {len(train)} training windows for window {window} and "
            f"horizon {horizon}; give a longer series or smaller --window/--horizon."
        )
    return train, val, test, val_start, test_start


def panel_mase_scale(targets: list[np.ndarray], season: int) -> float:
    """MASE denominator of several series: every series' in-sample seasonal naive absolute
    errors pooled (differences taken within a series, never across two), then averaged:
    below, (1 + 1 + 4) / 3.

    Example:
        >>> panel_mase_scale([np.array([0.0, 1.0, 2.0]), np.array([5.0, 9.0])], 1)
        2.0
    """
    m = max(1, season)
    diffs = [np.abs(y[m:] - y[:-m]) for y in map(np.asarray, targets) if len(y) > m]
    if not diffs:
        return 1.0
    scale = float(np.mean(np.concatenate(diffs)))
    return scale if scale > 1e-12 else 1.0


def mase_scale(target: np.ndarray, season: int) -> float:
    """Mean absolute error of the in-sample seasonal naive forecast (the MASE denominator)."""
    m = max(1, season)
    y = np.asarray(target, dtype=np.float64)
    if len(y) <= m:
        return 1.0
    scale = float(np.mean(np.abs(y[m:] - y[:-m])))
    return scale if scale > 1e-12 else 1.0


@dataclass(frozen=True)
class ForecastWindowing(JsonRecord):
    """How dated series become windows: time column, grid, window, horizon, season.

    ``id_column`` names the series of a long-format table (``None``: one series).
    """

    time_column: str
    frequency: str
    window: int
    horizon: int
    season: int
    mase_scale: float = 1.0
    id_column: str | None = None

    def _check_columns(self, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
        ids = (self.id_column,) if self.id_column is not None else ()
        missing = [c for c in (*ids, self.time_column, *columns) if c not in frame.columns]
        if missing:
            what = "the series id column, " if ids else ""
            raise DataError(
                f"The history lacks column {missing[0]!r}; pass {what}the time column, the "
                "target and any covariates the model was trained on."
            )

    def series(
        self, frame: pd.DataFrame, columns: tuple[str, ...]
    ) -> tuple[pd.DatetimeIndex, np.ndarray, dict[str, Any]]:
        """Rows → (regular time grid, values (T, C) with gaps filled, fill facts)."""
        self._check_columns(frame, columns)
        times = parse_times(frame[self.time_column])
        return regularise(times, numeric_values(frame, columns), self.frequency)

    def panel(self, frame: pd.DataFrame, columns: tuple[str, ...]) -> list[SeriesGrid]:
        """Rows → every series on its regular grid (one series when there is no id column)."""
        self._check_columns(frame, columns)
        if self.id_column is None:
            grid, values, fill = self.series(frame, columns)
            return [SeriesGrid(None, grid, values, fill)]
        times = parse_times(frame[self.time_column])
        values = numeric_values(frame, columns)
        return regularise_panel(frame[self.id_column], times, values, self.frequency)

    def future_times(self, last: pd.Timestamp) -> pd.DatetimeIndex:
        """The ``horizon`` time steps after ``last``."""
        return pd.date_range(last, periods=self.horizon + 1, freq=self.frequency)[1:]


def forecast_baselines(x: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    """Naive (last value) and seasonal-naive forecasts from input windows (N, W, C).

    Channel 0 is the target. Returns ``{name: (N, horizon)}``.

    Example:
        >>> x = np.arange(8.0).reshape(1, 8, 1)
        >>> forecast_baselines(x, 3, 4)["seasonal_naive"].tolist()
        [[4.0, 5.0, 6.0]]
    """
    y = x[:, :, 0]
    naive = np.repeat(y[:, -1:], horizon, axis=1)
    m = max(1, min(season, y.shape[1]))
    idx = y.shape[1] - m + (np.arange(horizon) % m)
    return {"naive": naive, "seasonal_naive": y[:, idx]}


def forecast_metrics(
    outputs: np.ndarray, y: np.ndarray, target_std: float, scale: float
) -> dict[str, float]:
    """MAE, RMSE and MASE (against the training seasonal-naive error) in target units.

    ``outputs`` and ``y`` are standardised (N, H) arrays, as the networks see them.

    Example:
        >>> m = forecast_metrics(np.zeros((2, 2)), np.ones((2, 2)), 2.0, 4.0)
        >>> (m["mae"], m["rmse"], m["mase"])
        (2.0, 2.0, 0.5)
    """
    err = (np.asarray(outputs).reshape(np.shape(y)) - y) * target_std
    mae = float(np.mean(np.abs(err)))
    return {"mae": mae, "rmse": float(np.sqrt(np.mean(err**2))), "mase": mae / scale}


def tile(outputs: np.ndarray, horizon: int) -> np.ndarray:
    """Non-overlapping forecasts: windows 0, H, 2H, … laid end to end (one per step).

    Example:
        >>> tile(np.array([[1, 2], [9, 9], [3, 4]]), 2).tolist()
        [1, 2, 3, 4]
    """
    return np.asarray(outputs).reshape(len(outputs), -1)[::horizon].reshape(-1)
