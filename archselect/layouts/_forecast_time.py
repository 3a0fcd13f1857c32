"""Forecasting, part 1: time columns, frequency, gaps, series ids, the regular grid.

Gap policy (documented in the profile's evidence): the series is put on the regular grid
of its detected frequency; missing time steps and missing target values are filled by
linear interpolation in time when at most MAX_FILL_FRACTION of the steps are missing and
no run of missing steps is longer than MAX_FILL_RUN; otherwise the data is refused with a
:class:`DataError` that says so.

Several series in long format (an id column, a time column that repeats across series):
each series is put on the common detected frequency and gap-filled separately with the same
policy (:func:`regularise_panel`); series too short for the window and horizon are left out.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from archselect.errors import DataError
from archselect.layouts._forecast_index import (
    INTEGER_TIME_NAMES,
    STEP_GROUP,
    integer_kind,
    parse_times,
    read_time_column,
    step_frequency,
)

__all__ = [
    "SeriesGrid",
    "detect_frequency",
    "find_repeated_time_column",
    "find_series_id",
    "find_time_column",
    "numeric_values",
    "panel_fill",
    "parse_times",
    "read_time_column",
    "regularise",
    "regularise_panel",
    "series_label",
]

#: Column names that mark a time column (case-insensitive).
TIME_NAMES = ("date", "time", "datetime", "timestamp", "ds", "period", "month", "day", "week")
#: A column is a time column when this fraction of sampled values parse as dates.
MIN_PARSED_FRACTION = 0.95
#: … and at least this fraction of them are distinct (one series, not long format).
MIN_UNIQUE_TIMES = 0.95
#: Gap filling limits (fraction of grid steps missing, longest missing run in steps).
MAX_FILL_FRACTION = 0.10
MAX_FILL_RUN = 12
#: Season length (in steps) by frequency group, and the default horizon.
#: Integer and row periods (group ``step``) have no calendar season.
SEASON = {"min": 60, "h": 24, "D": 7, "B": 5, "W": 52, "M": 12, "Q": 4, "Y": 1, STEP_GROUP: 1}
HORIZON = {"min": 60, "h": 24, "D": 7, "B": 5, "W": 8, "M": 12, "Q": 4, "Y": 3}
DEFAULT_HORIZON = 1
#: Window = max(MIN_WINDOW, WINDOW_PER_HORIZON x H, season), at most MAX_WINDOW and at most
#: a MAX_WINDOW_FRACTION of the series.
MIN_WINDOW = 8
WINDOW_PER_HORIZON = 3
MAX_WINDOW = 128
MAX_WINDOW_FRACTION = 0.2
#: The season is used when the training autocorrelation at that lag exceeds this.
MIN_SEASON_ACF = 0.2
#: Fractions of the time steps kept for validation and test (the latest periods).
VAL_FRACTION = 0.2
TEST_FRACTION = 0.2
#: Fewest training windows.
MIN_TRAIN_WINDOWS = 10
#: A short series' window shrinks (from the rule above) down to this many steps.
MIN_SHORT_WINDOW = 2
#: At most this many forecast origins per series in each of the validation and the test
#: period (evenly spread, both ends kept): the statistical references are fitted per origin.
MAX_ORIGINS = 50
#: Several series: an id column has at least this many time steps per series on average
#: (and more than one series), and every (id, time) pair occurs once.
MIN_STEPS_PER_SERIES = 8

FORECAST_THRESHOLDS: dict[str, float] = {
    "min_parsed_fraction": MIN_PARSED_FRACTION,
    "min_unique_times": MIN_UNIQUE_TIMES,
    "max_fill_fraction": MAX_FILL_FRACTION,
    "max_fill_run": MAX_FILL_RUN,
    "min_window": MIN_WINDOW,
    "window_per_horizon": WINDOW_PER_HORIZON,
    "max_window": MAX_WINDOW,
    "max_window_fraction": MAX_WINDOW_FRACTION,
    "min_season_acf": MIN_SEASON_ACF,
    "val_fraction": VAL_FRACTION,
    "test_fraction": TEST_FRACTION,
    "min_train_windows": MIN_TRAIN_WINDOWS,
    "min_short_window": MIN_SHORT_WINDOW,
    "max_origins": MAX_ORIGINS,
    "min_steps_per_series": MIN_STEPS_PER_SERIES,
}

_DIGITS_ONLY = re.compile(r"^\d+(\.\d+)?$")


def _yyyymmdd(s: pd.Series) -> bool:
    values = s.dropna()
    if not _is_whole(values):
        return False
    return bool(values.astype(np.int64).astype(str).str.len().eq(8).all())


def _is_whole(values: pd.Series) -> bool:
    arr = values.to_numpy(dtype=float)
    return bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))


def _numeric_kind(s: pd.Series, col: Any, given: bool, alone: bool) -> str | None:
    """The time kind of a numeric column, or None when it is not read as times.

    ``YYYYMMDD`` whole numbers under a time-like name are dates; other whole numbers are years
    or integer periods when the column is named like a time (:data:`INTEGER_TIME_NAMES`), is
    the ``--time-col``, or is the only column besides the target.
    """
    name = str(col).lower()
    if name in TIME_NAMES and _yyyymmdd(s):
        return "datetime"
    if given or alone or name in INTEGER_TIME_NAMES:
        return integer_kind(s, name)
    return None


def _time_candidates(
    frame: pd.DataFrame, exclude: tuple[str, ...], given: str | None = None
) -> Iterator[dict[str, Any]]:
    """Columns that may hold times, in column order, with their time kind
    (:data:`TIME_KINDS`), the parsed and the unique fractions.

    A numeric column is a candidate only as :func:`_numeric_kind` says; a text column of
    digits only (identifiers) only under a time-like name or as ``given`` (``--time-col``).
    """
    alone = len([c for c in frame.columns if c not in exclude]) == 1  # besides the target
    for col in frame.columns:
        if col in exclude:
            continue
        s = frame[col]
        named = str(col).lower() in TIME_NAMES or str(col).lower() in INTEGER_TIME_NAMES
        is_given = given is not None and str(col) == given
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_datetime64_any_dtype(s)
        sample = s.dropna().head(500)
        if sample.empty:
            continue
        if numeric:
            kind = _numeric_kind(s, col, is_given, alone)
            if kind is None:
                continue
        else:
            kind = "datetime"
            if not pd.api.types.is_datetime64_any_dtype(s):
                strings = sample.astype(str)
                if strings.str.fullmatch(_DIGITS_ONLY).mean() > 0.5 and not (named or is_given):
                    continue
        parsed = read_time_column(sample, kind)
        frac = float(parsed.notna().mean())
        unique = float(s.nunique(dropna=True) / max(1, s.notna().sum()))
        yield {
            "column": str(col),
            "kind": kind,
            "parsed_fraction": frac,
            "unique_fraction": unique,
            "named": named,
        }


def _candidate_evidence(found: list[dict[str, Any]]) -> dict[str, Any]:
    return {c["column"]: {k: v for k, v in c.items() if k != "column"} for c in found}


def find_time_column(
    frame: pd.DataFrame, exclude: str, given: str | None = None
) -> tuple[str | None, dict[str, Any]]:
    """The column that holds the time of each row, with the evidence (or ``None``).

    Evidence: for every column looked at, its time kind (``kind``) and fractions.
    ``given`` (``--time-col``) is the only column considered when set.

    Example:
        >>> frame = pd.DataFrame({"year": [1821, 1822, 1823], "value": [2.0, 3.0, 1.0]})
        >>> col, ev = find_time_column(frame, exclude="value")
        >>> col, ev["year"]["kind"]
        ('year', 'year')
    """
    found: list[dict[str, Any]] = []
    for cand in _time_candidates(frame, (exclude,), given):  # lazily: stop at the first
        if given is not None and cand["column"] != given:
            continue
        found.append(cand)
        if cand["parsed_fraction"] >= MIN_PARSED_FRACTION and (
            cand["unique_fraction"] >= MIN_UNIQUE_TIMES
        ):
            return cand["column"], _candidate_evidence(found)
    return None, _candidate_evidence(found)


def find_repeated_time_column(
    frame: pd.DataFrame, exclude: tuple[str, ...], given: str | None = None
) -> tuple[str, str] | None:
    """A column of times that repeat (several series in long format) and its time kind, or
    ``None``.

    ``given`` (``--time-col``) is taken when it reads as times.
    """
    for cand in _time_candidates(frame, tuple(c for c in exclude if c != given), given):
        if given is not None and cand["column"] != given:
            continue
        if cand["parsed_fraction"] >= MIN_PARSED_FRACTION:
            return str(cand["column"]), str(cand["kind"])
    return None


def _time_text(t: pd.Timestamp) -> str:
    """A timestamp as a date when it falls on midnight, else in full."""
    return str(t.date()) if t == t.normalize() else str(t)


def find_series_id(
    frame: pd.DataFrame,
    time_col: str,
    exclude: tuple[str, ...],
    given: str | None = None,
    kind: str = "datetime",
) -> tuple[str | None, dict[str, Any]]:
    """The column naming each series of a long-format table of dated series.

    Rule: among the text or whole-number columns (other than the time column and
    ``exclude``) with more than one value and at least MIN_STEPS_PER_SERIES rows per value
    on average, those for which every (id, time) pair occurs once; the coarsest (fewest
    distinct values) wins, the first in column order on ties. ``given`` (``--id-col``) must
    pass the same uniqueness test.

    Returns:
        The id column (or ``None``) and the evidence: every candidate's number of series and
        whether its (id, time) pairs are unique.

    Raises:
        DataError: ``given`` repeats an (id, time) pair.
    """
    n = len(frame)
    evidence: dict[str, Any] = {}
    best: tuple[int, str] | None = None
    times = read_time_column(frame[time_col], kind).rename(time_col)
    columns = [given] if given is not None else [str(c) for c in frame.columns]
    for col in columns:
        if col == time_col or col in exclude:
            continue
        s = frame[col]
        if pd.api.types.is_float_dtype(s) and not _is_whole(s.dropna()):
            continue
        n_ids = int(s.nunique(dropna=True))
        if given is None and not 1 < n_ids <= n / MIN_STEPS_PER_SERIES:
            continue
        pairs = pd.concat([s.astype("string"), times], axis=1)
        duplicated = pairs.duplicated()
        evidence[col] = {"n_series": n_ids, "pairs_unique": not bool(duplicated.any())}
        if duplicated.any():
            if given is not None:
                row = pairs[duplicated].iloc[0]
                raise DataError(
                    f"Series {row[col]!r} of --id-col {col!r} has time "
                    f"{_time_text(row[time_col])} more than once; name the column that tells "
                    "the series apart with --id-col."
                )
            continue
        if best is None or n_ids < best[0]:
            best = (n_ids, col)
    return (best[1] if best else None), evidence


def detect_frequency(times: pd.Series, kind: str = "datetime") -> dict[str, Any]:
    """Frequency of sorted distinct timestamps: pandas' inference, else the median step.

    Integer and row periods (``kind``): their common step, in the group ``step`` (no
    calendar, so no season).

    Example:
        >>> t = pd.Series(pd.date_range("2020-01-01", periods=30, freq="D"))
        >>> detect_frequency(t)["group"]
        'D'
    """
    t = pd.DatetimeIndex(times.dropna().sort_values().unique())
    if len(t) < 3:
        raise DataError(f"The time column has {len(t)} distinct times; forecasting needs more.")
    if kind in ("integer", "row"):
        steps = step_frequency(pd.Series(t))
        return {
            "frequency": steps,
            "group": STEP_GROUP,
            "rule": f"whole-number periods, step {1 if steps == 'D' else steps[:-1]}",
        }
    freq = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            freq = pd.infer_freq(t)
        except (TypeError, ValueError):
            freq = None
    rule = "pandas.infer_freq on every timestamp"
    if freq is None:
        step = pd.Series(t[1:] - t[:-1]).median()
        freq = _offset_for_step(step)
        rule = f"median step {step} (timestamps irregular: pandas could not infer one)"
    offset = pd.tseries.frequencies.to_offset(freq)
    return {"frequency": offset.freqstr, "group": _group(offset), "rule": rule}


def _offset_for_step(step: pd.Timedelta) -> str:
    days = step / pd.Timedelta(days=1)
    for low, high, freq in (
        (360, 370, "YS"),
        (88, 93, "QS"),
        (28, 31.5, "MS"),
        (6.5, 7.5, "W"),
    ):
        if low <= days <= high:
            return freq
    if days >= 1 and float(days).is_integer():
        return "D" if days == 1 else f"{int(days)}D"
    return pd.tseries.frequencies.to_offset(step).freqstr


def _group(offset: Any) -> str:
    name = getattr(offset, "rule_code", None) or offset.freqstr  # .name: deprecated, pandas 3
    name = str(name).split("-")[0].upper()
    if name in ("T", "MIN"):
        return "min"
    if name.startswith("Y") or name.startswith("A"):
        return "Y"
    if name.startswith("Q"):
        return "Q"
    if name.startswith("M") or name.startswith("SM"):
        return "M"
    if name.startswith("W"):
        return "W"
    if name == "B" or name == "C":
        return "B"
    if name == "D":
        return "D"
    if name == "H":
        return "h"
    return name


def regularise(
    times: pd.Series, values: np.ndarray, frequency: str
) -> tuple[pd.DatetimeIndex, np.ndarray, dict[str, Any]]:
    """Put ``values`` (N, C) on the regular grid of ``frequency``, filling small gaps.

    Returns:
        The grid, the filled values and what was done (counts, longest gap).

    Raises:
        DataError: Duplicate times, off-grid times, or gaps beyond the fill limits.
    """
    order = np.argsort(times.to_numpy(), kind="stable")
    t = pd.DatetimeIndex(times.to_numpy()[order])
    if t.isna().any():
        raise DataError("Some rows have no readable time; fix or remove those rows.")
    if t.has_duplicates:
        dup = t[t.duplicated()][0]
        raise DataError(
            f"Time {dup} occurs more than once; forecasting needs one row per time step "
            "(for several series in long format, name their id column with --id-col)."
        )
    v = np.asarray(values, dtype=np.float64)[order]
    grid = pd.date_range(t[0], t[-1], freq=frequency)
    off_grid = ~t.isin(grid)
    if off_grid.any():
        raise DataError(
            f"Time {t[off_grid][0]} is not on the {frequency} grid that starts at {t[0]}; "
            "resample the series to one regular frequency."
        )
    frame = pd.DataFrame(v, index=t).reindex(grid)
    missing = frame.isna().any(axis=1).to_numpy()
    runs = _longest_run(missing)
    info = {
        "grid_steps": len(grid),
        "missing_timestamps": int(len(grid) - len(t)),
        "missing_steps": int(missing.sum()),
        "longest_gap": runs,
        "filled": bool(missing.any()),
    }
    if missing.any():
        frac = missing.mean()
        if frac > MAX_FILL_FRACTION or runs > MAX_FILL_RUN:
            raise DataError(
                f"The series misses {missing.sum()} of {len(grid)} {frequency} steps "
                f"(longest gap {runs} steps; fill limit {MAX_FILL_FRACTION:.0%} and "
                f"{MAX_FILL_RUN} steps); fill or resample the series first."
            )
        frame = frame.interpolate(method="time", limit_direction="both")
    return grid, frame.to_numpy(dtype=np.float64), info


def _longest_run(mask: np.ndarray) -> int:
    best = cur = 0
    for m in mask:
        cur = cur + 1 if m else 0
        best = max(best, cur)
    return best


@dataclass(frozen=True, eq=False)
class SeriesGrid:
    """One series of a long-format table on its regular grid (values (T, C), gaps filled).

    Compared by identity (it holds arrays); not a JSON record: it is derived from the rows.
    """

    series_id: Any
    grid: pd.DatetimeIndex
    values: np.ndarray
    fill: dict[str, Any]


def numeric_values(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """``columns`` as a float64 array (T, C); text that is not a number becomes NaN."""
    return np.column_stack(
        [pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64) for c in columns]
    )


def regularise_panel(
    ids: pd.Series, times: pd.Series, values: np.ndarray, frequency: str
) -> list[SeriesGrid]:
    """Regularise each series (rows sharing an id) on ``frequency`` separately.

    Series come in order of their id's first row; each gets :func:`regularise`'s gap policy.

    Raises:
        DataError: An empty id, or a series that :func:`regularise` refuses (named by id).
    """
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0]) + 1
        raise DataError(
            f"Id column {ids.name!r} is empty in data row {row}; fill in every series id."
        )
    codes, uniques = pd.factorize(ids, sort=False)
    v = np.asarray(values, dtype=np.float64)
    t = times.reset_index(drop=True)
    out = []
    for code, sid in enumerate(uniques):
        rows = np.flatnonzero(codes == code)
        try:
            grid, filled, fill = regularise(t.iloc[rows], v[rows], frequency)
        except DataError as exc:
            raise DataError(f"Series {series_label(sid)!r} of column {ids.name!r}: {exc}") from exc
        out.append(SeriesGrid(sid, grid, filled, fill))
    return out


def series_label(series_id: Any) -> str:
    """A series id as text: whole floats without ``.0``, numpy scalars as Python values.

    Example:
        >>> (series_label(np.int64(3)), series_label(2.0), series_label("north"))
        ('3', '2', 'north')
    """
    value = series_id.item() if isinstance(series_id, np.generic) else series_id
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def panel_fill(series: list[SeriesGrid]) -> dict[str, Any]:
    """The fill facts of several series summed (the longest gap: the longest of any)."""
    return {
        "grid_steps": sum(s.fill["grid_steps"] for s in series),
        "missing_timestamps": sum(s.fill["missing_timestamps"] for s in series),
        "missing_steps": sum(s.fill["missing_steps"] for s in series),
        "longest_gap": max((s.fill["longest_gap"] for s in series), default=0),
        "filled": any(s.fill["filled"] for s in series),
    }
