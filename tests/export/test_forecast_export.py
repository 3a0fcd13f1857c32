"""Forecasts exported: a statistical reference as JSON (stored parameters on the training
history, the structure refitted elsewhere, said in the notes; a tampered file refused), and a
global network over several series decoding each series in its own units."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from archselect import DataError, RunDirError, UsageError
from archselect.baselines_forecast import final_reference, fit_series
from archselect.export import (
    REFERENCE_FILE,
    ForecastReferenceModel,
    ModelConfig,
    export_forecast_reference,
    export_model,
    export_onnx,
    load_model,
)
from archselect.load import load_table
from archselect.models import create_model
from archselect.prepare import Prepared, prepare
from archselect.profile import profile_table

HORIZON = 6
STORES = {"north": 72, "south": 60}


def _frame() -> pd.DataFrame:
    parts = []
    for k, (store, n) in enumerate(STORES.items()):
        t = np.arange(n)
        noise = np.random.default_rng(k).normal(0, 0.5, n)
        sales = (50 + 0.2 * t + 4 * np.sin(2 * np.pi * t / 12) + noise) * 10.0**k
        dates = pd.period_range("2015-01", periods=n, freq="M").astype(str)
        parts.append(pd.DataFrame({"store": store, "month": dates, "sales": sales}))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def prepared() -> Prepared:
    table = load_table(_frame())
    return prepare(table, profile_table(table, target="sales", horizon=HORIZON))


def _config(prepared: Prepared, family: str, kind: str) -> ModelConfig:
    pre = prepared.preprocessing
    return ModelConfig(
        family=family,
        params={"layers": 1, "width": 8} if kind == "family" else {},
        input_shape=pre.input_shape,
        n_outputs=pre.n_outputs,
        layout=pre.layout,
        task="regression",
        kind=kind,
    )


@pytest.fixture(scope="module")
def theta_dir(prepared: Prepared, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    document = final_reference(prepared, "auto_theta")
    config = _config(prepared, "auto_theta", "baseline")
    export_forecast_reference(folder, document, prepared.preprocessing, config)
    return folder


def test_the_reference_forecasts_its_training_series_with_the_stored_parameters(
    theta_dir: Path,
) -> None:
    model = load_model(theta_dir)
    assert isinstance(model, ForecastReferenceModel)
    frame = _frame()
    got = model.predict_frame(frame)
    assert list(got.columns) == ["store", "month", "prediction"]
    assert got.attrs["notes"] == []  # the training series: nothing refitted
    north = frame.loc[frame["store"] == "north", "sales"].to_numpy()
    own = fit_series("auto_theta", north, 12).forecast(north, HORIZON)
    np.testing.assert_allclose(got.loc[got["store"] == "north", "prediction"], own, rtol=1e-9)
    assert got.loc[got["store"] == "north", "month"].iloc[0] == "2021-01"  # the file's form


def test_another_history_is_refitted_and_said_so(theta_dir: Path) -> None:
    model = load_model(theta_dir)
    frame = _frame()
    later = frame[frame["month"] >= "2016-01"]  # the series no longer start as in training
    tiny = pd.DataFrame({"store": "pier", "month": ["2020-01", "2020-02"], "sales": [1.0, 2.0]})
    new = _frame().assign(store=lambda f: f["store"] + "_new")
    got = model.predict_frame(pd.concat([later, tiny, new]))
    notes = " | ".join(got.attrs["notes"])
    assert "series 'north' does not begin with the 72 training values" in notes
    assert "series 'north_new' was not in training" in notes
    assert "series 'pier' (2 steps) is too short for auto_theta: the naive forecast" in notes
    assert np.isfinite(got["prediction"]).all() and len(got) == HORIZON * 5
    pier = got.loc[got["store"] == "pier", "prediction"]
    assert (pier == 2.0).all()
    with pytest.raises(UsageError, match="use archselect predict"):
        export_onnx(theta_dir)  # a whole-history model has no tensor graph


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(family="auto_arima"),  # not the config's reference
        lambda d: d["series"][0].update(params={"alpha": {"__reduce__": ["os.system"]}}),
        lambda d: d["series"][0].pop("fit"),
        lambda d: d.update(format=99),
    ],
    ids=["family", "nested-object", "no-fit", "format"],
)
def test_a_damaged_reference_file_is_refused(theta_dir: Path, tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    for f in theta_dir.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    doc = json.loads((tmp_path / REFERENCE_FILE).read_text())
    damage(doc)
    (tmp_path / REFERENCE_FILE).write_text(json.dumps(doc))
    with pytest.raises(RunDirError):
        load_model(tmp_path).predict_frame(_frame())


def test_a_global_network_decodes_each_series_in_its_own_units(
    prepared: Prepared, tmp_path: Path
) -> None:
    pre = prepared.preprocessing
    assert pre.forecast is not None and pre.forecast.per_series
    net = create_model("mlp", input_shape=pre.input_shape, n_outputs=pre.n_outputs,
                       layout=pre.layout, layers=1, width=8)  # fmt: skip
    export_model(tmp_path, net, pre, _config(prepared, "mlp", "family"))
    model = load_model(tmp_path)
    frame = _frame()
    got = model.predict_frame(frame)
    # the anchored network forecasts near each series' last value, whatever its size
    for store in STORES:
        last = frame.loc[frame["store"] == store, "sales"].iloc[-1]
        pred = got.loc[got["store"] == store, "prediction"]
        assert pred.between(0.5 * last, 1.5 * last).all(), store
    unseen = frame[frame["store"] == "north"].assign(store="harbour")
    assert len(model.predict_frame(unseen)) == HORIZON  # a new series: its own scale
    short = pd.concat([frame, unseen.head(3).assign(store="pier")])
    with pytest.raises(DataError, match="Series 'pier' of the history has 3 time steps"):
        model.predict_frame(short)
