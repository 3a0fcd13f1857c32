"""Forecasts: sliding windows over one series or several (a panel), split in time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archselect._errors import DataError, UsageError
from archselect.core.specs import ForecastSpec
from archselect.layouts import forecast as _forecast
from archselect.layouts.forecast import ForecastWindowing, SeriesGrid
from archselect.load import Table
from archselect.prepare._constants import MIN_STD
from archselect.prepare._preprocessing import Preprocessing
from archselect.prepare._splits import PlotSeries, Prepared, Split
from archselect.profile import (
    Profile,
)


def _forecast_preprocessing(
    profile: Profile, spec: ForecastWindowing, fit_part: np.ndarray, mase_scale: float
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
        forecast=ForecastWindowing(**{**spec.__dict__, "mase_scale": mase_scale}),
    )


def _forecast_spec(profile: Profile) -> ForecastSpec:
    """The profile's forecast spec (a profile of another layout is a programming error)."""
    if not isinstance(profile.spec, ForecastSpec):
        raise UsageError(
            f"The profile's spec is {type(profile.spec).__name__}, not a forecast; profile "
            "the data again with this version of archselect."
        )
    return profile.spec


def _prepare_forecast(table: Table, profile: Profile, seed: int) -> Prepared:
    """Sliding windows over the time-sorted series; validation and test are the latest."""
    fc = _forecast_spec(profile)
    if fc.id_column is not None:
        return _prepare_panel_forecast(table, profile, seed)
    window, horizon, season = fc.window, fc.horizon, fc.season
    spec = ForecastWindowing(fc.time_column, fc.frequency, window, horizon, season)
    grid, values, _ = spec.series(table.frame, profile.feature_columns)
    train_w, val_w, test_w, val_start, _ = _forecast.time_ordered_split(
        len(values), window, horizon
    )
    fit_part = values[:val_start]  # scaling and the MASE scale see training steps only
    pre = _forecast_preprocessing(
        profile, spec, fit_part, _forecast.mase_scale(fit_part[:, 0], season)
    )
    mean, std = np.asarray(pre.mean), np.asarray(pre.std)
    x_all = pre.transform(table.frame)
    z = ((values[:, 0] - mean[0]) / std[0]).astype(np.float32)
    y_all = _forecast.window_targets(z, window, horizon)
    split = Split(train_w, val_w, test_w, seed=seed, stratified=False, time_ordered=True)
    parts: list[np.ndarray] = []
    for idx in (train_w, val_w, test_w):
        parts += [x_all[list(idx)], y_all[list(idx)]]
    x_train, y_train, x_val, y_val, x_test, y_test = parts
    notes = (
        f"{len(train_w)} training, {len(val_w)} validation and {len(test_w)} test windows; "
        f"validation predicts steps from {grid[val_start].date()} on, test the last "
        f"{len(values) - (test_w[0] + window)} steps (never shuffled across time)",
    )
    return Prepared(
        pre,
        split,
        x_train,
        y_train,
        x_val,
        y_val,
        x_test,
        y_test,
        notes=notes,
        times=tuple(str(t) for t in grid),
        series=tuple(float(v) for v in values[:, 0]),
    )


@dataclass(frozen=True)
class _SeriesSplit:
    """One series of a panel: its grid, values and window indices of each split."""

    grid: SeriesGrid
    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]
    val_start: int


def _panel_splits(series: list[SeriesGrid], window: int, horizon: int) -> list[_SeriesSplit]:
    """Each usable series' time-ordered split (same fractions as one series)."""
    out = []
    for s in series:
        try:
            train, val, test, val_start, _ = _forecast.time_ordered_split(
                len(s.values), window, horizon
            )
        except DataError:
            continue  # too short: left out, as the profile's notes say
        out.append(_SeriesSplit(s, train, val, test, val_start))
    return out


def _plot_series(parts: list[_SeriesSplit], window: int) -> tuple[int, PlotSeries]:
    """The series with most test windows (the first on ties) and where its windows lie."""
    best = max(range(len(parts)), key=lambda i: (len(parts[i].test), -i))
    start = sum(len(p.test) for p in parts[:best])
    chosen = parts[best]
    label = _forecast.series_label(chosen.grid.series_id)
    plot = PlotSeries(
        series_id=label,
        test_rows=(start, start + len(chosen.test)),
        first_step=chosen.test[0] + window,
        reason=(
            f"series {label!r} of {len(parts)}, the one with most test windows (the first on ties)"
        ),
    )
    return best, plot


def _prepare_panel_forecast(table: Table, profile: Profile, seed: int) -> Prepared:
    """Several series: windows per series, concatenated; each series split in time.

    Validation and test are each series' latest periods (same fractions as one series);
    scaling is fitted on the training steps of every series together, and the MASE scale
    pools their in-sample seasonal naive errors (:func:`_forecast.panel_mase_scale`).
    """
    fc = _forecast_spec(profile)
    window, horizon, season = fc.window, fc.horizon, fc.season
    spec = ForecastWindowing(
        fc.time_column, fc.frequency, window, horizon, season, id_column=fc.id_column
    )
    parts = _panel_splits(spec.panel(table.frame, profile.feature_columns), window, horizon)
    if not parts:
        raise DataError(
            f"No series of {spec.id_column!r} is long enough for window {window} and horizon "
            f"{horizon}; give longer series or smaller --window/--horizon."
        )
    fit_part = np.concatenate([p.grid.values[: p.val_start] for p in parts])
    scale = _forecast.panel_mase_scale([p.grid.values[: p.val_start, 0] for p in parts], season)
    pre = _forecast_preprocessing(profile, spec, fit_part, scale)
    mean, std = np.asarray(pre.mean), np.asarray(pre.std)
    xs: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    ys: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    positions: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    ids: list[str] = []
    target_times: list[str] = []
    for p in parts:
        z = (p.grid.values - mean) / std
        x_all = _forecast.windows(z.astype(np.float32), window)
        y_all = _forecast.window_targets(z[:, 0].astype(np.float32), window, horizon)
        for name, idx in (("train", p.train), ("val", p.val), ("test", p.test)):
            xs[name].append(x_all[list(idx)])
            ys[name].append(y_all[list(idx)])
            positions[name] += [len(ids) + i for i in range(len(idx))]
            ids += [_forecast.series_label(p.grid.series_id)] * len(idx)
            target_times += [str(p.grid.grid[i + window]) for i in idx]
    split = Split(
        tuple(positions["train"]),
        tuple(positions["val"]),
        tuple(positions["test"]),
        seed=seed,
        stratified=False,
        time_ordered=True,
    )
    best, plot = _plot_series(parts, window)
    shown = parts[best].grid
    notes = (
        f"{len(parts)} series, one global model: {len(split.train)} training, "
        f"{len(split.val)} validation and {len(split.test)} test windows; validation and test "
        "are each series' latest periods (never shuffled across time)",
        f"the report plots {plot.reason}",
    )
    return Prepared(
        pre,
        split,
        np.concatenate(xs["train"]),
        np.concatenate(ys["train"]),
        np.concatenate(xs["val"]),
        np.concatenate(ys["val"]),
        np.concatenate(xs["test"]),
        np.concatenate(ys["test"]),
        notes=notes,
        times=tuple(str(t) for t in shown.grid),
        series=tuple(float(v) for v in shown.values[:, 0]),
        plot=plot,
        window_series=tuple(ids),
        window_target_times=tuple(target_times),
    )
