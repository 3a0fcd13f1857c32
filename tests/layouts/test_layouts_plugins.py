"""Every layout answers the stages' questions through its plugin (issue 17: one room per
layout): each registered layout gives a valid answer to every capability, and no module
outside ``archselect/layouts/`` compares layout, form or modality names again."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from archselect import layouts
from archselect.core.kinds import (
    LAYOUT_TRAITS,
    LayoutTraits,
    PreviewKind,
    Task,
    describe_data,
    layout_traits,
)
from archselect.core.records import BASELINE_NAMES
from archselect.core.spaces import families_for
from archselect.core.specs import TableSpec
from archselect.errors import UsageError
from archselect.layouts import LayoutPlugin, OnnxInput, onnx_input, plugin_for
from archselect.layouts._forecast_prep import fit_windows
from archselect.load import load_table
from archselect.plan import baselines_for
from archselect.prepare import Preprocessing, prepare
from archselect.profile import profile_table
from tests import corpus
from tests.e2e.test_forecast_multiseries import _panel

PACKAGE = Path(__file__).resolve().parents[2] / "archselect"
#: The forecast references (:mod:`archselect.baselines_forecast`): the naive forecasts and
#: statsforecast's models, the slow AutoARIMA last.
FORECAST_REFERENCES = (
    "naive", "seasonal_naive", "auto_theta", "auto_ets", "linear_autoregression", "auto_arima",
)  # fmt: skip
KNOWN_REFERENCES = set(BASELINE_NAMES) | set(FORECAST_REFERENCES)
#: The options a layout may claim (the profiler refuses them for the other layouts).
LAYOUT_OPTIONS = {"--shape", "--id-col", "--time-col"}
#: An input shape of each layout whose columns are reordered (channels of unequal sizes).
EXAMPLE_SHAPES = {"image": (3, 4, 5), "series": (6, 2)}
#: The issue's check: a layout, form or modality compared with a literal, or a layout member.
NAME_COMPARISON = re.compile(
    r"(layout|form|modality)[a-z_\.]*\s*(==|!=|in)\s*[\(\{\"']"
    r"|== *\"(forecast|table|image|series|text|long)"
    r"|LayoutName\.[A-Z_]+"
)
#: Where the names are defined (the enums and the spec union), not branched on.
DEFINITIONS = {"core/kinds.py", "core/specs.py"}

LAYOUTS = sorted(layouts.registered_layouts())


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_layout_answers_every_capability(name: str) -> None:
    plugin = plugin_for(name)
    assert isinstance(plugin, LayoutPlugin) and plugin.name == name
    assert plugin.traits == layout_traits(name) and isinstance(plugin.traits, LayoutTraits)
    assert isinstance(plugin.traits.preview, PreviewKind)
    assert isinstance(plugin.forecast, bool) and isinstance(plugin.masked, bool)
    assert isinstance(plugin.longer_inputs, bool)
    for task in Task:
        refs = plugin.baselines(task)
        assert refs and isinstance(refs, tuple) and len(set(refs)) == len(refs)
        assert set(refs) <= KNOWN_REFERENCES, set(refs) - KNOWN_REFERENCES
        assert baselines_for(name, task) == refs
    assert families_for(name), f"no family fits {name}"
    assert set(plugin.options) <= LAYOUT_OPTIONS
    assert set(plugin.onnx_inputs) <= set(plugin.forms)
    assert all(isinstance(kind, OnnxInput) for kind in plugin.onnx_inputs.values())
    for form in plugin.forms:
        assert onnx_input(name, form) == plugin.onnx_inputs.get(form)
    shape = EXAMPLE_SHAPES.get(name, (7,))
    phrase = describe_data(name, shape)
    assert phrase and "{" not in phrase
    if plugin.columns is not None:
        assert name in EXAMPLE_SHAPES, "add an example input shape for the column order"
        width = int(np.prod(shape))
        positions = plugin.column_positions(shape, width)
        assert sorted(positions.tolist()) == list(range(width))  # a permutation
        tensor = plugin.to_tensor(np.arange(2 * width).reshape(2, width), shape)
        assert tensor.shape == (2, *shape)
        assert len(plugin.column_channels(shape, width)) == width


def test_column_order_feeds_images_and_series_as_before() -> None:
    """Pixels arrive (H, W, C) and are fed (C, H, W); channel groups (C, T) fed (T, C); one
    mean and scale per channel."""
    rng = np.random.default_rng(0)
    c, h, w = EXAMPLE_SHAPES["image"]
    x = rng.normal(size=(3, c * h * w))
    want = x.reshape(3, h, w, c).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(plugin_for("image").to_tensor(x, (c, h, w)), want)
    assert plugin_for("image").column_channels((c, h, w), c * h * w).tolist() == [
        j % c for j in range(c * h * w)
    ]
    t, k = EXAMPLE_SHAPES["series"]
    x = rng.normal(size=(3, t * k))
    want = x.reshape(3, k, t).transpose(0, 2, 1)
    np.testing.assert_array_equal(plugin_for("series").to_tensor(x, (t, k)), want)
    assert plugin_for("series").column_channels((t, k), t * k).tolist() == [
        j // t for j in range(t * k)
    ]
    table = plugin_for("table")
    assert table.columns is None and table.column_positions((4,), 4).tolist() == [0, 1, 2, 3]


def test_each_layout_keeps_its_references() -> None:
    """The references moved from the plan into the layouts unchanged."""
    cls, reg = Task.CLASSIFICATION, Task.REGRESSION
    assert baselines_for("table", cls) == (
        "logistic_regression", "hist_gradient_boosting", "k_nearest_neighbours", "svm_rbf"
    )  # fmt: skip
    assert baselines_for("image", reg) == (
        "ridge", "hist_gradient_boosting", "k_nearest_neighbours", "svm_rbf"
    )  # fmt: skip
    assert baselines_for("series", reg) == (
        "ridge", "knn_euclidean", "minirocket", "hist_gradient_boosting"
    )  # fmt: skip
    # long-format series get the series references (MiniRocket on the value channels)
    assert baselines_for("series_padded", cls) == (
        "logistic_regression", "knn_euclidean", "minirocket", "hist_gradient_boosting"
    )  # fmt: skip
    assert baselines_for("text", cls) == ("tfidf_logistic_regression",)
    assert baselines_for("forecast", reg) == FORECAST_REFERENCES


def test_capabilities_of_the_built_in_layouts() -> None:
    assert [n for n in LAYOUTS if plugin_for(n).forecast] == ["forecast"]
    assert [n for n in LAYOUTS if plugin_for(n).masked] == ["series_padded"]
    assert [n for n in LAYOUTS if plugin_for(n).longer_inputs] == ["series"]
    assert onnx_input("image", "image_paths") == OnnxInput.IMAGES
    assert onnx_input("series_padded", "long") == OnnxInput.PADDED
    assert onnx_input("table", "table") == onnx_input("series", "wide_groups") == "columns"
    assert onnx_input("text", "text") is None and onnx_input("forecast", "dated_long") is None
    assert describe_data("image", (1, 8, 8)) == "an 8×8 image"
    assert describe_data("image", (3, 28, 28)) == "a 28×28 image"
    # a sequence's steps come first in its (T, C) shape (the report said "of 2 steps" here)
    assert describe_data("series_padded", (30, 2)) == "a sequence of 30 steps"
    assert describe_data("table", (4,)) == "a table of 4 features"
    assert describe_data("image", (5,)) == "image data"  # no height: the plain phrase
    assert describe_data("odd", (2,)) == "odd data"
    with pytest.raises(UsageError, match="Unknown layout 'nope'"):
        plugin_for("nope")


def test_a_registered_layout_brings_its_traits_to_the_core() -> None:
    toy = LayoutPlugin(
        name="toy", modality="tabular", forms=("toy",), spec_type=TableSpec, detectors=(),
        traits=LayoutTraits("a toy of {steps} bits", preview=PreviewKind.NONE),
    )  # fmt: skip
    layouts.register_layout(toy)
    try:
        assert plugin_for("toy") is toy and LAYOUT_TRAITS["toy"] is toy.traits
        assert describe_data("toy", (3,)) == "a toy of 3 bits"
        assert toy.baselines(Task.REGRESSION) == ("ridge", "hist_gradient_boosting")
    finally:
        layouts.unregister_layout("toy")
    assert "toy" not in LAYOUT_TRAITS and describe_data("toy", (3,)) == "toy data"


def _name_comparisons() -> list[str]:
    hits = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("layouts/") or rel in DEFINITIONS:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if NAME_COMPARISON.search(line):
                hits.append(f"archselect/{rel}:{number}: {line.strip()}")
    return hits


def test_no_layout_name_comparison_outside_the_layouts() -> None:
    """A stage asks the layout's plugin (``layouts.plugin_for``) or, below the layouts, the
    core's ``layout_traits``; it does not compare names."""
    assert _name_comparisons() == []


def test_the_name_check_finds_a_comparison(tmp_path: Path) -> None:
    lines = [
        'if profile.layout == "image":',
        "if pre.form in ('long', 'text'):",
        "elif plan.layout == LayoutName.FORECAST:",
    ]
    assert all(NAME_COMPARISON.search(line) for line in lines)
    assert not NAME_COMPARISON.search("if plugin_for(plan.layout).forecast:")


# --- preparation: every layout's fit_preprocessing / transform round-trip --------------------

#: A tiny table of each layout and input form (the corpus's generators, cut short): the case's
#: name is ``layout/form``.
PREPARE_CASES: dict[str, Callable[[Path], pd.DataFrame | Path]] = {
    "table/table": lambda tmp: corpus._mixed(tmp).head(60),
    "image/wide_pixels": lambda tmp: corpus._colour_planar(tmp).head(60),
    "image/image_paths": lambda tmp: corpus.write_png_folder(tmp / "pngs", n=30, size=8),
    "series/wide_groups": lambda tmp: corpus._groups(tmp).head(60),
    "series_padded/long": lambda tmp: corpus.long_frame(30, 5),
    "text/text": lambda tmp: pd.read_csv(corpus.DATASETS / "movie_reviews_en.csv").head(60),
    "forecast/dated_series": lambda tmp: pd.read_csv(corpus.DATASETS / "co2_monthly.csv"),
    "forecast/dated_long": lambda tmp: _panel(),
}


def test_every_layout_has_a_preparation_case() -> None:
    assert {case.split("/")[0] for case in PREPARE_CASES} == set(LAYOUTS)


@pytest.mark.parametrize("case", sorted(PREPARE_CASES))
def test_fit_preprocessing_and_transform_round_trip(case: str, tmp_path: Path) -> None:
    """The layout's hooks give what ``prepare`` gives, and its ``transform`` at predict time,
    from the preprocessing read back from JSON, rebuilds the prepared training arrays."""
    table = load_table(PREPARE_CASES[case](tmp_path))
    profile = profile_table(table)
    assert case == f"{profile.layout}/{profile.form}"
    plugin = plugin_for(profile.layout)
    prepared = prepare(table, profile)
    pre = Preprocessing.from_dict(prepared.preprocessing.to_dict())
    assert pre == prepared.preprocessing
    frame = table.frame
    if plugin.forecast:  # fitted on the whole history; windows of every series in turn
        fitted, _ = plugin.fit_preprocessing(frame, profile)
        per_series = [x for _, x in pre.forecast_windows(frame)]
        np.testing.assert_array_equal(plugin.transform(pre, frame), np.concatenate(per_series))
        parts = fit_windows(frame, profile).parts  # each series' training windows, in turn
        assert len(parts) == len(per_series)
        again = np.concatenate([x[list(p.train)] for x, p in zip(per_series, parts, strict=True)])
    else:
        frame = frame[frame[profile.target].notna()]
        samples = layouts.samples(pre, frame)
        train = samples.iloc[list(prepared.split.train)]
        if plugin.grouped:  # every row of the training ids
            assert profile.id_column is not None
            train = frame[frame[profile.id_column].isin(train[profile.id_column])]
        fitted, _ = plugin.fit_preprocessing(train, profile)
        again = plugin.transform(pre, train)
        assert len(layouts.samples(pre, train)) == len(prepared.x_train)
    assert fitted == prepared.preprocessing
    assert again.dtype == prepared.x_train.dtype and again.shape == prepared.x_train.shape
    np.testing.assert_array_equal(again, prepared.x_train)
    assert again.shape[1:] == tuple(pre.input_shape)
