"""Several dated series in long format (store, date, sales): one global forecaster.

Profile → windows of every series → a time-ordered split per series → fit → report →
predict the next H steps of each series (unseen ids included, short ones refused).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from archselect import DataError, UsageError
from archselect.cli import cli
from archselect.layouts import forecast as fc
from archselect.layouts import transform
from archselect.load import load_table
from archselect.prepare import PlotSeries, prepare
from archselect.profile import profile_frame, profile_table

STORES = ("north", "south", "east", "west")
STEPS = 120
#: The last store's series ends this many months earlier (its next dates differ).
SHORTER_BY = 3
HORIZON = 6


def _panel(stores: tuple[str, ...] = STORES, steps: int = STEPS, seed: int = 0) -> pd.DataFrame:
    """Monthly sales of a few stores: different levels, a shared yearly season, noise."""
    rng = np.random.default_rng(seed)
    parts = []
    for k, store in enumerate(stores):
        n = steps - (SHORTER_BY if k == len(stores) - 1 else 0)
        t = np.arange(n)
        sales = 100.0 * (k + 1) + 0.2 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, n)
        dates = pd.date_range("2010-01-01", periods=n, freq="MS").strftime("%Y-%m-%d")
        parts.append(pd.DataFrame({"store": store, "date": dates, "sales": sales}))
    frame = pd.concat(parts, ignore_index=True)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # any row order


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "stores.csv"
    _panel().to_csv(path, index=False)
    return path


def test_profile_detects_the_id_column_with_evidence() -> None:
    frame = _panel()
    frame.insert(1, "region", "all")  # a text column besides the id: left out
    profile = profile_frame(frame)
    assert (profile.layout, profile.form) == ("forecast", "dated_long")
    assert (profile.id_column, profile.time_column, profile.target) == ("store", "date", "sales")
    ev = profile.evidence["forecast"]
    assert ev["id_column"] == "store" and ev["n_series"] == ev["series_kept"] == len(STORES)
    assert "(id, time) pairs are unique" in ev["id_rule"]
    assert ev["thresholds"]["min_steps_per_series"] == fc.MIN_STEPS_PER_SERIES
    assert profile.evidence["series_ids"]["store"] == {"n_series": 4, "pairs_unique": True}
    assert ev["frequency"] == "MS" and ev["season"] == 12
    assert "region" in profile.dropped_columns
    assert any("'region' left out" in n for n in profile.notes)


def test_id_col_names_the_series_and_a_single_series_is_unchanged() -> None:
    frame = _panel()
    given = profile_frame(frame, id_col="store")
    assert given.id_column == "store"
    assert given.evidence["forecast"]["id_rule"] == "given with --id-col"
    renamed = profile_frame(
        frame.rename(columns={"date": "when"}), id_col="store", time_col="when"
    )
    assert (renamed.layout, renamed.time_column) == ("forecast", "when")
    one = frame[frame["store"] == "north"].drop(columns="store")
    single = profile_frame(one)
    assert (single.layout, single.form, single.id_column) == ("forecast", "dated_series", None)
    assert "id_column" not in single.evidence["forecast"]


def test_id_col_with_repeated_pairs_is_refused() -> None:
    frame = _panel().assign(chain="one")
    with pytest.raises(DataError, match="Series 'one' of --id-col 'chain' has time"):
        profile_frame(frame, id_col="chain")


def test_short_series_are_left_out_with_a_note() -> None:
    frame = pd.concat([_panel(), _panel(("tiny",), steps=30, seed=1)], ignore_index=True)
    profile = profile_frame(frame, horizon=HORIZON)
    ev = profile.evidence["forecast"]
    assert (ev["n_series"], ev["series_kept"], ev["series_dropped"]) == (5, 4, ["tiny"])
    assert any("1 of 5 series left out" in n and "tiny" in n for n in profile.notes)
    prepared = prepare(load_table(frame), profile)
    assert "tiny" not in set(prepared.window_series)


def test_a_gap_beyond_the_fill_limit_names_the_series() -> None:
    frame = _panel()
    south = frame.index[frame["store"] == "south"]
    dates = frame.loc[south, "date"]
    hole = dates[(dates >= "2012-01-01") & (dates < "2014-01-01")].index  # 24 months
    with pytest.raises(DataError, match="Series 'south' of column 'store': The series misses"):
        profile_frame(frame.drop(index=hole))


def test_windows_come_from_every_series_and_the_split_is_per_series_in_time() -> None:
    table = load_table(_panel())
    prepared = prepare(table, profile_table(table, horizon=HORIZON))
    pre, split = prepared.preprocessing, prepared.split
    spec = pre.forecast
    assert spec is not None and spec.id_column == "store" and spec.horizon == HORIZON
    ids = np.asarray(prepared.window_series)
    starts = pd.to_datetime(pd.Series(prepared.window_target_times))
    assert len(ids) == len(prepared.x_train) + len(prepared.x_val) + len(prepared.x_test)
    for store in STORES:
        mine = ids == store
        train = np.flatnonzero(mine)[np.isin(np.flatnonzero(mine), split.train)]
        later = np.flatnonzero(mine)[np.isin(np.flatnonzero(mine), split.val + split.test)]
        assert len(train) >= fc.MIN_TRAIN_WINDOWS and len(later) > 0, store
        # the last training target step comes before every validation/test target step
        last_train_target = starts[train].max() + pd.DateOffset(months=HORIZON - 1)
        assert last_train_target < starts[later].min(), store
    # each split holds windows of every series
    for part in (split.train, split.val, split.test):
        assert set(ids[list(part)]) == set(STORES)
    # each series' target is scaled by its own training level and naive error (levels 100
    # apart: one global scale would drown the small stores)
    assert spec.per_series and pre.target_std == 1.0
    levels = [spec.series_scales[store][0] for store in STORES]
    assert levels == sorted(levels) and levels[1] - levels[0] > 50
    assert prepared.x_train.shape[1:] == (spec.window, 1)
    assert prepared.y_train.shape[1] == HORIZON
    # the transform concatenates every series' windows (the model reads the last of each)
    assert len(transform(pre, table.frame)) == sum(
        len(s.values) - spec.window + 1 for s in spec.panel(table.frame, pre.feature_columns)
    )


def test_baselines_still_run_on_the_windows_of_all_series() -> None:
    from archselect.baselines import forecast_baseline

    table = load_table(_panel())
    prepared = prepare(table, profile_table(table, horizon=HORIZON))
    assert prepared.plot is not None and prepared.plot.series_id in STORES
    assert PlotSeries.from_dict(prepared.plot.to_dict()) == prepared.plot
    spec = prepared.preprocessing.forecast
    assert spec is not None and fc.ForecastWindowing.from_dict(spec.to_dict()) == spec
    got = {
        name: forecast_baseline(prepared, name)
        for name in ("naive", "seasonal_naive", "linear_autoregression")
    }
    assert got["seasonal_naive"].test_metric < got["naive"].test_metric
    origins = prepared.origins
    assert origins is not None
    shown = origins.test[origins.labels.index(prepared.plot.series_id)]
    span = shown[-1] + HORIZON - shown[0]  # the plotted series' test origins, laid end to end
    assert all(len(b.test_forecast) == span for b in got.values())


def _invoke(*args: str, code: int = 0) -> str:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == code, res.output
    return res.output


def test_fit_report_predict_each_series(tmp_path: Path, panel_csv: Path, fast_space: Path) -> None:
    out = tmp_path / "run"
    _invoke(
        "fit", str(panel_csv), "--out", str(out), "--trials", "2", "--families", "cnn1d,mlp",
        "--horizon", str(HORIZON), "--space", str(fast_space), "--quiet",
    )  # fmt: skip
    profile = json.loads((out / "profile.json").read_text())
    assert profile["layout"] == "forecast" and profile["id_column"] == "store"
    rec = json.loads((out / "recommendation.json").read_text())
    plot = rec["forecast_plot"]
    assert plot["id_column"] == "store" and plot["series"]["series_id"] in STORES
    assert len(plot["times"]) == len(plot["truth"]) > 0
    assert all(len(v) == len(plot["truth"]) for v in plot["forecasts"].values())
    html = (out / "report.html").read_text()
    assert "Forecast of the test period" in html and "the one with most test windows" in html
    pred = tmp_path / "pred.csv"
    _invoke("predict", str(out), str(panel_csv), "-o", str(pred))
    got = pd.read_csv(pred)
    assert list(got.columns) == ["store", "date", "prediction"]
    assert len(got) == HORIZON * len(STORES)
    history = pd.read_csv(panel_csv)
    for k, store in enumerate(STORES):
        rows = got[got["store"] == store]
        last = pd.Timestamp(history.loc[history["store"] == store, "date"].max())
        expected = pd.date_range(last, periods=HORIZON + 1, freq="MS")[1:]
        assert list(pd.to_datetime(rows["date"])) == list(expected), store
        level = 100.0 * (k + 1) + 0.2 * STEPS
        assert rows["prediction"].between(level - 60, level + 60).all(), store
    # smooth seasonal series: a statistical reference beats two quick deep trials, and is
    # exported as JSON
    assert rec["kind"] == "baseline" and (out / "model" / "reference.json").exists()
    # a store never seen in training is forecast (fitted afresh), and a 3-step one gets the
    # naive forecast; the notes on stderr say so
    new = _panel(("harbour",), seed=3)
    short = new[new["date"] < "2010-04-01"].assign(store="pier")
    new_csv = tmp_path / "new.csv"
    pd.concat([new, short]).to_csv(new_csv, index=False)
    res = CliRunner().invoke(cli, ["predict", str(out), str(new_csv)])
    assert res.exit_code == 0, res.output
    unseen = pd.read_csv(io.StringIO(res.stdout))
    assert list(unseen["store"].unique()) == ["harbour", "pier"] and len(unseen) == 2 * HORIZON
    assert np.isfinite(unseen["prediction"]).all()
    assert "series 'harbour' was not in training" in res.stderr
    assert "series 'pier' (3 steps) is too short" in res.stderr


def test_layout_option_errors_are_usage_errors() -> None:
    frame = _panel().drop(columns="date")
    with pytest.raises(UsageError, match="needs a column of times"):
        profile_frame(frame, id_col="store", layout="forecast")
