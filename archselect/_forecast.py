"""Forecasting helpers: time columns, frequency, gaps, window/horizon, windows, baselines.

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

from archselect._errors import DataError, UsageError
from archselect._serde import JsonRecord

__all__ = [
    "ForecastSpec",
    "SeriesGrid",
    "choose_window_horizon",
    "detect_frequency",
    "find_repeated_time_column",
    "find_series_id",
    "find_time_column",
    "forecast_baselines",
    "mase_scale",
    "numeric_values",
    "panel_fill",
    "panel_mase_scale",
    "regularise",
    "regularise_panel",
    "series_label",
    "splits_into_windows",
    "time_ordered_split",
    "window_targets",
    "windows",
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
SEASON = {"min": 60, "h": 24, "D": 7, "B": 5, "W": 52, "M": 12, "Q": 4, "Y": 1}
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
    "min_steps_per_series": MIN_STEPS_PER_SERIES,
}

_DIGITS_ONLY = re.compile(r"^\d+(\.\d+)?$")


def parse_times(values: pd.Series) -> pd.Series:
    """Parse a column as timestamps (``YYYYMMDD`` integers and ISO strings included)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text = values.astype("string")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if text.dropna().str.fullmatch(r"\d{8}").all():
            return pd.to_datetime(text, format="%Y%m%d", errors="coerce")
        try:
            return pd.to_datetime(text, errors="coerce", format="mixed")
        except ValueError:  # mixed time zones (and offsets) cannot share one column
            raise DataError(
                f"Column {str(values.name)!r} mixes time zones or UTC offsets; write every "
                "time in one zone (e.g. all UTC) and one format."
            ) from None


def _yyyymmdd(s: pd.Series) -> bool:
    values = s.dropna()
    if not _is_whole(values):
        return False
    return bool(values.astype(np.int64).astype(str).str.len().eq(8).all())


def _is_whole(values: pd.Series) -> bool:
    arr = values.to_numpy(dtype=float)
    return bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))


def _time_candidates(frame: pd.DataFrame, exclude: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """Columns that may hold times, in column order, with the parsed and unique fractions."""
    for col in frame.columns:
        if col in exclude:
            continue
        s = frame[col]
        named = str(col).lower() in TIME_NAMES
        numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_datetime64_any_dtype(s)
        if numeric and not (named and _yyyymmdd(s)):
            continue
        sample = s.dropna().head(500)
        if sample.empty:
            continue
        if not pd.api.types.is_datetime64_any_dtype(s):
            strings = sample.astype(str)
            if strings.str.fullmatch(_DIGITS_ONLY).mean() > 0.5 and not named:
                continue
        parsed = parse_times(sample)
        frac = float(parsed.notna().mean())
        unique = float(s.nunique(dropna=True) / max(1, s.notna().sum()))
        yield {
            "column": str(col),
            "parsed_fraction": frac,
            "unique_fraction": unique,
            "named": named,
        }


def _candidate_evidence(found: list[dict[str, Any]]) -> dict[str, Any]:
    return {c["column"]: {k: v for k, v in c.items() if k != "column"} for c in found}


def find_time_column(frame: pd.DataFrame, exclude: str) -> tuple[str | None, dict[str, Any]]:
    """The column that holds the time of each row, with the evidence (or ``None``)."""
    found: list[dict[str, Any]] = []
    for cand in _time_candidates(frame, (exclude,)):  # lazily: stop at the first time column
        found.append(cand)
        if cand["parsed_fraction"] >= MIN_PARSED_FRACTION and (
            cand["unique_fraction"] >= MIN_UNIQUE_TIMES
        ):
            return cand["column"], _candidate_evidence(found)
    return None, _candidate_evidence(found)


def find_repeated_time_column(
    frame: pd.DataFrame, exclude: tuple[str, ...], given: str | None = None
) -> str | None:
    """A column of dates whose times repeat (several series in long format), or ``None``.

    ``given`` (``--time-col``) is taken when it parses as dates.
    """
    for cand in _time_candidates(frame, tuple(c for c in exclude if c != given)):
        if given is not None and cand["column"] != given:
            continue
        if cand["parsed_fraction"] >= MIN_PARSED_FRACTION:
            return str(cand["column"])
    return None


def _time_text(t: pd.Timestamp) -> str:
    """A timestamp as a date when it falls on midnight, else in full."""
    return str(t.date()) if t == t.normalize() else str(t)


def find_series_id(
    frame: pd.DataFrame, time_col: str, exclude: tuple[str, ...], given: str | None = None
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
    times = parse_times(frame[time_col]).rename(time_col)
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


def detect_frequency(times: pd.Series) -> dict[str, Any]:
    """Frequency of sorted distinct timestamps: pandas' inference, else the median step.

    Example:
        >>> t = pd.Series(pd.date_range("2020-01-01", periods=30, freq="D"))
        >>> detect_frequency(t)["group"]
        'D'
    """
    t = pd.DatetimeIndex(times.dropna().sort_values().unique())
    if len(t) < 3:
        raise DataError(f"The time column has {len(t)} distinct times; forecasting needs more.")
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


def splits_into_windows(n_steps: int, window: int, horizon: int) -> bool:
    """Whether a series of ``n_steps`` gives :func:`time_ordered_split` enough windows."""
    try:
        time_ordered_split(n_steps, window, horizon)
    except DataError:
        return False
    return True


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


def choose_window_horizon(
    target: np.ndarray,
    group: str,
    *,
    horizon: int | None = None,
    window: int | None = None,
) -> dict[str, Any]:
    """Season, horizon H and window W for a series, with the rule behind each.

    Example:
        >>> y = np.sin(np.arange(240) * 2 * np.pi / 12)
        >>> c = choose_window_horizon(y, "M")
        >>> (c["season"], c["horizon"], c["window"])
        (12, 12, 36)
    """
    n = len(target)
    n_train = int(n * (1 - VAL_FRACTION - TEST_FRACTION))
    candidate = SEASON.get(group, 1)
    acf = _acf(target[:n_train], candidate) if candidate > 1 else float("nan")
    season = candidate if candidate > 1 and np.isfinite(acf) and acf > MIN_SEASON_ACF else 1
    season_rule = (
        f"{group} data: candidate season {candidate}, lag-{candidate} autocorrelation of the "
        f"differenced training series {acf:.2f} "
        + ("> " if season > 1 else "<= ")
        + f"{MIN_SEASON_ACF}"
        if candidate > 1
        else f"{group} data: no calendar season"
    )
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
    else:
        w = min(max_window, max(MIN_WINDOW, WINDOW_PER_HORIZON * h, season))
        w_rule = (
            f"max({MIN_WINDOW}, {WINDOW_PER_HORIZON} x horizon, season) capped at "
            f"min({MAX_WINDOW}, {MAX_WINDOW_FRACTION:.0%} of {n} steps)"
        )
    if season > w:
        season, season_rule = 1, season_rule + f"; longer than the window {w}, so not used"
    need = w + h + 2 * h + MIN_TRAIN_WINDOWS
    if n < need / (1 - VAL_FRACTION - TEST_FRACTION):
        raise DataError(
            f"The series has {n} time steps, too few for window {w} and horizon {h} with "
            f"train/validation/test periods; give a longer series or smaller --window/--horizon."
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


def time_ordered_split(
    n_steps: int, window: int, horizon: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int, int]:
    """Window indices of train, validation and test, in time order, never mixed.

    Window ``i`` reads steps ``[i, i + window)`` and predicts ``[i + window, i + window +
    horizon)``. Test windows predict only the last TEST_FRACTION of the steps, validation
    windows only the VAL_FRACTION before them, training windows only what comes before.

    Returns:
        ``(train, val, test, val_start, test_start)`` (the last two are time steps).

    Example:
        >>> tr, va, te, vs, ts = time_ordered_split(100, 10, 5)
        >>> (vs, ts, max(tr) + 10 + 5 <= vs, min(va) + 10 >= vs, min(te) + 10 >= ts)
        (60, 80, True, True, True)
    """
    n_test = max(horizon, round(n_steps * TEST_FRACTION))
    n_val = max(horizon, round(n_steps * VAL_FRACTION))
    test_start = n_steps - n_test
    val_start = test_start - n_val
    last = n_steps - window - horizon  # last window index with a full target
    train = tuple(range(0, max(0, val_start - window - horizon + 1)))
    val = tuple(range(max(0, val_start - window), test_start - window - horizon + 1))
    test = tuple(range(max(0, test_start - window), last + 1))
    if len(train) < MIN_TRAIN_WINDOWS or not val or not test:
        raise DataError(
            f"{n_steps} time steps leave {len(train)} training windows for window {window} and "
            f"horizon {horizon}; give a longer series or smaller --window/--horizon."
        )
    return train, val, test, val_start, test_start


def panel_mase_scale(targets: list[np.ndarray], season: int) -> float:
    """MASE denominator of several series: every series' in-sample seasonal naive absolute
    errors pooled (differences taken within a series, never across two), then averaged:
    below, (1 + 1 + 4) / 3.

    Example:
        >>> panel_mase_scale([np.array([0.0, 1.0, 2.0]), np.array([5.0, 9.0])], 1)
        2.0
    """
    m = max(1, season)
    diffs = [np.abs(y[m:] - y[:-m]) for y in map(np.asarray, targets) if len(y) > m]
    if not diffs:
        return 1.0
    scale = float(np.mean(np.concatenate(diffs)))
    return scale if scale > 1e-12 else 1.0


def mase_scale(target: np.ndarray, season: int) -> float:
    """Mean absolute error of the in-sample seasonal naive forecast (the MASE denominator)."""
    m = max(1, season)
    y = np.asarray(target, dtype=np.float64)
    if len(y) <= m:
        return 1.0
    scale = float(np.mean(np.abs(y[m:] - y[:-m])))
    return scale if scale > 1e-12 else 1.0


@dataclass(frozen=True)
class ForecastSpec(JsonRecord):
    """How dated series become windows: time column, grid, window, horizon, season.

    ``id_column`` names the series of a long-format table (``None``: one series).
    """

    time_column: str
    frequency: str
    window: int
    horizon: int
    season: int
    mase_scale: float = 1.0
    id_column: str | None = None

    def _check_columns(self, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
        ids = (self.id_column,) if self.id_column is not None else ()
        missing = [c for c in (*ids, self.time_column, *columns) if c not in frame.columns]
        if missing:
            what = "the series id column, " if ids else ""
            raise DataError(
                f"The history lacks column {missing[0]!r}; pass {what}the time column, the "
                "target and any covariates the model was trained on."
            )

    def series(
        self, frame: pd.DataFrame, columns: tuple[str, ...]
    ) -> tuple[pd.DatetimeIndex, np.ndarray, dict[str, Any]]:
        """Rows → (regular time grid, values (T, C) with gaps filled, fill facts)."""
        self._check_columns(frame, columns)
        times = parse_times(frame[self.time_column])
        return regularise(times, numeric_values(frame, columns), self.frequency)

    def panel(self, frame: pd.DataFrame, columns: tuple[str, ...]) -> list[SeriesGrid]:
        """Rows → every series on its regular grid (one series when there is no id column)."""
        self._check_columns(frame, columns)
        if self.id_column is None:
            grid, values, fill = self.series(frame, columns)
            return [SeriesGrid(None, grid, values, fill)]
        times = parse_times(frame[self.time_column])
        values = numeric_values(frame, columns)
        return regularise_panel(frame[self.id_column], times, values, self.frequency)

    def future_times(self, last: pd.Timestamp) -> pd.DatetimeIndex:
        """The ``horizon`` time steps after ``last``."""
        return pd.date_range(last, periods=self.horizon + 1, freq=self.frequency)[1:]


def forecast_baselines(x: np.ndarray, horizon: int, season: int) -> dict[str, np.ndarray]:
    """Naive (last value) and seasonal-naive forecasts from input windows (N, W, C).

    Channel 0 is the target. Returns ``{name: (N, horizon)}``.

    Example:
        >>> x = np.arange(8.0).reshape(1, 8, 1)
        >>> forecast_baselines(x, 3, 4)["seasonal_naive"].tolist()
        [[4.0, 5.0, 6.0]]
    """
    y = x[:, :, 0]
    naive = np.repeat(y[:, -1:], horizon, axis=1)
    m = max(1, min(season, y.shape[1]))
    idx = y.shape[1] - m + (np.arange(horizon) % m)
    return {"naive": naive, "seasonal_naive": y[:, idx]}


def forecast_metrics(
    outputs: np.ndarray, y: np.ndarray, target_std: float, scale: float
) -> dict[str, float]:
    """MAE, RMSE and MASE (against the training seasonal-naive error) in target units.

    ``outputs`` and ``y`` are standardised (N, H) arrays, as the networks see them.

    Example:
        >>> m = forecast_metrics(np.zeros((2, 2)), np.ones((2, 2)), 2.0, 4.0)
        >>> (m["mae"], m["rmse"], m["mase"])
        (2.0, 2.0, 0.5)
    """
    err = (np.asarray(outputs).reshape(np.shape(y)) - y) * target_std
    mae = float(np.mean(np.abs(err)))
    return {"mae": mae, "rmse": float(np.sqrt(np.mean(err**2))), "mase": mae / scale}


def tile(outputs: np.ndarray, horizon: int) -> np.ndarray:
    """Non-overlapping forecasts: windows 0, H, 2H, … laid end to end (one per step).

    Example:
        >>> tile(np.array([[1, 2], [9, 9], [3, 4]]), 2).tolist()
        [1, 2, 3, 4]
    """
    return np.asarray(outputs).reshape(len(outputs), -1)[::horizon].reshape(-1)
