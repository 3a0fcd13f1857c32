"""Every layout goes through ``fit``: the right tensor shapes reach the models, and
``predict`` on a new CSV of the same form works through the same ``transform``."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import archselect
from archselect import DataError
from archselect.cli import cli
from archselect.load import load_table
from archselect.models import create_model
from archselect.prepare import prepare
from archselect.profile import profile_table
from tests import corpus

# where trials build and train networks (the package re-exports a function of that name)
search = importlib.import_module("archselect.search._objective")


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, ...], str | None]]:
    """Record (family, shape of the training tensor, layout) of every trial's network."""
    calls: list[tuple[str, tuple[int, ...], str | None]] = []
    last: list[tuple[str, str | None]] = []
    original = search.create_model
    original_train = search.train_network

    def spy_create(name: str, **kw: Any) -> torch.nn.Module:
        last[:] = [(name, kw.get("layout"))]
        return original(name, **kw)

    def spy_train(net: torch.nn.Module, x_train: np.ndarray, *a: Any, **kw: Any) -> Any:
        calls.append((last[0][0], tuple(x_train.shape[1:]), last[0][1]))
        return original_train(net, x_train, *a, **kw)

    monkeypatch.setattr(search, "create_model", spy_create)
    monkeypatch.setattr(search, "train_network", spy_train)
    return calls


def _fits_per_trial(out: Path) -> int:
    """How many networks each trial trained: its CV folds on small data (tests/conftest.py
    turns the small-data rules off unless a test asks for them), else one."""
    folds = pd.read_csv(out / "trials.csv").query("kind == 'trial'")["cv_folds"]
    assert folds.nunique(dropna=False) == 1
    return 1 if pd.isna(folds.iloc[0]) else int(folds.iloc[0])


def _fit(data: Any, out: Path, space: Path, families: tuple[str, ...], **kw: Any) -> Any:
    return archselect.fit(
        data, out=out, trials=len(families), families=families, spaces=(space,), **kw
    )


_SLOW = pytest.mark.slow  # layouts the skeleton's end-to-end tests already drive through fit

CASES = [
    pytest.param(
        "image_gray",
        lambda tmp: corpus._image12(tmp).head(80),
        ("cnn2d",),
        (1, 12, 12),
        "image",
        marks=_SLOW,
    ),
    (
        "colour_planar",
        lambda tmp: corpus._colour_planar(tmp).head(80),
        ("cnn2d",),
        (3, 16, 16),
        "image",
    ),
    pytest.param(
        "series",
        lambda tmp: corpus._smooth144(tmp).head(80),
        ("cnn1d",),
        (144, 1),
        "series",
        marks=_SLOW,
    ),
    ("groups", lambda tmp: corpus._groups(tmp).head(80), ("gru",), (30, 3), "series"),
    pytest.param("table", corpus._mixed, ("mlp",), (5,), "table", marks=_SLOW),
]


@pytest.mark.parametrize(("name", "build", "families", "shape", "layout"), CASES)
def test_fit_feeds_each_layout(
    name: str,
    build: Any,
    families: tuple[str, ...],
    shape: tuple[int, ...],
    layout: str,
    tmp_path: Path,
    fast_space: Path,
    seen: list[Any],
) -> None:
    data = build(tmp_path)
    run = _fit(data, tmp_path / "run", fast_space, families)
    assert run.profile.layout == layout
    # one trial per family; each trial trains its folds (CV_FOLDS under the small-data rules)
    assert [s[1] for s in seen] == [shape] * len(families) * _fits_per_trial(tmp_path / "run")
    assert {s[0] for s in seen} == set(families) and {s[2] for s in seen} == {layout}
    pred = run.predict(data.head(7))
    assert len(pred) == 7 and pred["prediction"].notna().all()


def test_long_format_fit_and_predict(tmp_path: Path, fast_space: Path, seen: list[Any]) -> None:
    frame = corpus.long_frame(40, 21)
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    run = _fit(path, tmp_path / "run", fast_space, ("lstm", "cnn1d"))
    prof = run.profile
    t_max = int(frame.groupby("series_id").size().max())
    assert (prof.layout, prof.form, prof.id_column, prof.time_column) == (
        "series_padded",
        "long",
        "series_id",
        "step",
    )
    assert prof.n_rows == 40
    assert [s[1:] for s in seen] == [((t_max, 3), "series_padded")] * 2 * _fits_per_trial(
        tmp_path / "run"
    )
    # predict on a new CSV of the same form: one prediction per id, rows shuffled in time
    new = corpus.long_frame(5, 22).sample(frac=1.0, random_state=0).drop(columns="label")
    new_path = tmp_path / "new.csv"
    new.to_csv(new_path, index=False)
    pred = run.predict(new_path)
    assert list(pred["series_id"]) == list(dict.fromkeys(new["series_id"]))
    assert len(pred) == 5


def test_padded_tensor_convention() -> None:
    frame = corpus.long_frame(12, 23)
    table = load_table(frame)
    prof = profile_table(table)
    prep = prepare(table, prof)
    lengths = frame.groupby("series_id", sort=False).size()
    x = np.concatenate([prep.x_train, prep.x_val, prep.x_test])
    assert x.shape[1:] == (int(lengths.max()), 3)
    mask = x[..., -1]
    assert set(np.unique(mask)) <= {0.0, 1.0}
    assert sorted(mask.sum(axis=1).astype(int)) == sorted(lengths.tolist())
    # real steps first, then zero padding in every channel
    for row in x:
        n = int(row[:, -1].sum())
        assert row[:n, -1].all() and not row[n:].any()


def test_recurrent_net_ignores_padding() -> None:
    torch.manual_seed(0)
    net = create_model(
        "gru", input_shape=(10, 3), n_outputs=2, layout="series_padded", bidirectional=True
    ).eval()
    x = torch.zeros(2, 10, 3)
    x[:, :6, :2] = torch.randn(6, 2)
    x[:, :6, 2] = 1.0
    x[1, 6:, :2] = 5.0  # garbage in the padding must not change the output (mask 0)
    out = net(x)
    assert torch.allclose(out[0], out[1], atol=1e-6)
    # cnn1d and mlp take the mask as a channel
    assert create_model("cnn1d", input_shape=(10, 3), n_outputs=2, layout="series_padded")(
        x
    ).shape == (2, 2)


def test_label_changing_within_an_id_is_named() -> None:
    frame = corpus.long_frame(20, 24)
    bad = frame.index[frame["series_id"] == "s007"][3]
    frame.loc[bad, "label"] = 1 - frame.loc[bad, "label"]
    with pytest.raises(DataError, match="within id 's007'"):
        profile_table(load_table(frame))


def test_image_paths_fit_predict_and_missing_file(
    tmp_path: Path, fast_space: Path, seen: list[Any]
) -> None:
    path = corpus.write_png_folder(tmp_path / "train", n=40)
    run = _fit(path, tmp_path / "run", fast_space, ("cnn2d",))
    c, h, w = run.profile.input_shape
    assert run.profile.form == "image_paths" and c == 1 and 12 <= h <= 14
    assert seen[0][1] == (c, h, w)
    # a new CSV in another folder: its paths resolve against that CSV's folder
    new = corpus.write_png_folder(tmp_path / "elsewhere", n=6, seed=3)
    assert len(run.predict(new)) == 6
    frame = pd.read_csv(new)
    frame.loc[4, "file"] = "img/missing.png"
    frame.to_csv(new, index=False)
    with pytest.raises(DataError, match="data row 5 does not exist"):
        run.predict(new)
    (tmp_path / "elsewhere" / "img" / "im1.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match="data row 2 cannot be read"):
        run.predict(new)


def test_cli_overrides(tmp_path: Path) -> None:
    frame = corpus.long_frame(15, 25).rename(columns={"series_id": "who", "step": "when"})
    path = tmp_path / "long.csv"
    frame.to_csv(path, index=False)
    runner = CliRunner()
    res = runner.invoke(
        cli, ["profile", str(path), "--id-col", "who", "--time-col", "when", "--json"]
    )
    assert res.exit_code == 0, res.output
    import json

    prof = json.loads(res.output)
    assert (prof["layout"], prof["id_column"], prof["time_column"]) == (
        "series_padded",
        "who",
        "when",
    )
    digits = tmp_path / "digits.csv"
    corpus._image12(tmp_path).head(50).to_csv(digits, index=False)
    res = runner.invoke(cli, ["profile", str(digits), "--layout", "table", "--json"])
    assert json.loads(res.output)["layout"] == "table"
    res = runner.invoke(cli, ["profile", str(digits), "--shape", "12x12x1", "--json"])
    assert json.loads(res.output)["input_shape"] == [1, 12, 12]
    res = runner.invoke(cli, ["profile", str(digits), "--layout", "series", "--json"])
    assert json.loads(res.output)["input_shape"] == [144, 1]
    res = runner.invoke(cli, ["profile", str(digits), "--id-col", "nope"])
    assert res.exit_code == 2 and "--id-col column 'nope' is not in the data" in res.output
