"""Forecasts: sliding windows over one series or several (a panel), split in time."""

from __future__ import annotations

import numpy as np

from archselect.layouts import SeriesSplit, WindowFit, fit_windows
from archselect.layouts import forecast as _forecast
from archselect.load import Table
from archselect.prepare._splits import PlotSeries, Prepared, Split
from archselect.profile import Profile


def _prepare_forecast(table: Table, profile: Profile, seed: int) -> Prepared:
    """Sliding windows over the time-sorted series; validation and test are the latest."""
    fit = fit_windows(table.frame, profile)  # the forecast layout's split in time and fit
    pre = fit.preprocessing
    assert pre.forecast is not None
    if pre.forecast.id_column is not None:
        return _prepare_panel_forecast(seed, fit)
    (only,) = fit.parts
    spec = pre.forecast
    window, horizon = spec.window, spec.horizon
    grid, values = only.grid.grid, only.grid.values
    train_w, val_w, test_w, val_start = only.train, only.val, only.test, only.val_start
    z = pre.standardise(only.grid)
    x_all = _forecast.windows(z, window)
    y_all = _forecast.window_targets(z[:, 0], window, horizon)
    split = Split(train_w, val_w, test_w, seed=seed, stratified=False, time_ordered=True)
    parts: list[np.ndarray] = []
    for idx in (train_w, val_w, test_w):
        parts += [x_all[list(idx)], y_all[list(idx)]]
    x_train, y_train, x_val, y_val, x_test, y_test = parts
    text = spec.time_text(grid)
    notes = (
        f"{len(train_w)} training windows; {len(val_w)} validation and {len(test_w)} test "
        f"forecast origins (rolling, {horizon} steps each): validation predicts steps from "
        f"{text[val_start]} on, test the last {len(values) - only.test_start} steps (never "
        "shuffled across time)",
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
        times=tuple(text),
        series=tuple(float(v) for v in values[:, 0]),
        origins=fit.origins,
    )


def _plot_series(parts: list[SeriesSplit], window: int) -> tuple[int, PlotSeries]:
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


def _prepare_panel_forecast(seed: int, fit: WindowFit) -> Prepared:
    """Several series: windows per series, concatenated; each series split in time.

    Validation and test are each series' latest periods, with as many forecast origins in
    every series (the fewest any series has), so every series weighs alike; each
    series' target is scaled by its own level and scale (its training mean and in-sample
    seasonal naive error), the covariates by their mean and deviation over every series'
    training steps.
    """
    pre, parts = fit.preprocessing, fit.parts
    spec = pre.forecast
    assert spec is not None
    window, horizon = spec.window, spec.horizon
    xs: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    ys: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    positions: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    ids: list[str] = []
    target_times: list[str] = []
    for p in parts:
        z = pre.standardise(p.grid)
        x_all = _forecast.windows(z, window)
        y_all = _forecast.window_targets(z[:, 0], window, horizon)
        text = spec.time_text(p.grid.grid)
        for name, idx in (("train", p.train), ("val", p.val), ("test", p.test)):
            xs[name].append(x_all[list(idx)])
            ys[name].append(y_all[list(idx)])
            positions[name] += [len(ids) + i for i in range(len(idx))]
            ids += [_forecast.series_label(p.grid.series_id)] * len(idx)
            target_times += [text[i + window] for i in idx]
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
        f"{len(parts)} series, one global model: {len(split.train)} training windows, "
        f"{len(split.val)} validation and {len(split.test)} test forecast origins; validation "
        "and test are each series' latest periods, the same number of origins in every series "
        "(never shuffled across time); each series' "
        "target is scaled by its own training mean and in-sample naive error",
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
        times=tuple(spec.time_text(shown.grid)),
        series=tuple(float(v) for v in shown.values[:, 0]),
        plot=plot,
        window_series=tuple(ids),
        window_target_times=tuple(target_times),
        origins=fit.origins,
    )
