"""Forecasts from any time index a user has, and short series: the issue's four attempts,
years, integer periods, period strings and file order; windows and origins chosen from the
length, and refusals that state the length actually needed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from archselect import DataError
from archselect.layouts import forecast as fc
from archselect.layouts import transform
from archselect.load import load_table
from archselect.prepare import prepare
from archselect.profile import profile_frame, profile_table

#: The issue's series: 114 annual values (a 10-year cycle, like the lynx trappings).
YEARS = np.arange(1821, 1935)
HORIZON = 14


def _annual() -> pd.DataFrame:
    t = np.arange(len(YEARS))
    value = (
        1500
        + 1200 * np.sin(2 * np.pi * t / 9.6)
        + 50 * np.random.default_rng(0).normal(size=len(t))
    )
    return pd.DataFrame({"year": YEARS, "value": value.round()})


@pytest.mark.parametrize(
    ("frame", "options", "kind"),
    [
        (_annual(), {"target": "value"}, "year"),  # attempt 1: year,value
        (_annual(), {"target": "value", "time_col": "year"}, "year"),  # attempt 2: --time-col
        (_annual()[["value"]], {}, "row"),  # attempt 3: the value column alone
        (_annual().assign(year=[f"{y}-01-01" for y in YEARS]), {"target": "value"}, "datetime"),
    ],
    ids=["year-column", "time-col", "value-only", "dates"],
)
def test_the_issues_four_attempts_are_forecasts(
    frame: pd.DataFrame, options: dict[str, str], kind: str
) -> None:
    table = load_table(frame)
    profile = profile_table(table, horizon=HORIZON, **options)
    assert (profile.layout, profile.task) == ("forecast", "regression")
    spec = profile.spec
    assert isinstance(spec, fc.ForecastSpec) and spec.time_kind == kind
    assert spec.horizon == HORIZON and spec.window >= fc.MIN_SHORT_WINDOW
    prepared = prepare(table, profile)
    assert len(prepared.x_train) >= fc.MIN_TRAIN_WINDOWS and len(prepared.x_test) > 0
    # the forecast times continue the user's own index
    pre = prepared.preprocessing
    assert pre.forecast is not None
    (series,) = pre.forecast.panel(frame, pre.feature_columns)
    nxt = pre.forecast.time_values(pre.forecast.future_times(series.grid[-1]))
    expected = {"year": 1935, "row": len(YEARS) + 1, "datetime": pd.Timestamp("1935-01-01")}
    assert nxt[0] == expected[kind]


QUARTERS = pd.period_range("2000Q1", periods=60, freq="Q")
MONTHS = pd.period_range("2000-01", periods=60, freq="M")


@pytest.mark.parametrize(
    ("labels", "kind", "group", "first_next"),
    [
        ([str(p) for p in QUARTERS], "datetime", "Q", "2015Q1"),
        ([f"{p.year} Q{p.quarter}" for p in QUARTERS], "datetime", "Q", "2015 Q1"),
        ([f"Q{p.quarter} {p.year}" for p in QUARTERS], "datetime", "Q", "Q1 2015"),
        ([f"{p.year}M{p.month:02d}" for p in MONTHS], "datetime", "M", "2005M01"),
        ([p.strftime("%b %Y") for p in MONTHS], "datetime", "M", "Jan 2005"),
        ([float(1900 + i) for i in range(60)], "year", "Y", 1960),
        (list(range(1, 61)), "integer", "step", 61),
        (list(range(0, 300, 5)), "integer", "step", 300),
    ],
    ids=[
        "2019Q3",
        "1970 Q1",
        "Q3 2019",
        "2019M03",
        "Jan 2019",
        "float-years",
        "periods",
        "step-5",
    ],
)
def test_time_indexes_are_read_and_written_back_in_their_own_form(
    labels: list, kind: str, group: str, first_next: object
) -> None:
    y = np.cumsum(np.random.default_rng(1).normal(size=60)) + 50
    frame = pd.DataFrame({"period": labels, "value": y})
    profile = profile_frame(frame, target="value")
    ev = profile.evidence["forecast"]
    assert (ev["time_kind"], ev["group"]) == (kind, group)
    assert isinstance(profile.spec, fc.ForecastSpec)
    spec = fc.ForecastWindowing(
        "period", profile.spec.frequency, 4, 2, 1,
        time_kind=profile.spec.time_kind, time_format=profile.spec.time_format,
    )  # fmt: skip
    grid = pd.DatetimeIndex(spec.read_times(frame))
    assert spec.time_values(grid)[:3].tolist() == list(frame["period"][:3])
    assert spec.time_values(spec.future_times(grid[-1]))[0] == first_next


def test_integer_years_are_never_read_as_nanoseconds() -> None:
    times = fc.read_time_column(pd.Series([1821, 1822]), "year")
    assert times.dt.year.tolist() == [1821, 1822]


def test_an_id_like_integer_column_in_a_table_stays_an_identifier() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"row": np.arange(80), "a": rng.normal(size=80), "y": rng.normal(size=80)}
    )
    profile = profile_frame(frame, target="y")
    assert profile.layout == "table" and "row" in profile.dropped_columns


def test_short_series_get_smaller_windows_and_the_stated_minimum_is_exact() -> None:
    # 30 yearly values, horizon 6: the usual window (8) leaves too few training windows
    choice = fc.choose_window_horizon(np.arange(30.0), "Y", horizon=6)
    assert choice["window"] < 8 and choice["min_length"] <= 30
    train, val, test, _, _ = fc.time_ordered_split(30, choice["window"], 6)
    assert len(train) >= fc.MIN_TRAIN_WINDOWS and len(val) >= 1 and len(test) >= 1
    need = fc.min_length(fc.MIN_SHORT_WINDOW, 6)
    with pytest.raises(DataError, match=f"needs at least {need}"):
        fc.choose_window_horizon(np.arange(need - 1.0), "Y", horizon=6)
    assert fc.choose_window_horizon(np.arange(float(need)), "Y", horizon=6)["window"] == 2


def test_longer_series_are_validated_on_several_rolling_origins() -> None:
    train, val, test, val_start, test_start = fc.time_ordered_split(60, 6, 6)
    assert len(val) > 1 and len(test) > 1  # several forecast origins, one step apart
    assert val == tuple(range(val[0], val[-1] + 1))
    assert max(train) + 6 + 6 <= val_start and max(val) + 6 + 6 <= test_start
    # a long series' origins are thinned evenly to MAX_ORIGINS, both ends kept
    _, val, test, _, _ = fc.time_ordered_split(5000, 24, 24)
    assert len(val) == len(test) == fc.MAX_ORIGINS and test[-1] == 5000 - 24 - 24


def test_a_file_of_values_alone_forecasts_numbered_steps() -> None:
    frame = _annual()[["value"]]
    table = load_table(frame)
    prepared = prepare(table, profile_table(table, horizon=3))
    pre = prepared.preprocessing
    assert pre.forecast is not None and pre.forecast.time_column == fc.ROW_TIME_COLUMN
    windows = transform(pre, frame)
    assert len(windows) == len(frame) - pre.forecast.window + 1
