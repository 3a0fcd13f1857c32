"""Long format found from structure: ids in runs or groups, one label each, a step column that
restarts and increases, or rows smooth in file order; integer ids, steps and labels; ambiguity
reported with the override to use."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from archselect import DataError
from archselect.cli import cli
from archselect.layouts.long import LONG_THRESHOLDS
from archselect.profile import THRESHOLDS, profile_frame
from tests.corpus import long_frame, vowels_frame

LPC = [f"lpc{k}" for k in range(12)]


def _anonymous(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.columns = [f"c{i}" for i in range(len(frame.columns))]
    return out


def test_vowels_shape_is_long_format_without_id_col(tmp_path: Path) -> None:
    frame = vowels_frame()
    assert frame["utterance"].nunique() == 270 and len(LPC) == 12
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    res = CliRunner().invoke(cli, ["profile", str(path), "--target", "speaker", "--json"])
    assert res.exit_code == 0, res.output
    prof = json.loads(res.output)
    assert (prof["layout"], prof["form"], prof["id_column"], prof["time_column"]) == (
        "series_padded",
        "long",
        "utterance",
        "frame",
    )
    assert prof["n_rows"] == 270 and prof["input_shape"] == [26, 13]
    assert prof["feature_columns"] == LPC  # id, step and label are not value channels
    assert prof["task"] == "classification" and prof["classes"] == [str(k) for k in range(1, 10)]
    facts = prof["evidence"]["long"]["candidates"][0]
    assert facts["column"] == "utterance" and not facts["named"]  # found from structure
    assert (facts["n_runs"], facts["rows_per_id_min"]) == (270, 7)
    assert facts["label_constant_fraction"] == 1.0
    step = facts["step_columns"]["frame"]
    assert step["increasing_fraction"] == 1.0 and step["restart_fraction"] == 1.0
    assert facts["smooth_ratio"] < THRESHOLDS["long_max_smooth_ratio"]
    assert set(LONG_THRESHOLDS) <= set(prof["evidence"]["thresholds"])


def test_integer_class_code_is_the_label_not_a_value_channel() -> None:
    frame = vowels_frame(1, n_ids=90)
    moved = frame[["utterance", "speaker", "frame", *LPC]]  # label not last, no target name
    prof = profile_frame(moved)
    assert prof.target == "speaker" and "class code" in prof.target_rule
    assert prof.task == "classification" and len(prof.classes) == 9
    assert prof.layout == "series_padded" and list(prof.feature_columns) == LPC
    # the same with anonymous names
    anon = profile_frame(_anonymous(moved))
    assert (anon.target, anon.id_column, anon.time_column) == ("c1", "c0", "c2")


def test_file_order_is_the_order_when_rows_are_smooth() -> None:
    frame = _anonymous(vowels_frame(2, n_ids=60).drop(columns="frame"))
    prof = profile_frame(frame, target="c13")
    assert (prof.layout, prof.id_column, prof.time_column) == ("series_padded", "c0", None)
    facts = prof.evidence["long"]["candidates"][0]
    assert facts["ordered_by"].startswith("file order") and facts["step_column"] is None


def _keyed_table(step: bool, seed: int = 0) -> pd.DataFrame:
    """40 keys of 5 exchangeable rows each (no order), one label per key."""
    rng = np.random.default_rng(seed)
    key = np.repeat(np.arange(40), 5)
    label = np.repeat(rng.integers(0, 2, 40), 5)
    frame = pd.DataFrame({"k": key})
    if step:
        frame["n"] = np.tile(np.arange(5), 40)
    frame["a"] = rng.normal(size=200) + label
    frame["b"] = rng.normal(size=200)
    frame["y"] = label
    return frame


def test_repeated_key_without_order_is_a_table_with_the_override_named() -> None:
    prof = profile_frame(_keyed_table(step=False))
    assert prof.layout == "table"
    assert prof.confidence <= THRESHOLDS["long_ambiguous_confidence"]
    assert any("ambiguous" in n and "--id-col k" in n for n in prof.notes), prof.notes
    assert prof.evidence["long"]["candidates"][0]["smooth_ratio"] > 0.8


def test_step_column_over_exchangeable_rows_is_long_but_ambiguous() -> None:
    prof = profile_frame(_keyed_table(step=True))
    assert (prof.layout, prof.id_column, prof.time_column) == ("series_padded", "k", "n")
    assert prof.confidence <= THRESHOLDS["long_ambiguous_confidence"]
    assert any("--layout table" in n for n in prof.notes), prof.notes


def test_two_groupings_are_reported() -> None:
    # 20 subjects of 3 trials; the label belongs to the subject; the step restarts per trial
    parts = []
    rng = np.random.default_rng(3)
    for s in range(20):
        lab = int(rng.integers(0, 2))
        for t in range(3):
            x = np.cumsum(rng.normal(size=12)) + lab
            parts.append(
                pd.DataFrame({"s": s, "r": 3 * s + t, "k": np.arange(12), "x": x, "y": lab})
            )
    prof = profile_frame(pd.concat(parts, ignore_index=True))
    assert (prof.layout, prof.id_column, prof.time_column) == ("series_padded", "r", "k")
    assert prof.confidence <= THRESHOLDS["long_ambiguous_confidence"]
    assert any("--id-col s" in n for n in prof.notes), prof.notes


def test_a_copy_of_the_label_sorted_with_it_is_no_id() -> None:
    rng = np.random.default_rng(4)
    y = np.sort(rng.integers(0, 3, 150))
    frame = pd.DataFrame({"code": y + 10, "a": np.cumsum(rng.normal(size=150)), "y": y})
    assert profile_frame(frame).layout == "table"


def test_label_changing_within_a_structural_id_is_refused() -> None:
    frame = _anonymous(long_frame(20, 5))
    first = np.flatnonzero(frame["c0"] == "s000")
    frame.loc[first[-3:], "c4"] = 1 - frame.loc[first[0], "c4"]  # the end of one id relabelled
    with pytest.raises(DataError, match="label changes within id 's000' of column 'c0'"):
        profile_frame(frame, target="c4")


def test_long_sequences_are_found_beyond_the_screened_rows() -> None:
    rng = np.random.default_rng(6)
    parts = []
    for i in range(12):  # 12 sequences of 1,000 steps: more rows than the screen reads
        lab = i % 2
        x = np.sin(np.arange(1000) * (0.01 + 0.02 * lab) + rng.uniform(0, 6))
        parts.append(pd.DataFrame({"a": i, "b": np.arange(1000), "c": x, "d": lab}))
    frame = pd.concat(parts, ignore_index=True)
    assert len(frame) > THRESHOLDS["long_screen_rows"]
    prof = profile_frame(frame)
    assert (prof.layout, prof.id_column, prof.time_column) == ("series_padded", "a", "b")
    assert prof.input_shape == (1000, 2)


def test_one_measured_value_per_sequence_is_a_regression_target() -> None:
    frame = _anonymous(long_frame(24, 7))
    per_id = {sid: 10.0 + 0.37 * i for i, sid in enumerate(frame["c0"].unique())}
    frame["c4"] = frame["c0"].map(per_id)  # every id its own (non-integer) target
    prof = profile_frame(frame, target="c4")
    assert (prof.layout, prof.id_column, prof.task) == ("series_padded", "c0", "regression")
