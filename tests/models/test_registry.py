"""The family registry is the one truth: plan order, layout fit, discovery, extra families."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from archselect.cli import cli
from archselect.core.spaces import FAMILY_PATH_ENV, extra_family_dirs, families_for, family_layouts
from archselect.errors import UsageError
from archselect.models import _registry
from archselect.models._registry import check_registry, load_family_modules
from archselect.plan import make_plan
from archselect.profile import profile_frame
from tests.conftest import FAST_SHARED

#: The families planned for each layout, in report order, as shipped (pinned before the
#: order moved from ``plan.FAMILIES_BY_LAYOUT`` into the search spaces' TOML files).
SHIPPED_PLAN_ORDER = {
    "image": ("cnn2d", "resnet_small", "mlp"),
    "series": ("cnn1d", "tcn", "lstm", "gru", "rnn", "mlp"),
    "series_padded": ("cnn1d", "lstm", "gru", "rnn", "mlp"),
    "table": ("mlp",),
    "text": ("cnn1d", "lstm", "gru", "rnn", "mlp"),
    "forecast": ("cnn1d", "tcn", "lstm", "gru", "rnn", "mlp"),
}


def _table_profile() -> Any:
    rng = np.random.default_rng(0)
    return profile_frame(pd.DataFrame({"a": rng.normal(size=30), "y": [0, 1, 2] * 10}))


@pytest.mark.parametrize("layout", sorted(SHIPPED_PLAN_ORDER))
def test_plan_order_per_layout_is_unchanged(layout: str) -> None:
    profile = dataclasses.replace(_table_profile(), layout=layout)
    assert make_plan(profile, n_trials=12).family_names == SHIPPED_PLAN_ORDER[layout]


TOY_TOML = """
name = "toylin"
description = "a linear layer over the table's features (a family added from outside)"
layouts = {layouts}
order = 5

[params.bias]
type = "categorical"
choices = [true, false]

[default]
bias = true
"""

TOY_BUILDER = """
from torch import nn

from archselect.models import register_model


@register_model("toylin", layouts=("table",))
def toylin(input_shape, n_outputs, bias=True):
    return nn.Linear(input_shape[0], n_outputs, bias=bias)
"""


def _toy_family(folder: Path, layouts: str = '["table"]') -> Path:
    folder.mkdir()
    (folder / "toylin.toml").write_text(TOY_TOML.format(layouts=layouts))
    (folder / "toylin.py").write_text(TOY_BUILDER)
    return folder


@pytest.fixture
def toy_family(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A family from one TOML and one builder file, seen through $ARCHSELECT_FAMILY_PATH
    (loaded into this process as ``import archselect.models`` loads it in a fresh one)."""
    folder = _toy_family(tmp_path / "families")
    monkeypatch.setenv(FAMILY_PATH_ENV, str(folder))
    yield folder
    _forget_toy()


def _forget_toy() -> None:
    _registry._REGISTRY.pop("toylin", None)
    sys.modules.pop(_registry.EXTRA_MODULE_PREFIX + "toylin", None)


def test_models_are_discovered_without_a_hand_kept_list() -> None:
    """Every builder module of archselect/models is imported, and every shipped family's
    builder fits exactly the layouts its search space names."""
    import archselect.models as models

    public = {m.name for m in pkgutil.iter_modules(models.__path__) if not m.name.startswith("_")}
    assert {f"archselect.models.{m}" for m in public} <= set(sys.modules)
    fits = family_layouts()
    for name in fits:
        assert set(models.model_layouts(name)) == set(fits[name]), name


def test_toy_family_is_planned_trained_and_exported(
    toy_family: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One TOML + one builder in a folder of $ARCHSELECT_FAMILY_PATH: planned (first, by its
    order), trained by a real tiny fit, exported, and read back by ``archselect predict``."""
    import archselect.core.records as records
    import archselect.plan as plan_module

    load_family_modules(extra_family_dirs())
    check_registry()
    assert families_for("table") == ("toylin", "mlp")
    plan = make_plan(_table_profile(), n_trials=4)
    assert plan.family_names == ("toylin", "mlp")

    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["label"] = np.where(x[:, 0] + x[:, 1] > 0, "up", "down")
    data = tmp_path / "toy.csv"
    frame.to_csv(data, index=False)
    shared = tmp_path / "shared.toml"
    shared.write_text(FAST_SHARED)
    monkeypatch.setattr(records, "EXPORTABLE_BASELINES", ())  # the network is exported
    # one cheap reference keeps the test fast (the references are not what it checks)
    monkeypatch.setattr(plan_module, "baselines_for", lambda *_: ("logistic_regression",))
    out = tmp_path / "run"
    args = ["fit", str(data), "--families", "toylin", "--trials", "2", "--jobs", "1"]
    res = CliRunner().invoke(
        cli, [*args, "--out", str(out), "--space", str(shared), "--json"], catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    trials = pd.read_csv(out / "trials.csv")
    done = trials[(trials["kind"] == "trial") & (trials["state"] == "COMPLETE")]
    assert set(done["family"]) == {"toylin"} and len(done) >= 1
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["family"] == "toylin" and config["kind"] == "family"

    res = CliRunner().invoke(cli, ["predict", str(out), str(data)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    predictions = pd.read_csv(io.StringIO(res.stdout))
    assert len(predictions) == len(frame)
    assert set(predictions["prediction"]) <= {"up", "down"}


def test_layouts_that_disagree_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TOML's layouts and the builder's ``layouts=`` must be the same: the error names
    the family and both lists."""
    folder = _toy_family(tmp_path / "families", layouts='["table", "image"]')
    monkeypatch.setenv(FAMILY_PATH_ENV, str(folder))
    try:
        load_family_modules(extra_family_dirs())
        with pytest.raises(UsageError, match=r"'toylin'.*\['image', 'table'\].*\['table'\]"):
            check_registry()
    finally:
        _forget_toy()


def test_a_builder_without_a_search_space_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _toy_family(tmp_path / "families")
    (folder / "toylin.toml").unlink()
    monkeypatch.setenv(FAMILY_PATH_ENV, str(folder))
    try:
        load_family_modules(extra_family_dirs())
        with pytest.raises(UsageError, match=r"'toylin' has a builder .* no search space"):
            check_registry()
    finally:
        _forget_toy()


def test_family_path_errors_name_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAMILY_PATH_ENV, str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="not a folder"):
        extra_family_dirs()
    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / "mlp.toml").write_text('name = "mlp"\nlayouts = ["table"]\n')
    monkeypatch.setenv(FAMILY_PATH_ENV, str(clash))
    with pytest.raises(UsageError, match="already holds"):
        family_layouts()


def test_order_must_be_a_whole_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _toy_family(tmp_path / "families")
    (folder / "toylin.toml").write_text(TOY_TOML.format(layouts='["table"]').replace("5", '"x"'))
    monkeypatch.setenv(FAMILY_PATH_ENV, str(folder))
    with pytest.raises(UsageError, match="order = 'x' must be a whole number"):
        families_for("table")


def test_a_fresh_process_discovers_the_family_at_import(tmp_path: Path) -> None:
    """``import archselect.models`` itself loads the folders of $ARCHSELECT_FAMILY_PATH."""
    folder = _toy_family(tmp_path / "families")
    code = "import archselect.models as m; print(m.model_layouts('toylin'))"
    env = {**os.environ, FAMILY_PATH_ENV: str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "('table',)"
