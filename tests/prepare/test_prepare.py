from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from archselect import DataError
from archselect.load import load_table
from archselect.prepare import Preprocessing, Split, prepare
from archselect.profile import profile_table
from tests.conftest import DATASETS


def test_split_is_stratified_and_scaling_uses_train_only(small_digits_csv: Path) -> None:
    table = load_table(small_digits_csv)
    prof = profile_table(table)
    prep = prepare(table, prof, seed=0)
    s = prep.split
    assert set(s.train).isdisjoint(s.val) and set(s.train).isdisjoint(s.test)
    assert len(s.train) + len(s.val) + len(s.test) == 300
    assert prep.x_train.shape[1:] == (1, 8, 8)
    # every class present in each split (stratified)
    assert len(np.unique(prep.y_val)) == 10 and len(np.unique(prep.y_test)) == 10
    # scaling fitted on train: train pixels are standardised, not the others exactly
    assert abs(float(prep.x_train.mean())) < 1e-4
    train_rows = table.frame.iloc[list(s.train)].drop(columns="label").to_numpy(float)
    assert prep.preprocessing.mean[0] == pytest.approx(train_rows.mean())


def test_prepared_json_round_trip(series_csv: Path) -> None:
    table = load_table(series_csv)
    prep = prepare(table, profile_table(table))
    d = prep.to_dict()
    assert Preprocessing.from_dict(d["preprocessing"]) == prep.preprocessing
    assert Split.from_dict(d["split"]) == prep.split
    assert prep.x_train.shape[1:] == (48, 1)


def test_tabular_one_hot_and_regression_target(tabular_csv: Path) -> None:
    table = load_table(tabular_csv)
    prof = profile_table(table)
    assert prof.task == "regression" and prof.categorical_columns == ("city",)
    prep = prepare(table, prof)
    assert prep.x_train.shape[1] == 2 + 3
    pre = prep.preprocessing
    decoded = pre.decode_output(prep.y_train[:, None])
    train_y = table.frame["target"].iloc[list(prep.split.train)].to_numpy()
    np.testing.assert_allclose(decoded, train_y, rtol=1e-4)


def test_single_example_class_is_named() -> None:
    frame = pd.DataFrame(
        {"a": np.random.default_rng(0).normal(size=30), "y": ["a"] * 15 + ["b"] * 14 + ["lonely"]}
    )
    table = load_table(frame)
    with pytest.raises(DataError, match="'lonely' has a single example"):
        prepare(table, profile_table(table))


def test_non_numeric_value_names_column_and_row() -> None:
    frame = pd.DataFrame({"a": ["1", "2", "x", "4"] * 5, "b": np.arange(20.0), "y": [0, 1] * 10})
    table = load_table(frame)
    prof = profile_table(table)
    # 'a' is text with few values: tabular treats it as categorical; force it numeric:
    from dataclasses import replace

    prof = replace(prof, categorical_columns=(), feature_columns=("a", "b"), input_shape=(2,))
    with pytest.raises(DataError, match="Column 'a' should be numeric but data row 3"):
        prepare(table, prof)


def test_a_forecast_prepared_round_trips_with_its_origins(tmp_path: Path) -> None:
    """Worker processes read the prepared arrays back from disk: a forecast's origins (what
    the statistical references and the MASE need) must come back equal."""
    from archselect.prepare import load_prepared, save_prepared

    table = load_table(DATASETS / "co2_monthly.csv")
    prepared = prepare(table, profile_table(table))
    assert prepared.origins is not None
    back = load_prepared(save_prepared(prepared, tmp_path / "arrays"))
    assert back.origins is not None
    for name in ("labels", "val", "test", "val_start", "test_start", "levels", "scales"):
        assert getattr(back.origins, name) == getattr(prepared.origins, name), name
    assert all(
        np.array_equal(a, b)
        for a, b in zip(back.origins.values, prepared.origins.values, strict=True)
    )
    scores = prepared.forecast_scores("val", prepared.y_val)
    assert back.forecast_scores("val", back.y_val) == scores
