"""The forecast layout: a date/time column and a numeric target, one series or several.

Two detectors: ``forecast.panel`` (several series in long format, an id column naming
each; run first, before long format) and ``forecast.dated`` (one column of distinct times, or
none: the rows in file order; after free text). The time index may be dates, period strings,
whole-number years or periods, or the file order (:mod:`._forecast_index`). The helpers live
in :mod:`._forecast_time` (time columns, frequency, gaps, the regular grid),
:mod:`._forecast_windows` (window and horizon, windows, the split into rolling forecast
origins, the MASE scale, the fitted :class:`ForecastWindowing`) and :mod:`._forecast_decide`
(the decisions and their evidence); this module re-exports them as the layout's API.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from archselect.core.kinds import LAYOUT_TRAITS, Form, LayoutName, Modality, Task
from archselect.core.specs import ForecastSpec
from archselect.errors import UsageError
from archselect.layouts import _forecast_prep
from archselect.layouts._base import (
    Decision,
    DetectContext,
    Detector,
    LayoutPlugin,
    SequenceOptions,
)
from archselect.layouts._forecast_decide import PanelReading, panel_decision, single_decision
from archselect.layouts._forecast_index import (
    ROW_TIME_COLUMN,
    TIME_KINDS,
    read_time_column,
    time_values,
)
from archselect.layouts._forecast_time import (
    FORECAST_THRESHOLDS,
    MAX_FILL_FRACTION,
    MAX_FILL_RUN,
    MAX_ORIGINS,
    MIN_SHORT_WINDOW,
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
    mase_scale,
    min_length,
    splits_into_windows,
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
    "MAX_ORIGINS",
    "MIN_SHORT_WINDOW",
    "MIN_STEPS_PER_SERIES",
    "MIN_TRAIN_WINDOWS",
    "ROW_TIME_COLUMN",
    "TIME_KINDS",
    "ForecastSpec",
    "ForecastWindowing",
    "SeriesGrid",
    "choose_window_horizon",
    "detect_frequency",
    "find_repeated_time_column",
    "find_series_id",
    "find_time_column",
    "mase_scale",
    "min_length",
    "numeric_values",
    "panel_fill",
    "parse_times",
    "read_time_column",
    "reads_as_forecast",
    "regularise",
    "regularise_panel",
    "series_label",
    "splits_into_windows",
    "time_ordered_split",
    "time_values",
    "window_targets",
    "windows",
]


#: Several series to forecast: the target changes over time within at least this fraction of
#: the ids (long format with one label per id, one row mistyped, is not a forecast: its
#: detector names the id).
MIN_VARYING_SERIES = 0.5


def _varies_within(frame: pd.DataFrame, id_col: str, target: str) -> bool:
    """Whether the target takes more than one value within most series ids."""
    per_id = frame[[id_col, target]].dropna().groupby(id_col, sort=False)[target].nunique()
    return bool(len(per_id) and (per_id > 1).mean() >= MIN_VARYING_SERIES)


def _one_given_series(
    frame: pd.DataFrame, time_col: str, options: SequenceOptions, evidence: dict[str, Any]
) -> Decision | None:
    """``--time-col`` without ``--id-col``: one series when the column holds distinct times."""
    col, ev = find_time_column(frame, exclude=options.target, given=time_col)
    if col is None:
        return None
    return single_decision(frame, col, ev[col]["kind"], ev, options, evidence)


def _panel_forecast(
    frame: pd.DataFrame,
    id_col: str | None,
    time_col: str | None,
    options: SequenceOptions,
    evidence: dict[str, Any],
) -> Decision | None:
    """Several series in long format → ``forecast`` with an id column, else None.

    Rule: a numeric target, a column of times (dates, years or whole-number periods) whose
    times repeat (no column of distinct times: that is one series) or ``--time-col``, and a
    series id column (``--id-col`` or :func:`find_series_id`) within which the target varies
    (in at least MIN_VARYING_SERIES of the series).
    ``--time-col`` naming a column of distinct times without ``--id-col`` is one series.
    """
    target = options.target
    if not pd.api.types.is_numeric_dtype(frame[target]):
        return None
    one_series = id_col is None and time_col is None
    if one_series and find_time_column(frame, exclude=target)[0] is not None:
        return None  # a column of distinct times: the single-series path decides
    if id_col is None and time_col is not None and options.task != Task.CLASSIFICATION:
        single = _one_given_series(frame, time_col, options, evidence)
        if single is not None:
            return single
    exclude = tuple(c for c in (target, id_col) if c)
    found = find_repeated_time_column(frame, exclude, time_col)
    if found is None:
        if id_col is not None and options.want == LayoutName.FORECAST:
            raise UsageError(
                f"--layout forecast with --id-col {id_col!r} needs a column of times; the "
                "data has none (name it with --time-col)."
            )
        if time_col is not None and options.horizon is not None:
            raise UsageError(
                f"--time-col {time_col!r} holds neither dates nor whole-number periods, so "
                "--horizon cannot count steps along it; name a column of dates, years or "
                "periods (e.g. 2019Q3), or drop --time-col to read the rows in file order."
            )
        return None
    found_time, kind = found
    series_id, id_ev = find_series_id(frame, found_time, (target,), id_col, kind)
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
    reading = PanelReading(found_time, kind, series_id, id_rule)
    return panel_decision(frame, reading, options, evidence)


# --- the detectors ---------------------------------------------------------------------------


def _detect_panel(ctx: DetectContext) -> Decision | None:
    """``forecast.panel``: several dated series in long format (before long format)."""
    if ctx.want not in (None, LayoutName.FORECAST) or ctx.task == Task.CLASSIFICATION:
        return None
    if ctx.modality == Modality.SPATIAL:
        return None
    options = ctx.sequence_options()
    return _panel_forecast(ctx.frame, ctx.id_col, ctx.time_col, options, ctx.evidence)


def reads_as_forecast(ctx: DetectContext) -> bool:
    """Whether the data can be a forecast whatever its other columns: a column of distinct
    times, a ``--horizon``, or a lone numeric column (the series itself, in file order)."""
    if find_time_column(ctx.frame, exclude=ctx.target)[0] is not None:
        return True
    numeric = pd.api.types.is_numeric_dtype(ctx.frame[ctx.target])
    return numeric and (ctx.horizon is not None or len(ctx.frame.columns) == 1)


def _detect_dated(ctx: DetectContext) -> Decision | None:
    """``forecast.dated``: one column of distinct times and a numeric target; with no time
    column, a ``--horizon`` (or a file of the target alone) reads the rows in file order."""
    if ctx.want not in (None, LayoutName.FORECAST) or ctx.modality == Modality.SPATIAL:
        return None
    options = ctx.sequence_options()
    time_col, time_ev = find_time_column(ctx.frame, exclude=options.target)
    numeric_target = pd.api.types.is_numeric_dtype(ctx.frame[options.target])
    in_order = (
        ctx.horizon is not None or ctx.want == LayoutName.FORECAST or (len(ctx.frame.columns) == 1)
    )
    decision = None
    if options.task == Task.CLASSIFICATION or not numeric_target:
        # a dated table with a class label is a table (its time column a feature or an id)
        if time_ev:
            ctx.evidence["time_columns"] = time_ev
    elif time_col is not None:
        kind = time_ev[time_col]["kind"]
        decision = single_decision(ctx.frame, time_col, kind, time_ev, options, ctx.evidence)
    elif in_order:
        decision = single_decision(ctx.frame, None, "row", time_ev, options, ctx.evidence)
    if decision is None and ctx.want == LayoutName.FORECAST:
        raise UsageError(
            "--layout forecast needs a numeric target; "
            f"{options.target!r} is not numeric (choose another --target)."
        )
    return decision


#: The forecast references, the cheap ones first (a ``--timeout`` stops the later ones): the
#: naive forecasts, statsforecast's AutoTheta and AutoETS, a linear autoregression on the
#: windows, and AutoARIMA (the slow one); see :mod:`archselect.baselines_forecast`.
FORECAST_BASELINES = (
    "naive",
    "seasonal_naive",
    "auto_theta",
    "auto_ets",
    "linear_autoregression",
    "auto_arima",
)


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
