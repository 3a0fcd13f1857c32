"""Forecasting, part 2: window and horizon, sliding windows, the time-ordered split into
rolling forecast origins, the MASE scale and the fitted windowing record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from archselect._common.serde import JsonRecord
from archselect.errors import DataError, UsageError
from archselect.layouts._forecast_index import row_times, time_values
from archselect.layouts._forecast_time import (
    DEFAULT_HORIZON,
    HORIZON,
    MAX_ORIGINS,
    MAX_WINDOW,
    MAX_WINDOW_FRACTION,
    MIN_SEASON_ACF,
    MIN_SHORT_WINDOW,
    MIN_TRAIN_WINDOWS,
    MIN_WINDOW,
    SEASON,
    TEST_FRACTION,
    VAL_FRACTION,
    WINDOW_PER_HORIZON,
    SeriesGrid,
    numeric_values,
    read_time_column,
    regularise,
    regularise_panel,
    series_label,
)

__all__ = [
    "ForecastWindowing",
    "choose_window_horizon",
    "mase_scale",
    "min_length",
    "splits_into_windows",
    "time_ordered_split",
    "window_targets",
    "windows",
]


def splits_into_windows(
    n_steps: int, window: int, horizon: int, min_train: int = MIN_TRAIN_WINDOWS
) -> bool:
    """Whether a series of ``n_steps`` gives :func:`time_ordered_split` its windows."""
    return n_steps >= min_length(window, horizon, min_train)


def min_length(window: int, horizon: int, min_train: int = MIN_TRAIN_WINDOWS) -> int:
    """The fewest steps :func:`time_ordered_split` accepts: ``min_train`` training windows
    (each ``window`` inputs and ``horizon`` targets, one step apart), then one validation and
    one test period of ``horizon`` steps; with no training window, the validation window's
    inputs still come first.

    Example:
        >>> min_length(3, 14)  # 10 windows of 3 + 14 steps: 26 steps, then 14 and 14
        54
        >>> min_length(4, 6, min_train=0)  # one validation and one test origin only
        16
    """
    train_steps = window + horizon + min_train - 1 if min_train > 0 else window
    return train_steps + 2 * horizon


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def _too_short(n: int, window: int, horizon: int, min_train: int, given: bool) -> DataError:
    need = min_length(window, horizon, min_train)
    fix = "a smaller --horizon or --window" if given else "a smaller --horizon"
    return DataError(
        f"The series has {n} time steps; forecasting {_steps(horizon)} from windows of "
        f"{window} needs at least {need}: {min_train} training windows "
        f"({window + horizon + min_train - 1} steps), then {_steps(horizon)} of validation and "
        f"{_steps(horizon)} of test. Give a longer series or {fix}."
    )


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


def _season(target: np.ndarray, group: str) -> tuple[int, int, float, str]:
    """The season (1: none), its calendar candidate, the autocorrelation and the rule."""
    n_train = int(len(target) * (1 - VAL_FRACTION - TEST_FRACTION))
    candidate = SEASON.get(group, 1)
    acf = _acf(target[:n_train], candidate) if candidate > 1 else float("nan")
    season = candidate if candidate > 1 and np.isfinite(acf) and acf > MIN_SEASON_ACF else 1
    if candidate <= 1:
        return season, candidate, acf, f"{group} data: no calendar season"
    rule = (
        f"{group} data: candidate season {candidate}, lag-{candidate} autocorrelation of the "
        f"differenced training series {acf:.2f} "
        + ("> " if season > 1 else "<= ")
        + f"{MIN_SEASON_ACF}"
    )
    return season, candidate, acf, rule


def choose_window_horizon(
    target: np.ndarray,
    group: str,
    *,
    horizon: int | None = None,
    window: int | None = None,
    min_train: int = MIN_TRAIN_WINDOWS,
) -> dict[str, Any]:
    """Season, horizon H and window W for a series, with the rule behind each.

    The window is ``max(MIN_WINDOW, WINDOW_PER_HORIZON x H, season)`` capped at MAX_WINDOW
    and a MAX_WINDOW_FRACTION of the series; a short series gets the longest smaller window
    (down to MIN_SHORT_WINDOW) that still leaves ``min_train`` training windows besides the
    validation and test periods (:func:`time_ordered_split`).

    Raises:
        UsageError: A horizon below 1 or a window below 2.
        DataError: The series is too short even so; the message states the length needed.

    Example:
        >>> y = np.sin(np.arange(240) * 2 * np.pi / 12)
        >>> c = choose_window_horizon(y, "M")
        >>> (c["season"], c["horizon"], c["window"])
        (12, 12, 36)
        >>> choose_window_horizon(np.arange(30.0), "Y", horizon=6)["window"]  # short: smaller
        3
    """
    n = len(target)
    season, candidate, acf, season_rule = _season(target, group)
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
        if not splits_into_windows(n, w, h, min_train):
            raise _too_short(n, w, h, min_train, given=True)
    else:
        preferred = min(max_window, max(MIN_WINDOW, WINDOW_PER_HORIZON * h, season))
        w = next(
            (k for k in range(preferred, MIN_SHORT_WINDOW - 1, -1)
             if splits_into_windows(n, k, h, min_train)),
            0,
        )  # fmt: skip
        if w == 0:
            raise _too_short(n, MIN_SHORT_WINDOW, h, min_train, given=False)
        w_rule = (
            f"max({MIN_WINDOW}, {WINDOW_PER_HORIZON} x horizon, season) capped at "
            f"min({MAX_WINDOW}, {MAX_WINDOW_FRACTION:.0%} of {n} steps)"
        )
        if w < preferred:
            w_rule += (
                f"; shortened from {preferred} so that the series leaves {min_train} training "
                "windows before its validation and test periods"
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
        "min_length": min_length(w, h, min_train),
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


def _origins(first: int, last: int) -> tuple[int, ...]:
    """Window indices ``first … last``, thinned evenly to at most MAX_ORIGINS (both ends kept)."""
    if last < first:
        return ()
    if last - first + 1 <= MAX_ORIGINS:
        return tuple(range(first, last + 1))
    return tuple(int(i) for i in np.unique(np.round(np.linspace(first, last, MAX_ORIGINS))))


def time_ordered_split(
    n_steps: int,
    window: int,
    horizon: int,
    min_train: int = MIN_TRAIN_WINDOWS,
    periods: tuple[int, int] | None = None,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int, int]:
    """Window indices of train, validation and test, in time order, never mixed.

    Window ``i`` reads steps ``[i, i + window)`` and predicts ``[i + window, i + window +
    horizon)``: its forecast origin is step ``i + window``. The test period is the latest
    TEST_FRACTION of the steps and the validation period the VAL_FRACTION before it (each at
    least ``horizon`` steps); a short series shortens both, down to ``horizon`` steps, until
    ``min_train`` training windows fit before them (rolling origins: every origin whose
    ``horizon`` targets lie in a period, thinned evenly to MAX_ORIGINS). Training windows
    predict only steps before the validation period, one window per step. ``periods``
    (validation, test) fixes the two periods' lengths instead (several series: the same
    number of origins in each, so that every series weighs alike in the metric).

    Returns:
        ``(train, val, test, val_start, test_start)`` (the last two are time steps).

    Raises:
        DataError: Too short even with one origin each; the message states the length needed.

    Example:
        >>> tr, va, te, vs, ts = time_ordered_split(100, 10, 5)
        >>> (vs, ts, max(tr) + 10 + 5 <= vs, min(va) + 10 >= vs, min(te) + 10 >= ts)
        (60, 80, True, True, True)
        >>> time_ordered_split(30, 3, 6)[1:]  # short: one validation and one test origin
        ((15,), (21,), 18, 24)
    """
    if n_steps < min_length(window, horizon, min_train):
        raise _too_short(n_steps, window, horizon, min_train, given=True)
    n_test = max(horizon, round(n_steps * TEST_FRACTION))
    n_val = max(horizon, round(n_steps * VAL_FRACTION))
    if periods is not None:
        n_val, n_test = periods
    while True:
        val_start = n_steps - n_test - n_val
        n_train = max(0, val_start - window - horizon + 1)
        if n_train >= min_train and val_start >= window:
            break
        n_test, n_val = max(horizon, n_test - 1), max(horizon, n_val - 1)
    test_start = n_steps - n_test
    train = tuple(range(n_train))
    val = _origins(val_start - window, test_start - window - horizon)
    test = _origins(test_start - window, n_steps - window - horizon)
    return train, val, test, val_start, test_start


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
    ``time_kind`` and ``time_format`` say how the time column is read and how forecast times
    are written back (:mod:`archselect.layouts._forecast_index`); a ``row`` time index has no
    column (``time_column`` is then only the output column's name).

    ``per_series`` (every forecast profiled by this archselect): each series' target is
    standardised by its own level and scale, the training mean and the in-sample seasonal
    naive error, so every series counts alike in the loss and the metrics and an absolute
    error of 1 is a MASE of 1; they are kept by series label in ``series_scales`` (one
    series: under ``""``), and a series unseen in training gets them from the history it is
    given. Without it (a model from before), the preprocessing's global mean and standard
    deviation serve. ``period`` is the calendar season
    (:class:`archselect.core.specs.ForecastSpec`; 0: ``season`` serves).
    """

    time_column: str
    frequency: str
    window: int
    horizon: int
    season: int
    mase_scale: float = 1.0
    id_column: str | None = None
    time_kind: str = "datetime"
    time_format: str | None = None
    per_series: bool = False
    series_scales: dict[str, tuple[float, float]] = field(default_factory=dict)
    period: int = 0

    @property
    def season_length(self) -> int:
        """The calendar season: the references' season length and the MASE lag."""
        return self.period or self.season

    def _check_columns(self, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
        ids = (self.id_column,) if self.id_column is not None else ()
        times = (self.time_column,) if self.time_kind != "row" else ()
        missing = [c for c in (*ids, *times, *columns) if c not in frame.columns]
        if missing:
            what = "the series id column, " if ids else ""
            when = "the time column, " if times else ""
            raise DataError(
                f"The history lacks column {missing[0]!r}; pass {what}{when}the target and any "
                "covariates the model was trained on."
            )

    def read_times(self, frame: pd.DataFrame) -> pd.Series:
        """Each row's time on the internal axis (a ``row`` index: file order, from 1)."""
        if self.time_kind == "row":
            return row_times(len(frame), frame.index)
        return read_time_column(frame[self.time_column], self.time_kind)

    def time_values(self, grid: pd.DatetimeIndex) -> np.ndarray:
        """Grid times as the user wrote them (years, periods, period strings or dates)."""
        return time_values(grid, self.time_kind, self.time_format)

    def time_text(self, grid: pd.DatetimeIndex) -> list[str]:
        """Grid times as text in the user's form (dates without a midnight time)."""
        values = self.time_values(grid)
        if self.time_kind != "datetime" or self.time_format is not None:
            return [str(v) for v in values]
        t = pd.DatetimeIndex(grid)
        midnight = bool((t == t.normalize()).all())
        return [str(v.date()) if midnight else str(v) for v in t]

    def series(
        self, frame: pd.DataFrame, columns: tuple[str, ...]
    ) -> tuple[pd.DatetimeIndex, np.ndarray, dict[str, Any]]:
        """Rows → (regular time grid, values (T, C) with gaps filled, fill facts)."""
        self._check_columns(frame, columns)
        times = self.read_times(frame)
        return regularise(times, numeric_values(frame, columns), self.frequency)

    def panel(self, frame: pd.DataFrame, columns: tuple[str, ...]) -> list[SeriesGrid]:
        """Rows → every series on its regular grid (one series when there is no id column)."""
        self._check_columns(frame, columns)
        if self.id_column is None:
            grid, values, fill = self.series(frame, columns)
            return [SeriesGrid(None, grid, values, fill)]
        times = self.read_times(frame)
        values = numeric_values(frame, columns)
        return regularise_panel(frame[self.id_column], times, values, self.frequency)

    def future_times(self, last: pd.Timestamp) -> pd.DatetimeIndex:
        """The ``horizon`` time steps after ``last``."""
        return pd.date_range(last, periods=self.horizon + 1, freq=self.frequency)[1:]

    def target_scale(
        self, series: SeriesGrid, fit_steps: int | None = None
    ) -> tuple[float, float]:
        """Several series: the level and scale of ``series``' target — stored for a series
        seen in training, else from its first ``fit_steps`` values (all by default).

        Example:
            >>> fw = ForecastWindowing("t", "D", 2, 1, 1, per_series=True)
            >>> g = SeriesGrid("a", pd.DatetimeIndex([]), np.array([[1.0], [3.0], [2.0]]), {})
            >>> fw.target_scale(g)  # mean 2, mean absolute step 1.5
            (2.0, 1.5)
        """
        key = "" if self.id_column is None else series_label(series.series_id)
        known = self.series_scales.get(key)
        if known is not None:
            return float(known[0]), float(known[1])
        y = series.values[:fit_steps, 0]
        return float(np.mean(y)), mase_scale(y, self.season_length)
