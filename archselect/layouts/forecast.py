"""The forecast layout: a date/time column and a numeric target, one series or several.

Two detectors: ``forecast.panel`` (several dated series in long format, an id column
naming each; run first, before long format) and ``forecast.dated`` (one column of distinct
times; after free text). The helpers live in :mod:`._forecast_time` (time columns,
frequency, gaps, the regular grid) and :mod:`._forecast_windows` (window and horizon,
windows, the split, the MASE scale, the fitted :class:`ForecastWindowing`, the naive
baselines); this module re-exports them as the layout's API.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from archselect.core.kinds import LAYOUT_TRAITS, Form, LayoutName, Modality, Task
from archselect.core.specs import ForecastSpec
from archselect.errors import DataError, UsageError
from archselect.layouts import _forecast_prep
from archselect.layouts._base import (
    Decision,
    DetectContext,
    Detector,
    LayoutPlugin,
    SequenceOptions,
)
from archselect.layouts._forecast_time import (
    FORECAST_THRESHOLDS,
    MAX_FILL_FRACTION,
    MAX_FILL_RUN,
    MIN_STEPS_PER_SERIES,
    MIN_TRAIN_WINDOWS,
    SeriesGrid,
    detect_frequency,
    find_repeated_time_column,
    find_series_id,
    find_time_column,
    numeric_values,
    panel_fill,
    parse_times,
    regularise,
    regularise_panel,
    series_label,
)
from archselect.layouts._forecast_windows import (
    ForecastWindowing,
    choose_window_horizon,
    forecast_baselines,
    forecast_metrics,
    mase_scale,
    panel_mase_scale,
    splits_into_windows,
    tile,
    time_ordered_split,
    window_targets,
    windows,
)
from archselect.layouts._prepare_rows import no_check

__all__ = [
    "FORECAST_THRESHOLDS",
    "LAYOUT",
    "MAX_FILL_FRACTION",
    "MAX_FILL_RUN",
    "MIN_STEPS_PER_SERIES",
    "MIN_TRAIN_WINDOWS",
    "ForecastWindowing",
    "SeriesGrid",
    "choose_window_horizon",
    "detect_frequency",
    "find_repeated_time_column",
    "find_series_id",
    "find_time_column",
    "forecast_baselines",
    "forecast_metrics",
    "mase_scale",
    "numeric_values",
    "panel_fill",
    "panel_mase_scale",
    "parse_times",
    "regularise",
    "regularise_panel",
    "series_label",
    "splits_into_windows",
    "tile",
    "time_ordered_split",
    "window_targets",
    "windows",
]


def _forecast_decision(
    frame: pd.DataFrame,
    time_col: str,
    time_ev: dict[str, Any],
    options: SequenceOptions,
    evidence: dict[str, Any],
) -> Decision:
    target = options.target
    covariates = [str(c) for c in options.numeric if str(c) not in (target, time_col)]
    left_out = [str(c) for c in frame.columns if str(c) not in (target, time_col, *covariates)]
    times = parse_times(frame[time_col])
    freq = detect_frequency(times)
    columns = (target, *covariates)
    values = numeric_values(frame, columns)
    grid, filled, fill = regularise(times, values, freq["frequency"])
    choice = choose_window_horizon(
        filled[:, 0], freq["group"], horizon=options.horizon, window=options.window
    )
    evidence["forecast"] = {
        "time_column": time_col,
        "time_columns": time_ev,
        **freq,
        **fill,
        "fill_policy": (
            f"missing steps filled by linear interpolation in time when at most "
            f"{MAX_FILL_FRACTION:.0%} are missing and no gap exceeds "
            f"{MAX_FILL_RUN} steps; otherwise refused"
        ),
        "start": str(grid[0]),
        "end": str(grid[-1]),
        "covariates": covariates,
        **choice,
        "selection_metric": (
            "rmse (MASE is MAE over a constant, so it ranks like MAE; RMSE is what the MSE "
            "loss trains and what the paired bootstrap of squared errors compares)"
        ),
        "thresholds": dict(FORECAST_THRESHOLDS),
    }
    notes = [f"column {c!r} left out: not numeric" for c in left_out]
    if fill["filled"]:
        notes.append(
            f"{fill['missing_steps']} missing {freq['frequency']} steps filled by linear "
            f"interpolation (longest gap {fill['longest_gap']})"
        )
    spec = ForecastSpec(
        time_column=time_col,
        frequency=str(freq["frequency"]),
        window=int(choice["window"]),
        horizon=int(choice["horizon"]),
        season=int(choice["season"]),
        covariates=tuple(covariates),
    )
    return Decision(
        Modality.SEQUENTIAL,
        LayoutName.FORECAST,
        Form.DATED_SERIES,
        (int(choice["window"]), len(columns)),
        0.95 if fill["missing_timestamps"] == 0 else 0.85,
        f"column {time_col!r} holds {freq['frequency']} timestamps and {target!r} is "
        f"numeric: forecast {choice['horizon']} steps from windows of {choice['window']}",
        list(columns),
        dropped=left_out,
        notes=notes,
        time_column=time_col,
        spec=spec,
    )


def _varies_within(frame: pd.DataFrame, id_col: str, target: str) -> bool:
    """Whether the target takes more than one value within some series id."""
    per_id = frame[[id_col, target]].dropna().groupby(id_col, sort=False)[target].nunique()
    return bool((per_id > 1).any())


def _panel_forecast(
    frame: pd.DataFrame,
    id_col: str | None,
    time_col: str | None,
    options: SequenceOptions,
    evidence: dict[str, Any],
) -> Decision | None:
    """Several dated series in long format → ``forecast`` with an id column, else None.

    Rule: a numeric target, a column of dates whose times repeat (no column of distinct
    times: that is one series) or ``--time-col``, and a series id column (``--id-col`` or
    :func:`find_series_id`) within which the target varies.
    """
    target = options.target
    if not pd.api.types.is_numeric_dtype(frame[target]):
        return None
    one_series = id_col is None and time_col is None
    if one_series and find_time_column(frame, exclude=target)[0] is not None:
        return None  # a column of distinct times: the single-series path decides
    exclude = tuple(c for c in (target, id_col) if c)
    found_time = find_repeated_time_column(frame, exclude, time_col)
    if found_time is None:
        if id_col is not None and options.want == LayoutName.FORECAST:
            raise UsageError(
                f"--layout forecast with --id-col {id_col!r} needs a column of dates; the "
                "data has none (name it with --time-col)."
            )
        return None
    series_id, id_ev = find_series_id(frame, found_time, (target,), id_col)
    evidence["series_ids"] = id_ev
    if series_id is None or not _varies_within(frame, series_id, target):
        return None
    id_rule = (
        "given with --id-col"
        if id_col is not None
        else "the coarsest text or whole-number column whose (id, time) pairs are unique, "
        f"with more than one series and at least {MIN_STEPS_PER_SERIES} rows per "
        f"series on average; the time column {found_time!r} repeats across series"
    )
    return _panel_forecast_decision(frame, found_time, series_id, id_rule, options, evidence)


def _median_series(series: list[SeriesGrid]) -> SeriesGrid:
    """The series of median length (the shorter of the two middle ones), first on ties."""
    order = sorted(range(len(series)), key=lambda i: (len(series[i].values), i))
    return series[order[(len(order) - 1) // 2]]


def _panel_forecast_decision(
    frame: pd.DataFrame,
    time_col: str,
    id_col: str,
    id_rule: str,
    options: SequenceOptions,
    evidence: dict[str, Any],
) -> Decision:
    target = options.target
    used = (target, time_col, id_col)
    covariates = [str(c) for c in options.numeric if str(c) not in used]
    left_out = [str(c) for c in frame.columns if str(c) not in (*used, *covariates)]
    times = parse_times(frame[time_col])
    freq = detect_frequency(times)
    columns = (target, *covariates)
    values = numeric_values(frame, columns)
    series = regularise_panel(frame[id_col], times, values, freq["frequency"])
    typical = _median_series(series)
    choice = choose_window_horizon(
        typical.values[:, 0], freq["group"], horizon=options.horizon, window=options.window
    )
    w, h = int(choice["window"]), int(choice["horizon"])
    kept = [s for s in series if splits_into_windows(len(s.values), w, h)]
    short = [series_label(s.series_id) for s in series if s not in kept]
    if not kept:
        raise DataError(
            f"Every series of {id_col!r} is too short for window {w} and horizon {h}; give "
            "longer series or smaller --window/--horizon."
        )
    fill = panel_fill(kept)
    evidence["forecast"] = {
        "time_column": time_col,
        "id_column": id_col,
        "id_rule": id_rule,
        "n_series": len(series),
        "series_kept": len(kept),
        "series_dropped": short,
        "series_rule": (
            "every series regularised on the common frequency and gap-filled separately; a "
            "series that leaves fewer than "
            f"{MIN_TRAIN_WINDOWS} training windows (or no validation or test "
            "window) is left out; window and horizon chosen on the series of median length "
            f"({series_label(typical.series_id)!r}, {len(typical.values)} steps)"
        ),
        **freq,
        **fill,
        "fill_policy": (
            f"missing steps of each series filled by linear interpolation in time when at "
            f"most {MAX_FILL_FRACTION:.0%} are missing and no gap exceeds "
            f"{MAX_FILL_RUN} steps; otherwise refused"
        ),
        "start": str(min(s.grid[0] for s in kept)),
        "end": str(max(s.grid[-1] for s in kept)),
        "covariates": covariates,
        **choice,
        "selection_metric": (
            "rmse (MASE is MAE over a constant, so it ranks like MAE; RMSE is what the MSE "
            "loss trains and what the paired bootstrap of squared errors compares)"
        ),
        "mase_scale_rule": (
            "in-sample seasonal naive absolute errors of every series' training steps, pooled "
            "(differences within a series only) and averaged"
        ),
        "thresholds": dict(FORECAST_THRESHOLDS),
    }
    notes = [f"column {c!r} left out: not numeric" for c in left_out]
    if short:
        notes.append(
            f"{len(short)} of {len(series)} series left out, too short for window {w} and "
            f"horizon {h} with train/validation/test periods: {', '.join(short[:5])}"
            + (" …" if len(short) > 5 else "")
        )
    if fill["filled"]:
        notes.append(
            f"{fill['missing_steps']} missing {freq['frequency']} steps filled by linear "
            f"interpolation within their series (longest gap {fill['longest_gap']})"
        )
    spec = ForecastSpec(
        time_column=time_col,
        frequency=str(freq["frequency"]),
        window=w,
        horizon=h,
        season=int(choice["season"]),
        id_column=id_col,
        covariates=tuple(covariates),
    )
    return Decision(
        Modality.SEQUENTIAL,
        LayoutName.FORECAST,
        Form.DATED_LONG,
        (w, len(columns)),
        0.95 if fill["missing_timestamps"] == 0 else 0.85,
        f"{len(kept)} series named by {id_col!r} with {freq['frequency']} timestamps in "
        f"{time_col!r} and numeric {target!r}: one global model forecasts {h} steps from "
        f"windows of {w}",
        list(columns),
        dropped=left_out,
        notes=notes,
        id_column=id_col,
        time_column=time_col,
        spec=spec,
    )


# --- the detectors ---------------------------------------------------------------------------


def _detect_panel(ctx: DetectContext) -> Decision | None:
    """``forecast.panel``: several dated series in long format (before long format)."""
    if ctx.want not in (None, LayoutName.FORECAST) or ctx.task == Task.CLASSIFICATION:
        return None
    if ctx.modality == Modality.SPATIAL:
        return None
    options = ctx.sequence_options()
    return _panel_forecast(ctx.frame, ctx.id_col, ctx.time_col, options, ctx.evidence)


def _detect_dated(ctx: DetectContext) -> Decision | None:
    """``forecast.dated``: one column of distinct dates and a numeric target."""
    if ctx.want not in (None, LayoutName.FORECAST) or ctx.modality == Modality.SPATIAL:
        return None
    options = ctx.sequence_options()
    time_col, time_ev = find_time_column(ctx.frame, exclude=options.target)
    numeric_target = pd.api.types.is_numeric_dtype(ctx.frame[options.target])
    if time_col is None or options.task == Task.CLASSIFICATION or not numeric_target:
        # a dated table with a class label is a table (its time column a feature or an id)
        if time_ev:
            ctx.evidence["time_columns"] = time_ev
        decision = None
    else:
        decision = _forecast_decision(ctx.frame, time_col, time_ev, options, ctx.evidence)
    if decision is None and ctx.want == LayoutName.FORECAST:
        raise UsageError(
            "--layout forecast needs a date/time column and a numeric target; the data "
            "has no column of dates."
        )
    return decision


#: The forecast references: the classic naive forecasts and a linear autoregression.
FORECAST_BASELINES = ("naive", "seasonal_naive", "linear_autoregression")


def _baselines(task: str) -> tuple[str, ...]:
    return FORECAST_BASELINES


#: The forecast layout: several series first (they look like long format), one series after
#: free text.
LAYOUT = LayoutPlugin(
    name=LayoutName.FORECAST,
    modality=Modality.SEQUENTIAL,
    forms=(Form.DATED_SERIES, Form.DATED_LONG),
    spec_type=ForecastSpec,
    detectors=(
        Detector("forecast.panel", _detect_panel, reads="frame"),
        Detector("forecast.dated", _detect_dated),
    ),
    traits=LAYOUT_TRAITS[LayoutName.FORECAST],
    baselines=_baselines,
    options=("--id-col", "--time-col"),
    fit_preprocessing=_forecast_prep.fit_preprocessing,
    transform=_forecast_prep.transform,
    check_rows=no_check,
)
