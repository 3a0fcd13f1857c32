"""The layouts' registry: one declared detection order, typed specs that round-trip through
JSON, and a new layout added as one file."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from archselect import layouts
from archselect.core.specs import SPEC_KINDS, ForecastSpec, TextSpec
from archselect.layouts import text as text_layout
from archselect.layouts.constants import THRESHOLDS
from archselect.load import load_table
from archselect.profile import Profile, profile_frame, profile_table
from tests.corpus import CORPUS, profile_case

DATASETS = Path(__file__).resolve().parents[2] / "datasets"

TOY_MODULE = '''
"""A toy layout: columns named toy_* make a "toy" table."""
from archselect.core.specs import TableSpec
from archselect.layouts import Decision, DetectContext, Detector, LayoutPlugin

SEEN = []


def _detect(ctx: DetectContext) -> Decision | None:
    SEEN.append(ctx.evidence.get("text_columns"))
    toy = [c for c in ctx.numeric if str(c).startswith("toy_")]
    if not toy:
        return None
    return Decision(
        "tabular", "toy", "toy", (len(toy),), 1.0, "columns named toy_*", toy,
        spec=TableSpec(),
    )


LAYOUT = LayoutPlugin(
    name="toy", modality="tabular", forms=("toy",), spec_type=TableSpec,
    detectors=(Detector("toy", _detect),),
)
'''


@pytest.fixture
def toy(tmp_path: Path) -> Iterator[object]:
    """The toy layout's module, loaded from one file in a temporary folder."""
    path = tmp_path / "toy_layout.py"
    path.write_text(TOY_MODULE, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("toy_layout", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["toy_layout"] = module
    spec.loader.exec_module(module)
    yield module
    if "toy" in layouts.registered_layouts():
        layouts.unregister_layout("toy")
    sys.modules.pop("toy_layout", None)


def _toy_frame(with_text: bool) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"toy_a": rng.normal(size=60), "toy_b": rng.normal(size=60)})
    if with_text:
        words = ["good", "bad", "film", "plot", "slow", "fine", "actor", "scene", "long"]
        frame["review"] = [" ".join(rng.choice(words, 8)) + f" {i}" for i in range(60)]
    frame["label"] = [0, 1] * 30
    return frame


def test_every_detector_has_one_place_and_the_table_decides_last() -> None:
    names = [d.name for lay in layouts.registered_layouts().values() for d in lay.detectors]
    assert sorted(names) == sorted(layouts.DETECTION_ORDER)
    assert len(set(layouts.DETECTION_ORDER)) == len(layouts.DETECTION_ORDER)
    assert layouts.DETECTION_ORDER[-1] == "table"
    for lay in layouts.registered_layouts().values():
        assert SPEC_KINDS[lay.name] is lay.spec_type


def test_a_layout_added_as_one_file_runs_in_its_declared_place(toy: object) -> None:
    frame = _toy_frame(with_text=True)
    assert profile_frame(frame).layout == "text"  # before registration
    layouts.register_layout(toy.LAYOUT, before="table")  # type: ignore[attr-defined]
    assert layouts.DETECTION_ORDER[-2:] == ("toy", "table")
    assert profile_frame(frame).layout == "text"  # text comes first in the order
    plain = profile_frame(_toy_frame(with_text=False))
    assert (plain.layout, plain.form, plain.feature_columns) == ("toy", "toy", ("toy_a", "toy_b"))
    assert toy.SEEN[-1] is None  # type: ignore[attr-defined]
    layouts.unregister_layout("toy")
    layouts.register_layout(toy.LAYOUT, before="text")  # type: ignore[attr-defined]
    assert layouts.DETECTION_ORDER.index("toy") == layouts.DETECTION_ORDER.index("text") - 1
    assert profile_frame(frame).layout == "toy"  # now it decides before the text detector
    layouts.unregister_layout("toy")
    assert "toy" not in layouts.DETECTION_ORDER
    assert profile_frame(_toy_frame(with_text=False)).layout == "table"


def test_registering_twice_or_before_no_step_is_refused(toy: object) -> None:
    with pytest.raises(ValueError, match="No detection step"):
        layouts.register_layout(toy.LAYOUT, before="nowhere")  # type: ignore[attr-defined]
    layouts.register_layout(toy.LAYOUT)  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="registered already"):
        layouts.register_layout(toy.LAYOUT)  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_the_spec_names_the_layout_and_round_trips(case: object, tmp_path: Path) -> None:
    prof = profile_case(case, case.build(tmp_path))  # type: ignore[attr-defined]
    assert prof.spec is not None and prof.spec.kind == prof.layout
    back = Profile.from_json(prof.to_json())
    assert type(back.spec) is type(prof.spec) and back.spec == prof.spec


def test_the_forecast_spec_is_what_prepare_reads() -> None:
    prof = profile_table(load_table(DATASETS / "co2_monthly.csv"), horizon=6)
    assert isinstance(prof.spec, ForecastSpec)
    assert (prof.spec.horizon, prof.spec.window) == (6, prof.input_shape[0])
    assert prof.spec.time_column == prof.time_column and prof.n_outputs == 6


def test_an_old_profile_without_a_spec_still_reads() -> None:
    prof = profile_table(load_table(DATASETS / "co2_monthly.csv"), horizon=6)
    old = json.loads(prof.to_json())
    del old["spec"]
    back = Profile.from_dict(old)
    assert back.spec is None and back.layout == "forecast" and back.n_outputs == 6


def test_one_free_text_rule_decides_and_is_shown() -> None:
    prof = profile_table(load_table(DATASETS / "reviews_zh.csv"))
    assert isinstance(prof.spec, TextSpec) and prof.spec.column == prof.feature_columns[0]
    shown = prof.evidence["text"]
    assert shown["is_text"] is True
    for key in (
        "text_min_mean_words",
        "text_min_non_ascii",
        "text_min_mean_chars",
        "text_min_distinct_fraction",
    ):
        assert shown["thresholds"][key] == THRESHOLDS[key] == text_layout.TEXT_THRESHOLDS[key]
    names = pd.Series([f"Ann Smith {i}" for i in range(50)])
    assert not text_layout.free_text_evidence(names)["is_text"]
