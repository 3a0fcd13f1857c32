"""The field's references (statsforecast) on the same forecast origins as the deep families,
their MASE/sMAPE averaged over series, and their JSON state reproducing statsforecast."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from archselect.baselines_forecast import (
    FORECAST_REFERENCES,
    fit_series,
    fitted_state,
    forecast_reference,
    forecast_state,
    refit_state,
    series_hash,
)
from archselect.load import load_table
from archselect.prepare import prepare
from archselect.profile import profile_table

#: A monthly series with a yearly season and a trend: what ETS and Theta are made for.
MONTHS = 96


def _monthly(n: int = MONTHS, level: float = 50.0, seed: int = 0) -> np.ndarray:
    t = np.arange(n)
    noise = np.random.default_rng(seed).normal(0, 0.5, n)
    return level + 0.1 * t + 5 * np.sin(2 * np.pi * t / 12) + noise


def _prepared(frame: pd.DataFrame, horizon: int = 6):  # type: ignore[no-untyped-def]
    table = load_table(frame)
    return prepare(table, profile_table(table, target="sales", horizon=horizon))


def _panel() -> pd.DataFrame:
    parts = []
    for k, (store, n) in enumerate((("a", 60), ("b", 96), ("c", 40))):
        dates = pd.date_range("2015-01-01", periods=n, freq="MS").strftime("%Y-%m")
        sales = _monthly(n, seed=k) * 10.0**k  # sizes 1, 10 and 100 times the first
        parts.append(pd.DataFrame({"store": store, "date": dates, "sales": sales}))
    return pd.concat(parts, ignore_index=True)


def test_references_forecast_the_same_rows_as_the_deep_windows() -> None:
    dates = pd.date_range("2010-01-01", periods=MONTHS, freq="MS")
    prepared = _prepared(pd.DataFrame({"date": dates, "sales": _monthly()}))
    origins = prepared.origins
    assert origins is not None and origins.season == 12  # the calendar's, for the references
    res = forecast_reference(prepared, "seasonal_naive")
    scores = res.val_scores()
    assert res.state == "COMPLETE" and scores is not None and len(scores) == len(prepared.y_val)
    # row i is the window the networks predict from origin i (targets in target units) …
    values, first = origins.values[0], origins.val[0][0]
    truth = origins.to_units("val", prepared.y_val)[0]
    np.testing.assert_allclose(truth, values[first : first + origins.horizon], rtol=1e-5)
    # … and the reference forecast it from the same origin: the last season repeated
    assert res.extra_metrics["val_mae"] == pytest.approx(
        np.mean(np.abs(_val_rows(origins, 12) - origins.truth("val"))), rel=1e-5
    )
    ets = forecast_reference(prepared, "auto_ets")
    assert ets.val_metric < res.val_metric  # a seasonal trend: exponential smoothing wins


def _val_rows(origins, m: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    values = origins.values[0]
    return np.asarray(
        [[values[o - m + (k % m)] for k in range(origins.horizon)] for o in origins.val[0]]
    )


def test_several_series_average_mase_and_smape_over_series() -> None:
    prepared = _prepared(_panel())
    origins = prepared.origins
    assert origins is not None and len(origins.labels) == 3
    res = forecast_reference(prepared, "naive")
    z = origins.to_z("test", np.concatenate([
        np.repeat([[v[o - 1]] for o in o_s], origins.horizon, axis=1)
        for v, o_s in zip(origins.values, origins.test, strict=True)
    ]))  # fmt: skip
    per_series = origins.series_of("test")
    f, y = origins.to_units("test", z), origins.truth("test")
    mase = [np.abs(f - y)[per_series == i].mean() / origins.mase_scales[i] for i in range(3)]
    assert res.extra_metrics["test_mase"] == pytest.approx(np.mean(mase), rel=1e-4)
    # series 10x apart in size count alike: each series' MASE, not a pooled MAE
    assert res.extra_metrics["test_mae"] > 10 * res.extra_metrics["test_mase"]


def test_every_forecast_reference_runs_on_a_short_panel() -> None:
    prepared = _prepared(_panel())
    for name in FORECAST_REFERENCES:
        res = forecast_reference(prepared, name)
        assert res.state == "COMPLETE", (name, res.error, res.note)
        assert np.isfinite(res.val_metric) and len(res.test_forecast) > 0


def test_a_reference_that_cannot_finish_before_the_deadline_is_skipped_saying_why() -> None:
    prepared = _prepared(_panel())
    res = forecast_reference(prepared, "auto_ets", deadline=0.0)  # long past
    assert res.state == "SKIPPED" and "--timeout" in (res.note or "")


@pytest.mark.parametrize("name", ["auto_ets", "auto_theta", "auto_arima", "seasonal_naive"])
def test_the_json_state_reproduces_statsforecast_exactly(name: str) -> None:
    y = _monthly(60)
    fitted = fit_series(name, y, 12)
    state = json.loads(json.dumps(fitted_state(fitted, y), allow_nan=False))  # strict JSON
    own = fitted.forecast(y, 6)
    np.testing.assert_allclose(forecast_state(name, state, 12, y, 6), own, rtol=1e-12)
    longer = np.r_[y, _monthly(66)[60:]]  # the same series, extended: forward, no refit
    np.testing.assert_allclose(
        forecast_state(name, state, 12, longer, 6), fitted.forecast(longer, 6), rtol=1e-12
    )
    refit = refit_state(name, state, 12, y, 6)  # the structure fitted again: close, not equal
    np.testing.assert_allclose(refit, own, rtol=0.05)
    assert state["fit"] == {"n": 60, "sha256": series_hash(y)}
