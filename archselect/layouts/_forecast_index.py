"""Forecasting, part 0: what a time column holds, how its times are read, and how the times
of a forecast are written back in the user's own form.

Four kinds of time index (:data:`TIME_KINDS`, kept in ``ForecastWindowing.time_kind``):

- ``datetime``: dates and times (``2019-03-01``, ``Jan 2019``, ``2019-03``, ``20190301``) and
  period strings (``2019Q3``, ``2019-Q3``, ``1970 Q1``, ``Q3 2019``, ``2019M03``);
- ``year``: whole-number years (``1821``, ``1822``, … and ``1821.0``);
- ``integer``: whole-number periods with a constant step (``1, 2, 3`` or ``0, 5, 10``);
- ``row``: no time column at all: the rows in file order are periods 1, 2, 3, ….

Inside, every kind is a datetime axis, so one regular-grid machinery (frequency, gaps, the
grid, the future steps) serves them all: a year is its 1 January (frequency ``YS-JAN``), and an
integer period ``k`` is day ``k`` after :data:`EPOCH` (frequency: its step in days). Integer
and row periods have no calendar, so no season is looked for (frequency group ``step``).
:func:`time_values` turns grid times back into what the user wrote: years and periods as whole
numbers, period strings in the file's own format (:func:`text_format`), dates as dates.

Pitfall avoided: ``pd.to_datetime`` of integer years with no format reads them as nanoseconds
since 1970, silently; years are always read with ``format="%Y"``.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from archselect.errors import DataError

__all__ = [
    "EPOCH",
    "INTEGER_TIME_NAMES",
    "ROW_TIME_COLUMN",
    "STEP_GROUP",
    "TIME_KINDS",
    "integer_kind",
    "normalise_periods",
    "parse_times",
    "read_time_column",
    "row_times",
    "step_frequency",
    "text_format",
    "time_values",
]

#: The kinds of time index, in the order the module docstring explains them.
TIME_KINDS = ("datetime", "year", "integer", "row")
#: Day 0 of the integer and row periods' internal datetime axis.
EPOCH = pd.Timestamp("1970-01-01")
#: The frequency group of integer and row periods: no calendar, so no season.
STEP_GROUP = "step"
#: The output column of the forecast times when the data had no time column.
ROW_TIME_COLUMN = "step"
#: Column names (case-insensitive) under which whole numbers are read as a time index.
#: (Not ``index`` or ``id``: those number rows, and a table keeps dropping them.)
INTEGER_TIME_NAMES = (
    "year", "yr", "years", "t", "time", "step", "period", "date", "ds", "timestamp",
)  # fmt: skip
#: Whole numbers in this range with a step of 1 (or under a year-like name) are years.
MIN_YEAR, MAX_YEAR = 1000, 2999
#: Names that make whole numbers years whatever their step.
YEAR_NAMES = ("year", "yr", "years")
#: Integer periods must stay below this many days after the epoch (about 27,000 years; a
#: larger "period" is an identifier, not a time).
MAX_INTEGER_PERIOD = 10**7

_QUARTER = re.compile(r"^\s*(\d{4})\s*[-/ ]?\s*[Qq]([1-4])\s*$")
_QUARTER_FIRST = re.compile(r"^\s*[Qq]([1-4])\s*[-/ ]?\s*(\d{4})\s*$")
_MONTH_CODE = re.compile(r"^\s*(\d{4})\s*[Mm](\d{1,2})\s*$")
_QUARTER_MONTH = {"1": "01", "2": "04", "3": "07", "4": "10"}
#: strftime patterns tried, in order, to write forecast times as the file wrote its times
#: (ISO dates and times are not among them: they stay timestamps, which pandas writes so).
_FORMATS = (
    "%Y-%m", "%Y/%m", "%b %Y", "%Y %b", "%B %Y", "%b-%Y", "%m/%Y", "%d/%m/%Y", "%m/%d/%Y",
    "%Y%m%d", "%d.%m.%Y",
)  # fmt: skip
#: Quarter patterns (``{Y}``: the year, ``{q}``: the quarter), as the file may write them.
_QUARTER_FORMATS = ("{Y}Q{q}", "{Y}-Q{q}", "{Y} Q{q}", "Q{q} {Y}", "Q{q}-{Y}", "{Y}q{q}")
#: Month-code pattern (``2019M03``).
_MONTH_CODE_FORMAT = "{Y}M{m:02d}"
#: How many values :func:`text_format` checks a pattern against.
FORMAT_SAMPLE = 50


def normalise_periods(text: pd.Series) -> pd.Series:
    """Quarter and month-code strings as ISO month starts; other strings unchanged.

    pandas reads ``2019Q3`` but neither ``1970 Q1`` nor ``Q3 2019`` nor ``2019M03`` (read as
    minutes); every form becomes ``YYYY-MM-01`` first.

    Example:
        >>> normalise_periods(pd.Series(["1970 Q1", "Q3 2019", "2019M03", "2019-05"])).tolist()
        ['1970-01-01', '2019-07-01', '2019-03-01', '2019-05']
    """

    def one(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if m := _QUARTER.match(value):
            return f"{m[1]}-{_QUARTER_MONTH[m[2]]}-01"
        if m := _QUARTER_FIRST.match(value):
            return f"{m[2]}-{_QUARTER_MONTH[m[1]]}-01"
        if (m := _MONTH_CODE.match(value)) and 1 <= int(m[2]) <= 12:
            return f"{m[1]}-{int(m[2]):02d}-01"
        return value

    return text.map(one)


def parse_times(values: pd.Series) -> pd.Series:
    """Parse a column of dates, times or period strings as timestamps (``YYYYMMDD`` whole
    numbers and ISO strings included).

    Raises:
        DataError: The column mixes time zones or UTC offsets.

    Example:
        >>> parse_times(pd.Series(["2019Q3", "2019Q4"])).dt.month.tolist()
        [7, 10]
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text = values.astype("string")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if text.dropna().str.fullmatch(r"\d{8}").all():
            return pd.to_datetime(text, format="%Y%m%d", errors="coerce")
        text = normalise_periods(text.astype(object)).astype("string")
        try:
            return pd.to_datetime(text, errors="coerce", format="mixed")
        except ValueError:  # mixed time zones (and offsets) cannot share one column
            raise DataError(
                f"Column {str(values.name)!r} mixes time zones or UTC offsets; write every "
                "time in one zone (e.g. all UTC) and one format."
            ) from None


def _whole(values: pd.Series) -> np.ndarray | None:
    """The column as int64 when every value is a finite whole number (else None)."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    if len(arr) == 0 or not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
        return None
    return arr.astype(np.int64)


def integer_kind(values: pd.Series, name: str = "") -> str | None:
    """``year`` or ``integer`` for a column of whole numbers that can be a time index, else
    None (not whole numbers, or too large to be periods).

    Years: every value within MIN_YEAR…MAX_YEAR and either a year-like name or a step of one
    between consecutive distinct values. Anything else whole is an integer period.

    Example:
        >>> integer_kind(pd.Series([1821, 1822, 1823]))
        'year'
        >>> integer_kind(pd.Series([1, 2, 3])), integer_kind(pd.Series([1.5, 2.0]))
        ('integer', None)
    """
    arr = _whole(values.dropna())
    if arr is None or np.abs(arr).max() >= MAX_INTEGER_PERIOD:
        return None
    distinct = np.unique(arr)
    in_range = bool(distinct.min() >= MIN_YEAR and distinct.max() <= MAX_YEAR)
    unit_step = (
        len(distinct) > 1
        and bool(np.all(np.diff(distinct) >= 1))
        and (np.median(np.diff(distinct)) == 1)
    )
    if in_range and (name.lower() in YEAR_NAMES or unit_step):
        return "year"
    return "integer"


def step_frequency(times: pd.Series) -> str:
    """The frequency of integer periods on the internal axis: their common step in days.

    Example:
        >>> step_frequency(read_time_column(pd.Series([0, 5, 15]), "integer"))
        '5D'
    """
    days = np.unique((pd.DatetimeIndex(times.dropna()) - EPOCH).days.to_numpy())
    step = int(np.gcd.reduce(np.diff(days))) if len(days) > 1 else 1
    return "D" if step <= 1 else f"{step}D"


def read_time_column(values: pd.Series, kind: str) -> pd.Series:
    """A time column of ``kind`` as timestamps on the internal axis (NaT where unreadable).

    Raises:
        DataError: An unknown kind, or (datetime) mixed time zones.

    Example:
        >>> read_time_column(pd.Series([1821, 1822]), "year").dt.year.tolist()
        [1821, 1822]
        >>> read_time_column(pd.Series([3, 4]), "integer").tolist()[0]
        Timestamp('1970-01-04 00:00:00')
    """
    if kind == "datetime":
        return parse_times(values)
    numbers = pd.to_numeric(values, errors="coerce")
    whole = numbers.where(numbers == numbers.round())
    if kind == "year":
        text = whole.astype("Int64").astype("string")
        return pd.to_datetime(text, format="%Y", errors="coerce")
    if kind == "integer":
        return pd.Series(
            _day_times(whole.to_numpy(dtype=float)), index=values.index, name=values.name
        )
    raise DataError(
        f"Unknown time index kind {kind!r} (one of {', '.join(TIME_KINDS)}); profile the data "
        "again with this archselect."
    )


def _day_times(days: np.ndarray) -> np.ndarray:
    """Day numbers (NaN allowed) as datetime64[us] after :data:`EPOCH` (microseconds reach
    far beyond the nanosecond range's year 2262)."""
    out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[us]")
    ok = np.isfinite(days)
    start = np.datetime64(EPOCH.date(), "D")
    out[ok] = (start + days[ok].astype(np.int64)).astype("datetime64[us]")
    return out


def row_times(n: int, index: pd.Index | None = None) -> pd.Series:
    """Rows in file order as periods 1 … n on the internal axis.

    Example:
        >>> time_values(pd.DatetimeIndex(row_times(3)), "row").tolist()
        [1, 2, 3]
    """
    return pd.Series(_day_times(np.arange(1, n + 1, dtype=float)), index=index)


def _quarter_text(t: pd.DatetimeIndex, pattern: str) -> list[str]:
    return [pattern.format(Y=y, q=q) for y, q in zip(t.year, t.quarter, strict=True)]


def text_format(values: pd.Series, times: pd.Series) -> str | None:
    """The pattern that writes ``times`` back exactly as the strings ``values`` were written
    (checked on a sample), or None (dates then stay timestamps).

    Returns a strftime pattern, or a ``{Y}``/``{q}``/``{m}`` pattern for quarters and month
    codes (:func:`time_values` tells them apart by the brace).

    Example:
        >>> s = pd.Series(["1970 Q1", "1970 Q2"])
        >>> text_format(s, parse_times(s))
        '{Y} Q{q}'
        >>> s = pd.Series(["Jan 2019", "Feb 2019"])
        >>> text_format(s, parse_times(s))
        '%b %Y'
    """
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return None
    pairs = pd.DataFrame({"text": values.astype("string"), "time": times}).dropna()
    pairs = pairs.head(FORMAT_SAMPLE)
    if pairs.empty:
        return None
    text = pairs["text"].str.strip().tolist()
    t = pd.DatetimeIndex(pairs["time"])
    for pattern in _QUARTER_FORMATS:
        if _quarter_text(t, pattern) == text:
            return pattern
    codes = [_MONTH_CODE_FORMAT.format(Y=y, m=m) for y, m in zip(t.year, t.month, strict=True)]
    if codes == text:
        return _MONTH_CODE_FORMAT
    for pattern in _FORMATS:
        if list(t.strftime(pattern)) == text:
            return pattern
    return None


def time_values(grid: pd.DatetimeIndex, kind: str, fmt: str | None = None) -> np.ndarray:
    """Grid times in the user's form: years and periods as whole numbers, period strings in
    the file's format ``fmt`` (:func:`text_format`), else timestamps.

    Example:
        >>> g = pd.DatetimeIndex(["2019-07-01", "2019-10-01"])
        >>> time_values(g, "datetime", "{Y}Q{q}").tolist()
        ['2019Q3', '2019Q4']
        >>> time_values(pd.DatetimeIndex(["1935-01-01"]), "year").tolist()
        [1935]
    """
    t = pd.DatetimeIndex(grid)
    if kind == "year":
        return np.asarray(t.year, dtype=np.int64)
    if kind in ("integer", "row"):
        return np.asarray((t - EPOCH).days, dtype=np.int64)
    if fmt is None:
        return t.to_numpy()
    if fmt == _MONTH_CODE_FORMAT:
        return np.asarray([fmt.format(Y=y, m=m) for y, m in zip(t.year, t.month, strict=True)])
    if "{q}" in fmt:
        return np.asarray(_quarter_text(t, fmt), dtype=object)
    return np.asarray(t.strftime(fmt), dtype=object)
