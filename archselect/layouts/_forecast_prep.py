"""The forecast layout's preparation: each series split in time, the scaling and the MASE
scale fitted on the training steps, and the windows ``transform`` cuts from a history.

:func:`fit_windows` fits the preprocessing and says where each series' training, validation
and test windows lie; :mod:`archselect.prepare` assembles the prepared windows from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from archselect.core.data import Profile
from archselect.core.specs import ForecastSpec
from archselect.errors import DataError, UsageError
from archselect.layouts._forecast_time import SeriesGrid
from archselect.layouts._forecast_windows import (
    ForecastWindowing,
    mase_scale,
    panel_mase_scale,
    time_ordered_split,
)
from archselect.layouts._preprocessing import Preprocessing
from archselect.layouts.constants import MIN_STD

__all__ = [
    "SeriesSplit",
    "WindowFit",
    "fit_preprocessing",
    "fit_windows",
    "forecast_spec",
    "transform",
]


@dataclass(frozen=True)
class SeriesSplit:
    """One series: its grid, values and the window indices of each split."""

    grid: SeriesGrid
    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]
    val_start: int


@dataclass(frozen=True)
class WindowFit:
    """The fitted preprocessing and each usable series' split in time (series order)."""

    preprocessing: Preprocessing
    parts: list[SeriesSplit]


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
    """Forecast preprocessing: scaling fitted on the training steps ``fit_part`` (T, C)."""
    mean, std = fit_part.mean(axis=0), fit_part.std(axis=0)
    std = np.where(std > MIN_STD, std, 1.0)
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
        forecast=ForecastWindowing(**{**spec.__dict__, "mase_scale": scale}),
    )


def _panel_splits(series: list[SeriesGrid], window: int, horizon: int) -> list[SeriesSplit]:
    """Each usable series' time-ordered split (same fractions as one series)."""
    out = []
    for s in series:
        try:
            train, val, test, val_start, _ = time_ordered_split(len(s.values), window, horizon)
        except DataError:
            continue  # too short: left out, as the profile's notes say
        out.append(SeriesSplit(s, train, val, test, val_start))
    return out


def fit_windows(frame: pd.DataFrame, profile: Profile) -> WindowFit:
    """Split each series of the history in time and fit on the training steps.

    One series: its validation and test windows are the latest; several: each series' latest
    periods (same fractions), series too short for a split left out. Scaling is fitted on the
    training steps of every series together, and the MASE scale pools their in-sample
    seasonal naive errors (:func:`panel_mase_scale`).

    Raises:
        DataError: The series (or every series of a panel) is too short for the window and
            horizon.
    """
    fc = forecast_spec(profile)
    window, horizon, season = fc.window, fc.horizon, fc.season
    if fc.id_column is None:
        spec = ForecastWindowing(fc.time_column, fc.frequency, window, horizon, season)
        (only,) = spec.panel(frame, profile.feature_columns)
        train, val, test, val_start, _ = time_ordered_split(len(only.values), window, horizon)
        parts = [SeriesSplit(only, train, val, test, val_start)]
        fit_part = only.values[:val_start]  # scaling and the MASE scale see training steps
        scale = mase_scale(fit_part[:, 0], season)
    else:
        spec = ForecastWindowing(
            fc.time_column, fc.frequency, window, horizon, season, id_column=fc.id_column
        )
        parts = _panel_splits(spec.panel(frame, profile.feature_columns), window, horizon)
        if not parts:
            raise DataError(
                f"No series of {spec.id_column!r} is long enough for window {window} and "
                f"horizon {horizon}; give longer series or smaller --window/--horizon."
            )
        fit_part = np.concatenate([p.grid.values[: p.val_start] for p in parts])
        scale = panel_mase_scale([p.grid.values[: p.val_start, 0] for p in parts], season)
    return WindowFit(_preprocessing(profile, spec, fit_part, scale), parts)


def fit_preprocessing(frame: pd.DataFrame, profile: Profile) -> tuple[Preprocessing, list[str]]:
    """The forecast's ``LayoutPlugin.fit_preprocessing``: ``frame`` is the whole history (the
    training steps are the earliest of each series, :func:`fit_windows`)."""
    return fit_windows(frame, profile).preprocessing, []


def transform(pre: Preprocessing, frame: pd.DataFrame) -> np.ndarray:
    """Every input window ``(N, W, C)`` of the history, each series' in turn, the last last."""
    parts = [x for _, x in pre.forecast_windows(frame)]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
