"""ONNX export: the graph holds the preprocessing, and onnxruntime matches ``predict``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from archselect.export import (
    PACKED_FAMILIES,
    ModelConfig,
    export_model,
    export_onnx,
    load_model,
)
from archselect.load import load_table
from archselect.models import create_model, list_models, model_layouts
from archselect.prepare import prepare
from archselect.profile import profile_table
from tests.conftest import make_series

ort = pytest.importorskip("onnxruntime")

#: onnxruntime and torch agree to float32 rounding; the issue asks for 1e-4.
TOLERANCE = 1e-4


def _series() -> pd.DataFrame:
    frame = make_series(n=60, length=24)
    frame.iloc[3, 5] = np.nan  # imputed inside the graph
    return frame


def _image() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(60, 8, 8, 3)).cumsum(axis=1).cumsum(axis=2)
    frame = pd.DataFrame(base.reshape(60, -1), columns=[f"pixel{i}" for i in range(192)])
    frame["label"] = np.arange(60) % 3
    return frame


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, 60).astype(float),
            "income": rng.normal(50, 10, 60),
            "city": rng.choice(["north", "south", "east"], 60),
        }
    )
    frame.loc[4, "income"] = np.nan
    frame["target"] = frame["income"].fillna(50) * 0.5 + rng.normal(0, 1, 60)
    return frame


def _long() -> pd.DataFrame:
    from tests.corpus import long_frame

    frame = long_frame(30, 21)
    frame.loc[7, "x"] = np.nan  # imputed inside the graph
    return frame


DATA = {
    "series": (_series, {}),
    "series_padded": (_long, {}),
    "image": (_image, {"shape": "8x8x3"}),
    "table": (_table, {}),
}


def _all_cases() -> list[tuple[str, str]]:
    return [(f, lay) for f in list_models() for lay in DATA if lay in model_layouts(f)]


def _packed(family: str, layout: str) -> bool:
    return layout == "series_padded" and family in PACKED_FAMILIES


def _cases() -> list[tuple[str, str]]:
    return _all_cases()


def _randomise_norm_stats(net: torch.nn.Module) -> None:
    """Non-trivial BatchNorm running statistics, so the parity covers them."""
    gen = torch.Generator().manual_seed(0)
    for mod in net.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            assert mod.running_mean is not None and mod.running_var is not None
            mod.running_mean.copy_(torch.randn(mod.running_mean.shape, generator=gen) * 0.1)
            mod.running_var.copy_(torch.rand(mod.running_var.shape, generator=gen) + 0.5)


def _model_dir(
    tmp: Path, family: str, layout: str, params: dict[str, object] | None = None
) -> tuple[Path, pd.DataFrame]:
    make, options = DATA[layout]
    frame = make()
    table = load_table(frame)
    profile = profile_table(table, **options)
    assert profile.layout == layout
    prepared = prepare(table, profile)
    pre = prepared.preprocessing
    torch.manual_seed(0)
    params = dict(params or {})
    net = create_model(
        family,
        input_shape=pre.input_shape,
        n_outputs=profile.n_outputs,
        layout=pre.layout,
        **params,
    )
    _randomise_norm_stats(net)
    model_dir = tmp / "model"
    config = ModelConfig(
        family=family,
        params=dict(params),
        input_shape=pre.input_shape,
        n_outputs=profile.n_outputs,
        task=profile.task,
    )
    export_model(model_dir, net.eval(), pre, config)
    return model_dir, frame


def _onnx_feeds(frame: pd.DataFrame, meta: dict[str, str]) -> dict[str, np.ndarray]:
    """The raw data as the ONNX inputs want them."""
    columns = json.loads(meta["input_columns"])
    if meta["form"] == "long":  # (N, T, C) values, real steps first, plus lengths
        t_max = json.loads(meta["input_shape"])[0]
        groups = [g.sort_values("step") for _, g in frame.groupby("series_id", sort=False)]
        x = np.zeros((len(groups), t_max, len(columns)), dtype=np.float32)
        for i, g in enumerate(groups):
            x[i, : len(g)] = g[columns].to_numpy(dtype=np.float32)[:t_max]
        lengths = np.asarray([len(g) for g in groups], dtype=np.int64)
        return {"x": x, "lengths": lengths}
    return {"x": _onnx_rows(frame, columns)}


def _onnx_rows(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The raw rows as the ONNX input wants them: numeric columns, then one-hot text."""
    parts = []
    for col in columns:
        if "=" in col and col.split("=", 1)[0] in frame.columns:
            name, value = col.split("=", 1)
            parts.append((frame[name].astype(str) == value).to_numpy(dtype=np.float32))
        else:
            parts.append(frame[col].to_numpy(dtype=np.float32))
    return np.stack(parts, axis=1)


@pytest.mark.parametrize(("family", "layout"), _cases())
def test_onnx_matches_predict(tmp_path: Path, family: str, layout: str) -> None:
    _check_parity(*_model_dir(tmp_path, family, layout))


@pytest.mark.slow
@pytest.mark.parametrize("family", PACKED_FAMILIES)
def test_onnx_matches_predict_for_deep_bidirectional_padded_recurrent(
    tmp_path: Path, family: str
) -> None:
    """Variable-length sequences through two bidirectional layers, both summaries."""
    for pool in ("last", "mean"):
        params = {"hidden": 16, "layers": 2, "bidirectional": True, "pool": pool}
        _check_parity(*_model_dir(tmp_path / pool, family, "series_padded", params))


def test_onnx_matches_predict_for_an_ensemble(tmp_path: Path) -> None:
    """The small-data final model (a mean of refits) exports like a single network."""
    model_dir, frame = _model_dir(tmp_path, "gru", "series_padded")
    config = json.loads((model_dir / "config.json").read_text())
    single = torch.load(model_dir / "weights.pt", weights_only=True)
    torch.manual_seed(1)
    shape, n_out = tuple(config["input_shape"]), config["n_outputs"]
    other = create_model("gru", input_shape=shape, n_outputs=n_out, layout="series_padded")
    other = other.state_dict()
    merged = {f"members.0.{k}": v for k, v in single.items()}
    merged.update({f"members.1.{k}": v for k, v in other.items()})
    torch.save(merged, model_dir / "weights.pt")
    (model_dir / "config.json").write_text(json.dumps({**config, "ensemble": 2}))
    assert type(load_model(model_dir).net).__name__ == "MeanEnsemble"
    _check_parity(model_dir, frame)


def _check_parity(model_dir: Path, frame: pd.DataFrame) -> None:
    path = export_onnx(model_dir)
    session = ort.InferenceSession(str(path))
    meta = session.get_modelmeta().custom_metadata_map
    expected = load_model(model_dir).predict_frame(frame)
    feeds = _onnx_feeds(frame, meta)
    for n in (len(expected), 1):  # the batch axis is dynamic, down to one sample
        outputs = session.run(None, {k: v[:n] for k, v in feeds.items()})
        want = expected.iloc[:n]
        if meta["task"] == "classification":
            proba, label = outputs
            classes = json.loads(meta["classes"])
            want_proba = want[[f"proba_{c}" for c in classes]].to_numpy()
            np.testing.assert_allclose(proba, want_proba, atol=TOLERANCE)
            got = np.asarray(classes)[label]
            assert list(got) == [str(v) for v in want["prediction"]]
        else:
            np.testing.assert_allclose(
                outputs[0], want["prediction"].to_numpy(), atol=TOLERANCE, rtol=TOLERANCE
            )
    assert not np.isnan(outputs[0]).any()


def test_every_family_is_covered() -> None:
    covered = {fam for fam, _ in _cases()}
    assert covered == set(list_models())
    assert {c for c in _all_cases() if _packed(*c)} == {
        (f, "series_padded") for f in PACKED_FAMILIES
    }


def _box() -> pd.DataFrame:
    """An axis-aligned box in three features (trees' home ground), a few values missing."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {"a": rng.uniform(-1, 1, 120), "b": rng.uniform(-1, 1, 120), "c": rng.normal(size=120)}
    )
    frame["label"] = np.where((frame.a > 0.2) & (frame.b < 0.1), "in", "out")
    frame.loc[[3, 8], "b"] = np.nan  # imputed inside the graph
    return frame


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_hist_gradient_boosting_reference_exports_to_onnx(tmp_path: Path, task: str) -> None:
    """skl2onnx 1.20 writes Python bools where protobuf 7 wants ints: every
    HistGradientBoosting model failed to convert (export._onnx._hgb_flags_as_ints)."""
    from archselect.baselines import fit_baseline
    from archselect.export import ModelConfig, export_baseline

    frame = _box()
    if task == "regression":
        frame["label"] = frame["a"] * 2 + (frame["b"].fillna(0) > 0)
    table = load_table(frame)
    prepared = prepare(table, profile_table(table, task=task))
    pre = prepared.preprocessing
    estimator, _ = fit_baseline(prepared, "hist_gradient_boosting")
    config = ModelConfig(
        "hist_gradient_boosting", {}, pre.input_shape, pre.n_outputs, pre.task, kind="baseline"
    )
    export_baseline(tmp_path / "model", estimator, pre, config)
    _check_parity(tmp_path / "model", frame)


def test_the_hgb_workaround_is_undone_after_the_conversion() -> None:
    from skl2onnx.operator_converters import random_forest

    from archselect.export._onnx import _hgb_flags_as_ints

    before = random_forest.add_tree_to_attribute_pairs_hist_gradient_boosting
    with _hgb_flags_as_ints():
        assert random_forest.add_tree_to_attribute_pairs_hist_gradient_boosting is not before
    assert random_forest.add_tree_to_attribute_pairs_hist_gradient_boosting is before
