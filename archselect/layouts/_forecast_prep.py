"""The forecast layout's preparation: each series split in time, its scaling fitted on its
training steps, and the windows ``transform`` cuts from a history.

:func:`fit_windows` fits the preprocessing and says where each series' training, validation
and test windows lie, and from which forecast origins (:class:`ForecastOrigins`, what the
statistical references forecast from); :mod:`archselect.prepare` assembles the prepared
windows from it.

Every series' target is standardised by its own level and scale (the training mean and the
in-sample seasonal naive error): one global model then sees every series in comparable units,
and an absolute error of 1 in those units is a MASE of 1 whatever the series' size (the
selection metric, :data:`archselect.core.metrics.FORECAST_METRIC`); covariates by their mean
and standard deviation over every series' training steps.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from archselect.core.data import Profile
from archselect.core.specs import ForecastSpec
from archselect.errors import DataError, UsageError
from archselect.layouts._forecast_time import MIN_TRAIN_WINDOWS, SeriesGrid, series_label
from archselect.layouts._forecast_windows import (
    ForecastWindowing,
    mase_scale,
    time_ordered_split,
)
from archselect.layouts._preprocessing import Preprocessing
from archselect.layouts.constants import MIN_STD

__all__ = [
    "ForecastOrigins",
    "SeriesSplit",
    "WindowFit",
    "fit_preprocessing",
    "fit_windows",
    "forecast_spec",
    "transform",
]

#: sMAPE of a step where forecast and truth are both 0 (0/0): a perfect forecast.
SMAPE_ZERO = 0.0


@dataclass(frozen=True)
class SeriesSplit:
    """One series: its grid, values and the window indices of each split."""

    grid: SeriesGrid
    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]
    val_start: int
    test_start: int = 0


@dataclass(frozen=True, eq=False)
class ForecastOrigins:
    """Where every series is forecast from, for models that read a whole history.

    Per series (in the prepared windows' order): its label, its target in target units (on
    the regular grid, gaps filled), the forecast origins of its validation and test windows
    (origin ``o``: ``values[:o]`` is known, ``values[o:o + horizon]`` is forecast), the first
    step of its validation and test periods, the level and scale that turn target units into
    the windows' standardised units, and its MASE denominator. Compared by identity (arrays).
    """

    labels: tuple[str, ...]
    values: tuple[np.ndarray, ...]
    val: tuple[tuple[int, ...], ...]
    test: tuple[tuple[int, ...], ...]
    val_start: tuple[int, ...]
    test_start: tuple[int, ...]
    levels: tuple[float, ...]
    scales: tuple[float, ...]
    mase_scales: tuple[float, ...]
    horizon: int
    season: int

    def origins(self, part: str) -> tuple[tuple[int, ...], ...]:
        """Each series' origins of ``part`` (``val`` or ``test``)."""
        return self.val if part == "val" else self.test

    def series_of(self, part: str) -> np.ndarray:
        """The series index of every window row of ``part``."""
        return np.concatenate(
            [np.full(len(o), i, dtype=np.int64) for i, o in enumerate(self.origins(part))]
        )

    def to_units(self, part: str, z: np.ndarray) -> np.ndarray:
        """Standardised rows ``(N, H)`` of ``part`` → target units."""
        s = self.series_of(part)
        scale, level = np.asarray(self.scales)[s, None], np.asarray(self.levels)[s, None]
        return np.asarray(z, dtype=np.float64).reshape(len(s), -1) * scale + level

    def to_z(self, part: str, values: np.ndarray) -> np.ndarray:
        """Forecasts ``(N, H)`` of ``part`` in target units → the windows' standardised units."""
        s = self.series_of(part)
        scale, level = np.asarray(self.scales)[s, None], np.asarray(self.levels)[s, None]
        return ((np.asarray(values, dtype=np.float64) - level) / scale).astype(np.float32)

    def truth(self, part: str) -> np.ndarray:
        """The target after every origin of ``part``, ``(N, H)`` in target units."""
        h = self.horizon
        rows = [
            self.values[i][o : o + h]
            for i, origins in enumerate(self.origins(part))
            for o in origins
        ]
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), h)

    def scores(self, part: str, z_out: np.ndarray) -> dict[str, float]:
        """MAE and RMSE (target units, every row), and MASE and sMAPE (%) averaged over series
        (each series' mean first, so a long series counts as much as a short one).

        Example:
            >>> o = ForecastOrigins(("a", "b"), (np.array([1.0, 2, 4]), np.array([5.0, 5, 7])),
            ...     ((1,), (1,)), ((2,), (2,)), (1, 1), (2, 2), (0.0, 0.0), (1.0, 1.0),
            ...     (1.0, 2.0), 1, 1)
            >>> s = o.scores("test", np.array([[3.0], [5.0]]))  # errors 1 and 2: MASE 1, 1
            >>> {k: round(v, 2) for k, v in s.items()}  # sMAPE: (200/7 + 400/12) / 2
            {'mae': 1.5, 'rmse': 1.58, 'mase': 1.0, 'smape': 30.95}
        """
        f, y = self.to_units(part, z_out), self.truth(part)
        err = np.abs(f - y)
        denom = np.abs(f) + np.abs(y)
        with np.errstate(divide="ignore", invalid="ignore"):
            smape = np.where(denom > 0, 200.0 * err / denom, SMAPE_ZERO)
        s = self.series_of(part)
        mase = [err[s == i].mean() / self.mase_scales[i] for i in np.unique(s)]
        per = [smape[s == i].mean() for i in np.unique(s)]
        return {
            "mae": float(err.mean()),
            "rmse": float(np.sqrt(np.mean((f - y) ** 2))),
            "mase": float(np.mean(mase)),
            "smape": float(np.mean(per)),
        }


@dataclass(frozen=True)
class WindowFit:
    """The fitted preprocessing, each usable series' split in time (series order) and the
    forecast origins of the validation and test windows."""

    preprocessing: Preprocessing
    parts: list[SeriesSplit]
    origins: ForecastOrigins | None = None


def forecast_spec(profile: Profile) -> ForecastSpec:
    """The profile's forecast spec (a profile of another layout is a programming error).

    Raises:
        UsageError: The profile's spec is not a forecast's.
    """
    if not isinstance(profile.spec, ForecastSpec):
        raise UsageError(
            f"The profile's spec is {type(profile.spec).__name__}, not a forecast; profile "
            "the data again with this version of archselect."
        )
    return profile.spec


def _preprocessing(
    profile: Profile, spec: ForecastWindowing, fit_part: np.ndarray, scale: float
) -> Preprocessing:
    """Forecast preprocessing: covariate scaling fitted on the training steps ``fit_part``
    (T, C); the target channel is scaled per series instead (mean 0, scale 1 here)."""
    mean, std = fit_part.mean(axis=0), fit_part.std(axis=0)
    std = np.where(std > MIN_STD, std, 1.0)
    if spec.per_series:
        mean[0], std[0] = 0.0, 1.0
    return Preprocessing(
        layout=profile.layout,
        task="regression",
        target=profile.target,
        feature_columns=profile.feature_columns,
        input_shape=(spec.window, len(profile.feature_columns)),
        impute=(),
        mean=tuple(map(float, mean)),
        std=tuple(map(float, std)),
        target_mean=float(mean[0]),
        target_std=float(std[0]),
        forecast=dataclasses.replace(spec, mase_scale=scale),
    )


def _split(
    s: SeriesGrid,
    window: int,
    horizon: int,
    min_train: int,
    periods: tuple[int, int] | None = None,
) -> SeriesSplit:
    train, val, test, val_start, test_start = time_ordered_split(
        len(s.values), window, horizon, min_train, periods
    )
    return SeriesSplit(s, train, val, test, val_start, test_start)


def _panel_splits(series: list[SeriesGrid], window: int, horizon: int) -> list[SeriesSplit]:
    """Each usable series' time-ordered split: a series needs a validation and a test origin,
    not training windows of its own (they are pooled). Every series gets as many validation
    (and test) origins as the one with fewest, so each series weighs alike in the metric
    (the mean over rows is the mean over series, as MASE is averaged in the field)."""
    first = []
    for s in series:
        try:
            first.append(_split(s, window, horizon, min_train=0))
        except DataError:
            continue  # too short: left out, as the profile's notes say
    if not first:
        return []
    k_val, k_test = min(len(p.val) for p in first), min(len(p.test) for p in first)
    periods = (horizon + k_val - 1, horizon + k_test - 1)
    return [_split(p.grid, window, horizon, 0, periods) for p in first]


def _origins(
    parts: list[SeriesSplit], spec: ForecastWindowing, pre: Preprocessing
) -> ForecastOrigins:
    w = spec.window
    scales = [
        spec.target_scale(p.grid) if spec.per_series else (pre.target_mean, pre.target_std)
        for p in parts
    ]
    mase = [
        mase_scale(p.grid.values[: p.val_start, 0], spec.season_length)
        if spec.per_series
        else (spec.mase_scale)
        for p in parts
    ]
    return ForecastOrigins(
        labels=tuple(series_label(p.grid.series_id) for p in parts),
        values=tuple(np.asarray(p.grid.values[:, 0], dtype=np.float64) for p in parts),
        val=tuple(tuple(i + w for i in p.val) for p in parts),
        test=tuple(tuple(i + w for i in p.test) for p in parts),
        val_start=tuple(p.val_start for p in parts),
        test_start=tuple(p.test_start for p in parts),
        levels=tuple(float(s[0]) for s in scales),
        scales=tuple(float(s[1]) for s in scales),
        mase_scales=tuple(float(m) for m in mase),
        horizon=spec.horizon,
        season=spec.season_length,
    )


def _series_scales(
    parts: list[SeriesSplit], spec: ForecastWindowing
) -> dict[str, tuple[float, float]]:
    """Each series' level and scale from its training steps (by series label; one series:
    ``""``)."""
    out = {}
    for p in parts:
        y = p.grid.values[: p.val_start, 0]
        key = "" if spec.id_column is None else series_label(p.grid.series_id)
        out[key] = (float(np.mean(y)), mase_scale(y, spec.season_length))
    return out


def fit_windows(frame: pd.DataFrame, profile: Profile) -> WindowFit:
    """Split each series of the history in time and fit on the training steps.

    One series: its validation and test windows are the latest; several: each series' latest
    periods (every series as many origins as the one with fewest), series too short for a
    validation and a test origin left out,
    their training windows pooled. Scaling is fitted on the training steps: each series' target
    by its own level and scale (:func:`_series_scales`), covariates over every series.

    Raises:
        DataError: The series (or every series of a panel) is too short for the window and
            horizon, or the series together leave too few training windows.
    """
    fc = forecast_spec(profile)
    window, horizon = fc.window, fc.horizon
    spec = ForecastWindowing(
        fc.time_column,
        fc.frequency,
        window,
        horizon,
        fc.season,
        id_column=fc.id_column,
        time_kind=fc.time_kind,
        time_format=fc.time_format,
        per_series=True,
        period=fc.period,
    )
    if fc.id_column is None:
        (only,) = spec.panel(frame, profile.feature_columns)
        parts = [_split(only, window, horizon, MIN_TRAIN_WINDOWS)]
    else:
        parts = _panel_splits(spec.panel(frame, profile.feature_columns), window, horizon)
        n_train = sum(len(p.train) for p in parts)
        if n_train < MIN_TRAIN_WINDOWS:
            raise DataError(
                f"The series of {spec.id_column!r} leave {n_train} training windows of "
                f"{window} + {horizon} steps before their validation and test periods; "
                f"forecasting needs at least {MIN_TRAIN_WINDOWS}: give longer series, more "
                "series, or a smaller --horizon/--window."
            )
    spec = dataclasses.replace(spec, series_scales=_series_scales(parts, spec))
    fit_part = np.concatenate([p.grid.values[: p.val_start] for p in parts])
    scale = 1.0  # each series' MASE is its error in its own scaled units
    pre = _preprocessing(profile, spec, fit_part, scale)
    assert pre.forecast is not None
    return WindowFit(pre, parts, _origins(parts, pre.forecast, pre))


def fit_preprocessing(frame: pd.DataFrame, profile: Profile) -> tuple[Preprocessing, list[str]]:
    """The forecast's ``LayoutPlugin.fit_preprocessing``: ``frame`` is the whole history (the
    training steps are the earliest of each series, :func:`fit_windows`)."""
    return fit_windows(frame, profile).preprocessing, []


def transform(pre: Preprocessing, frame: pd.DataFrame) -> np.ndarray:
    """Every input window ``(N, W, C)`` of the history, each series' in turn, the last last."""
    parts = [x for _, x in pre.forecast_windows(frame)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
