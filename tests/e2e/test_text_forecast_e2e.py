"""A forecasting CSV and a text CSV each go fit → report → predict through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from archselect.cli import cli
from archselect.report import FORECAST_NOTE
from tests.conftest import DATASETS


def _invoke(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def forecast_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    n = 150
    t = np.arange(n)
    rng = np.random.default_rng(0)
    y = 50 + 0.1 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.3, n)
    frame = pd.DataFrame(
        {"month": pd.date_range("2010-01-01", periods=n, freq="MS").strftime("%Y-%m"), "y": y}
    )
    frame = frame.drop(index=[40, 41])  # a small gap, filled and reported
    path = tmp_path_factory.mktemp("data") / "sales.csv"
    frame.to_csv(path, index=False)
    return path


def test_forecast_fit_report_predict(tmp_path: Path, forecast_csv: Path, fast_space: Path) -> None:
    out = tmp_path / "run"
    _invoke(
        "fit", str(forecast_csv), "--out", str(out), "--trials", "2", "--families", "cnn1d,gru",
        "--horizon", "6", "--space", str(fast_space), "--quiet",
    )  # fmt: skip
    profile = json.loads((out / "profile.json").read_text())
    assert profile["layout"] == "forecast"
    assert profile["evidence"]["forecast"]["missing_timestamps"] == 2
    rec = json.loads((out / "recommendation.json").read_text())
    plot = rec["forecast_plot"]
    assert set(plot["forecasts"]) >= {"naive", "seasonal_naive", "linear_autoregression"}
    assert any(f in plot["forecasts"] for f in ("cnn1d", "gru"))
    assert len(plot["times"]) == len(plot["truth"]) > 0
    assert all(len(v) == len(plot["truth"]) for v in plot["forecasts"].values())
    # seasonal naive on a clean season beats the last value
    base = {b["family"]: b for b in pd.read_csv(out / "trials.csv").to_dict("records")}
    sn = json.loads(base["seasonal_naive"]["extra_metrics"])
    nv = json.loads(base["naive"]["extra_metrics"])
    assert sn["test_mase"] < nv["test_mase"] and sn["test_mae"] > 0
    summaries = [f for f in rec["families"] if f["best_trial"] is not None]
    assert summaries and {"test_mae", "test_mase", "val_mase"} <= set(
        summaries[0]["extra_metrics"]
    )
    _invoke("report", str(out))
    html = (out / "report.html").read_text()
    assert "Forecast of the test period" in html and "seasonal_naive" in html
    assert not rec["ensemble"] and FORECAST_NOTE in html  # no row, and the card says why
    pred = tmp_path / "pred.csv"
    _invoke("predict", str(out), str(forecast_csv), "-o", str(pred))
    got = pd.read_csv(pred)
    assert list(got.columns) == ["month", "prediction"] and len(got) == 6
    assert got["month"].iloc[0].startswith("2022-07")  # the step after the last (2022-06)
    assert np.isfinite(got["prediction"]).all() and got["prediction"].between(40, 90).all()


def test_text_fit_report_predict(tmp_path: Path, fast_space: Path) -> None:
    frame = pd.read_csv(DATASETS / "movie_reviews_en.csv").groupby("label").head(90)
    data = tmp_path / "reviews.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "run"
    _invoke(
        "fit", str(data), "--out", str(out), "--trials", "2", "--families", "mlp,lstm",
        "--space", str(fast_space), "--quiet",
    )  # fmt: skip
    profile = json.loads((out / "profile.json").read_text())
    assert (profile["layout"], profile["evidence"]["text"]["tokenizer"]) == ("text", "word")
    pre = json.loads((out / "model" / "preprocessing.json").read_text())
    assert pre["text"]["vocabulary"] and pre["text"]["max_length"] == profile["input_shape"][0]
    trials = pd.read_csv(out / "trials.csv")
    base = trials[trials["kind"] == "baseline"]
    assert list(base["family"]) == ["tfidf_logistic_regression"]
    assert base["test_metric"].between(0.0, 1.0).all()
    html = (out / "report.html").read_text()
    assert "Token lengths" in html
    new = frame.drop(columns=["label"]).head(7)
    new_csv = tmp_path / "new.csv"
    new.to_csv(new_csv, index=False)
    pred = tmp_path / "pred.csv"
    _invoke("predict", str(out), str(new_csv), "-o", str(pred))
    got = pd.read_csv(pred)
    assert len(got) == 7 and set(got["prediction"]) <= {"pos", "neg"}
    assert np.allclose(got[["proba_neg", "proba_pos"]].sum(axis=1), 1.0, atol=1e-5)
