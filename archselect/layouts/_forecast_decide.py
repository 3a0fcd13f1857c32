"""The forecast layout's decisions: one series (its time index, window, horizon and the
profile's evidence) and several series in long format (every series regularised, the window
chosen on the median series and the pooled training windows, short series left out).

:mod:`archselect.layouts.forecast` detects which applies and calls these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from archselect.core.kinds import Form, LayoutName, Modality
from archselect.core.specs import ForecastSpec
from archselect.errors import DataError
from archselect.layouts._base import Decision, SequenceOptions
from archselect.layouts._forecast_index import (
    ROW_TIME_COLUMN,
    read_time_column,
    row_times,
    text_format,
    time_values,
)
from archselect.layouts._forecast_time import (
    FORECAST_THRESHOLDS,
    MAX_FILL_FRACTION,
    MAX_FILL_RUN,
    MIN_SHORT_WINDOW,
    MIN_TRAIN_WINDOWS,
    SeriesGrid,
    detect_frequency,
    numeric_values,
    panel_fill,
    regularise,
    regularise_panel,
    series_label,
)
from archselect.layouts._forecast_windows import (
    choose_window_horizon,
    min_length,
    splits_into_windows,
    time_ordered_split,
)

__all__ = ["PanelReading", "panel_decision", "single_decision"]


#: How the selection metric is chosen, in words (the profile's evidence).
SELECTION_RULE = (
    "mase: the target is scaled by its in-sample seasonal naive error, so the mean absolute "
    "error in those units is the MASE, the forecasting field's yardstick; RMSE, MAE and sMAPE "
    "are reported beside it"
)
#: The same for several series, whose targets are each scaled by their own naive error.
PANEL_SELECTION_RULE = (
    "mase: each series is scaled by its own in-sample seasonal naive error, so every series "
    "counts alike whatever its units; MASE and sMAPE are averaged over series, RMSE and MAE "
    "pooled in target units"
)


def _fill_policy(within: str = "") -> str:
    return (
        f"missing steps{within} filled by linear interpolation in time when at most "
        f"{MAX_FILL_FRACTION:.0%} are missing and no gap exceeds {MAX_FILL_RUN} steps; "
        "otherwise refused"
    )


def _read_index(
    frame: pd.DataFrame, time_col: str | None, kind: str
) -> tuple[pd.Series, str | None]:
    """Every row's time on the internal axis, and the format of time strings (or None)."""
    if time_col is None:
        return row_times(len(frame), frame.index), None
    times = read_time_column(frame[time_col], kind)
    return times, text_format(frame[time_col], times) if kind == "datetime" else None


#: The frequency groups in words (the decision sentence).
GROUP_WORDS = {
    "Y": "yearly", "Q": "quarterly", "M": "monthly", "W": "weekly", "D": "daily",
    "B": "business-day", "h": "hourly", "min": "minute",
}  # fmt: skip


def _index_words(time_col: str | None, kind: str, freq: dict[str, Any]) -> str:
    """The time index in words, for the decision sentence."""
    if time_col is None:
        return "no time column: the rows in file order are the time steps"
    step = str(freq["frequency"]).removesuffix("D") or "1"
    what = {
        "year": "whole-number years",
        "integer": f"whole-number periods (step {step})",
    }.get(kind)
    if what is None:
        group = GROUP_WORDS.get(str(freq["group"]))
        what = f"{group} times ({freq['frequency']})" if group else f"{freq['frequency']} times"
    return f"column {time_col!r} holds {what}"


def _output_time_column(frame: pd.DataFrame, time_col: str | None) -> str:
    """The time column of the forecasts: the data's own, or :data:`ROW_TIME_COLUMN`."""
    if time_col is not None:
        return time_col
    name = ROW_TIME_COLUMN
    while name in frame.columns:
        name = f"{name}_"
    return name


def single_decision(
    frame: pd.DataFrame,
    time_col: str | None,
    kind: str,
    time_ev: dict[str, Any],
    options: SequenceOptions,
    evidence: dict[str, Any],
) -> Decision:
    """One series: its time index (``time_col`` of ``kind``, or file order when None)."""
    target = options.target
    covariates = [str(c) for c in options.numeric if str(c) not in (target, time_col)]
    left_out = [str(c) for c in frame.columns if str(c) not in (target, time_col, *covariates)]
    times, fmt = _read_index(frame, time_col, kind)
    freq = detect_frequency(times, kind)
    columns = (target, *covariates)
    values = numeric_values(frame, columns)
    grid, filled, fill = regularise(times, values, freq["frequency"])
    try:
        choice = choose_window_horizon(
            filled[:, 0], freq["group"], horizon=options.horizon, window=options.window
        )
    except DataError as exc:
        if time_col is not None:
            raise
        raise DataError(
            f"With no time column the rows are read as one series in file order. {exc}"
        ) from None
    spec = ForecastSpec(
        time_column=_output_time_column(frame, time_col),
        frequency=str(freq["frequency"]),
        window=int(choice["window"]),
        horizon=int(choice["horizon"]),
        season=int(choice["season"]),
        covariates=tuple(covariates),
        time_kind=kind if time_col is not None else "row",
        time_format=fmt,
        period=int(choice["season_candidate"]),
    )
    shown = time_values(grid[[0, -1]], spec.time_kind, fmt)
    evidence["forecast"] = {
        "time_column": time_col,
        "time_kind": spec.time_kind,
        "time_format": fmt,
        "time_columns": time_ev,
        **freq,
        **fill,
        "fill_policy": _fill_policy(),
        "start": str(shown[0]),
        "end": str(shown[-1]),
        "covariates": covariates,
        **choice,
        "selection_metric": SELECTION_RULE,
        "thresholds": dict(FORECAST_THRESHOLDS),
    }
    notes = [f"column {c!r} left out: not numeric" for c in left_out]
    if time_col is None:
        notes.append(
            f"no time column: the {len(grid)} rows are read in file order as steps 1 to "
            f"{len(grid)}; forecasts are numbered on from there (column {spec.time_column!r})"
        )
    if fill["filled"]:
        notes.append(
            f"{fill['missing_steps']} missing {freq['frequency']} steps filled by linear "
            f"interpolation (longest gap {fill['longest_gap']})"
        )
    return Decision(
        Modality.SEQUENTIAL,
        LayoutName.FORECAST,
        Form.DATED_SERIES,
        (spec.window, len(columns)),
        0.95 if fill["missing_timestamps"] == 0 else 0.85,
        f"{_index_words(time_col, kind, freq)} and {target!r} is numeric: forecast "
        f"{spec.horizon} step{'s' if spec.horizon > 1 else ''} from windows of {spec.window}",
        list(columns),
        dropped=left_out,
        notes=notes,
        time_column=time_col,
        spec=spec,
    )


def _median_series(series: list[SeriesGrid]) -> SeriesGrid:
    """The series of median length (the shorter of the two middle ones), first on ties."""
    order = sorted(range(len(series)), key=lambda i: (len(series[i].values), i))
    return series[order[(len(order) - 1) // 2]]


@dataclass(frozen=True)
class PanelReading:
    """Where several series' times and ids are: time column and kind, id column, id rule."""

    time_col: str
    kind: str
    id_col: str
    id_rule: str


@dataclass(frozen=True)
class _PanelChoice:
    """Several series on their grids, the window choice and the series kept and left out."""

    series: list[SeriesGrid]
    freq: dict[str, Any]
    fmt: str | None
    choice: dict[str, Any]
    kept: list[SeriesGrid]
    short: list[str]
    typical: SeriesGrid


def _pooled_windows(series: list[SeriesGrid], window: int, horizon: int) -> int:
    """Training windows every series gives together (:func:`time_ordered_split`)."""
    total = 0
    for s in series:
        if splits_into_windows(len(s.values), window, horizon, min_train=0):
            total += len(time_ordered_split(len(s.values), window, horizon, min_train=0)[0])
    return total


def _panel_window(
    series: list[SeriesGrid],
    typical: SeriesGrid,
    group: str,
    options: SequenceOptions,
    id_col: str,
) -> dict[str, Any]:
    """Window and horizon chosen on the median series (kept: it needs a validation and a test
    origin), the window shortened until every series' training windows together number at
    least MIN_TRAIN_WINDOWS.

    Raises:
        DataError: The median series is too short, or the series leave too few training
            windows even with the shortest window; the message states what is needed.
    """
    try:
        choice = choose_window_horizon(
            typical.values[:, 0],
            group,
            horizon=options.horizon,
            window=options.window,
            min_train=0,
        )
    except DataError as exc:
        raise DataError(
            f"The median series of {id_col!r} ({series_label(typical.series_id)!r}): {exc}"
        ) from None
    w, h = int(choice["window"]), int(choice["horizon"])
    lowest = w if options.window is not None else MIN_SHORT_WINDOW
    for k in range(w, lowest - 1, -1):
        if _pooled_windows(series, k, h) >= MIN_TRAIN_WINDOWS:
            if k < w:
                choice["window_rule"] += (
                    f"; shortened from {w} so that the series give {MIN_TRAIN_WINDOWS} "
                    "training windows together"
                )
            return {**choice, "window": k, "min_length": min_length(k, h, 0)}
    raise DataError(
        f"The series of {id_col!r} give {_pooled_windows(series, lowest, h)} training windows "
        f"of {lowest} + {h} steps before their validation and test periods; forecasting needs "
        f"at least {MIN_TRAIN_WINDOWS}: a series gives one per step beyond "
        f"{min_length(lowest, h, 1) - 1}. Give longer series or a smaller --horizon."
    )


def _panel_choice(
    frame: pd.DataFrame,
    reading: PanelReading,
    columns: tuple[str, ...],
    options: SequenceOptions,
) -> _PanelChoice:
    """Every series regularised, window and horizon chosen (:func:`_panel_window`), series
    too short for a validation and a test origin left out.

    Raises:
        DataError: Too short series; the message states the length needed.
    """
    times, fmt = _read_index(frame, reading.time_col, reading.kind)
    freq = detect_frequency(times, reading.kind)
    values = numeric_values(frame, columns)
    series = regularise_panel(frame[reading.id_col], times, values, freq["frequency"])
    typical = _median_series(series)
    choice = _panel_window(series, typical, freq["group"], options, reading.id_col)
    w, h = int(choice["window"]), int(choice["horizon"])
    kept = [s for s in series if splits_into_windows(len(s.values), w, h, min_train=0)]
    short = [series_label(s.series_id) for s in series if s not in kept]
    if not kept:
        raise DataError(
            f"Every series of {reading.id_col!r} is too short for window {w} and horizon {h}: "
            f"each needs at least {min_length(w, h, 0)} steps (the window, then one "
            "validation and one test period); give longer series or a smaller --horizon."
        )
    return _PanelChoice(series, freq, fmt, choice, kept, short, typical)


def _panel_evidence(
    reading: PanelReading, pc: _PanelChoice, covariates: list[str], kind: str
) -> dict[str, Any]:
    """The profile's evidence of a several-series forecast."""
    fill = panel_fill(pc.kept)
    w, h = int(pc.choice["window"]), int(pc.choice["horizon"])
    first = min(s.grid[0] for s in pc.kept)
    last = max(s.grid[-1] for s in pc.kept)
    shown = time_values(pd.DatetimeIndex([first, last]), kind, pc.fmt)
    return {
        "time_column": reading.time_col,
        "time_kind": kind,
        "time_format": pc.fmt,
        "id_column": reading.id_col,
        "id_rule": reading.id_rule,
        "n_series": len(pc.series),
        "series_kept": len(pc.kept),
        "series_dropped": pc.short,
        "series_rule": (
            "every series regularised on the common frequency and gap-filled separately; a "
            f"series shorter than {min_length(w, h, 0)} steps (window {w}, then one "
            f"validation and one test period of {h}) is left out; window and horizon chosen "
            f"on the series of median length ({series_label(pc.typical.series_id)!r}, "
            f"{len(pc.typical.values)} steps), which must be kept; the training windows of "
            f"every series are pooled (at least {MIN_TRAIN_WINDOWS}); every series has as many "
            "validation and test origins as the series with fewest, so each weighs alike"
        ),
        **pc.freq,
        **fill,
        "fill_policy": _fill_policy(" of each series"),
        "start": str(shown[0]),
        "end": str(shown[-1]),
        "covariates": covariates,
        **pc.choice,
        "selection_metric": PANEL_SELECTION_RULE,
        "mase_scale_rule": (
            "each series' in-sample seasonal naive mean absolute error over its training "
            "steps; MASE is averaged over series"
        ),
        "thresholds": dict(FORECAST_THRESHOLDS),
    }


def _panel_notes(pc: _PanelChoice, left_out: list[str]) -> list[str]:
    notes = [f"column {c!r} left out: not numeric" for c in left_out]
    w, h = int(pc.choice["window"]), int(pc.choice["horizon"])
    if pc.short:
        notes.append(
            f"{len(pc.short)} of {len(pc.series)} series left out, shorter than "
            f"{min_length(w, h, 0)} steps (window {w}, then one validation and one test "
            f"period of {h}): {', '.join(pc.short[:5])}" + (" …" if len(pc.short) > 5 else "")
        )
    fill = panel_fill(pc.kept)
    if fill["filled"]:
        notes.append(
            f"{fill['missing_steps']} missing {pc.freq['frequency']} steps filled by linear "
            f"interpolation within their series (longest gap {fill['longest_gap']})"
        )
    return notes


def panel_decision(
    frame: pd.DataFrame,
    reading: PanelReading,
    options: SequenceOptions,
    evidence: dict[str, Any],
) -> Decision:
    """Several series: one global model over every kept series' windows."""
    target, time_col, id_col = options.target, reading.time_col, reading.id_col
    used = (target, time_col, id_col)
    covariates = [str(c) for c in options.numeric if str(c) not in used]
    left_out = [str(c) for c in frame.columns if str(c) not in (*used, *covariates)]
    columns = (target, *covariates)
    pc = _panel_choice(frame, reading, columns, options)
    evidence["forecast"] = _panel_evidence(reading, pc, covariates, reading.kind)
    w, h = int(pc.choice["window"]), int(pc.choice["horizon"])
    spec = ForecastSpec(
        time_column=time_col,
        frequency=str(pc.freq["frequency"]),
        window=w,
        horizon=h,
        season=int(pc.choice["season"]),
        id_column=id_col,
        covariates=tuple(covariates),
        time_kind=reading.kind,
        time_format=pc.fmt,
        period=int(pc.choice["season_candidate"]),
    )
    return Decision(
        Modality.SEQUENTIAL,
        LayoutName.FORECAST,
        Form.DATED_LONG,
        (w, len(columns)),
        0.95 if evidence["forecast"]["missing_timestamps"] == 0 else 0.85,
        f"{len(pc.kept)} series named by {id_col!r}; "
        f"{_index_words(time_col, reading.kind, pc.freq)} and {target!r} is numeric: "
        f"one global model forecasts {h} steps from windows of {w}",
        list(columns),
        dropped=left_out,
        notes=_panel_notes(pc, left_out),
        id_column=id_col,
        time_column=time_col,
        spec=spec,
    )
