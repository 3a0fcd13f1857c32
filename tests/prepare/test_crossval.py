"""Small data: trials and baselines are scored out-of-fold over the same folds, and every
family's first trial is its default configuration."""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.neighbors import KNeighborsClassifier

from archselect.core.spaces import load_space
from archselect.errors import UsageError
from archselect.load import load_table
from archselect.plan import make_plan
from archselect.prepare import CV_FOLDS, Prepared, cross_folds, prepare
from archselect.profile import profile_table
from archselect.search import default_params, run_search, storage_url
from archselect.select import select
from tests.conftest import make_series

#: The module whose CV_MAX_ROWS cross_folds reads (``archselect.prepare`` is a function too).
prepare_module = importlib.import_module("archselect.prepare._splits")

#: the tests about the small-data rules keep them (tests/conftest.py turns them off elsewhere)
SMALL_DATA = pytest.mark.small_data_rules


def _prepared(frame: pd.DataFrame, **kw: object) -> Prepared:
    table = load_table(frame)
    return prepare(table, profile_table(table, **kw), seed=0)  # type: ignore[arg-type]


@SMALL_DATA
def test_folds_partition_the_pooled_rows_and_fold_0_is_the_split() -> None:
    p = _prepared(make_series(n=80))
    n_tr, n_val = len(p.y_train), len(p.y_val)
    folds = cross_folds(p, seed=0)
    assert len(folds) == CV_FOLDS
    np.testing.assert_array_equal(folds[0].train, np.arange(n_tr))
    np.testing.assert_array_equal(folds[0].val, n_tr + np.arange(n_val))
    held_out = np.sort(np.concatenate([f.val for f in folds]))
    np.testing.assert_array_equal(held_out, np.arange(n_tr + n_val))  # each row once
    y = np.concatenate([p.y_train, p.y_val])
    for f in folds:
        assert not set(f.train.tolist()) & set(f.val.tolist())
        assert len(f.train) + len(f.val) == n_tr + n_val
        assert len(np.unique(y[f.val])) == 2  # stratified: both classes in every fold
    assert [f.val.tolist() for f in cross_folds(p, seed=0)] == [f.val.tolist() for f in folds]


@SMALL_DATA
def test_no_folds_above_the_row_limit_or_for_forecasts(monkeypatch: pytest.MonkeyPatch) -> None:
    p = _prepared(make_series(n=80))
    monkeypatch.setattr(prepare_module, "CV_MAX_ROWS", len(p.y_train) + len(p.y_val) - 1)
    assert cross_folds(p, seed=0) == ()
    monkeypatch.undo()
    times = pd.date_range("2000-01-01", periods=120, freq="MS")
    sales = 10 + np.sin(np.arange(120) * 2 * np.pi / 12)
    forecast = _prepared(pd.DataFrame({"month": times, "sales": sales}), horizon=3, window=12)
    assert forecast.preprocessing.forecast is not None
    assert cross_folds(forecast, seed=0) == ()


@SMALL_DATA
def test_small_data_trials_and_baselines_are_scored_out_of_fold(
    tmp_path: Path, fast_space: Path
) -> None:
    frame = make_series(n=60, length=24)
    table = load_table(frame)
    profile = profile_table(table)
    p = prepare(table, profile, seed=0)
    plan = make_plan(profile, families=("mlp",), n_trials=2, spaces=(fast_space,), seed=0)
    # two references, one checked by hand below (MiniRocket's out-of-fold fits are slow)
    plan = dataclasses.replace(plan, baselines=("knn_euclidean", "logistic_regression"))
    result = run_search(p, plan, storage=storage_url(tmp_path, None))
    pooled = len(p.y_train) + len(p.y_val)
    done = result.finished()
    assert done
    for t in done:
        scores = t.val_scores()
        assert t.cv_folds == CV_FOLDS and scores is not None and len(scores) == pooled
        assert t.val_metric == pytest.approx(scores.mean())  # accuracy over every pooled row
        assert t.val_brier() is not None and len(t.val_brier()) == pooled  # type: ignore[arg-type]
    # the 1-NN reference, by hand over the same folds
    x = np.concatenate([p.x_train, p.x_val]).reshape(pooled, -1)
    y = np.concatenate([p.y_train, p.y_val])
    hits = np.zeros(pooled)
    for f in cross_folds(p, seed=0):
        knn = KNeighborsClassifier(1).fit(x[f.train], y[f.train])
        hits[f.val] = knn.predict(x[f.val]) == y[f.val]
    knn_result = next(b for b in result.baselines if b.name == "knn_euclidean")
    assert knn_result.val_metric == pytest.approx(hits.mean())
    rec = select(result, plan, profile)
    assert any(f"{CV_FOLDS}-fold cross-validated" in r for r in rec.reasons)


def test_each_family_first_trial_is_its_default(tmp_path: Path) -> None:
    table = load_table(make_series(n=60, length=24))
    profile = profile_table(table)
    p = prepare(table, profile, seed=0)
    plan = make_plan(profile, families=("mlp", "cnn1d"), n_trials=2, seed=0)
    result = run_search(p, plan, storage=storage_url(tmp_path, None))
    for t in result.trials:
        expected = default_params(plan, t.family)
        assert {k: t.params[k] for k in expected} == expected
    assert {t.family for t in result.trials} == {"mlp", "cnn1d"}
    assert expected["lr"] == load_space("shared").default["lr"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[default]\nwidht = 64", "[default] names 'widht', which is not a parameter"),
        ("[default]\nwidth = 48", "[default] width = 48 is not in its space (32, 64)"),
        ("[default]\nlayers = 9", "[default] layers = 9 is not in its space (int in [1, 3])"),
    ],
)
def test_a_bad_default_is_refused_with_the_reason(
    tmp_path: Path, table: str, message: str
) -> None:
    path = tmp_path / "mlp.toml"
    path.write_text(
        'name = "mlp"\n[params.width]\ntype = "categorical"\nchoices = [32, 64]\n'
        '[params.layers]\ntype = "int"\nlow = 1\nhigh = 3\n' + table + "\n"
    )
    with pytest.raises(UsageError, match=None) as info:
        load_space("mlp", path=path)
    assert message in str(info.value)


@SMALL_DATA
def test_a_study_begun_on_one_split_is_resumed_on_one_split(
    tmp_path: Path, fast_space: Path
) -> None:
    """A study an older archselect began (no fold record, finished trials) keeps scoring
    on its single validation split, so old and new trials stay comparable."""
    import optuna

    from archselect.search import ATTR_CV_FOLDS

    table = load_table(make_series(n=60, length=24))
    profile = profile_table(table)
    p = prepare(table, profile, seed=0)
    url = storage_url(tmp_path, None)
    one = make_plan(profile, families=("mlp",), n_trials=1, spaces=(fast_space,), seed=0)
    first = run_search(p, one, storage=url)
    assert first.finished()[0].cv_folds == CV_FOLDS
    study = optuna.load_study(study_name="archselect", storage=url)
    study.set_user_attr(ATTR_CV_FOLDS, None)  # as an older archselect left it
    two = make_plan(profile, families=("mlp",), n_trials=2, spaces=(fast_space,), seed=0)
    second = run_search(p, two, storage=url)
    new = next(t for t in second.trials if t.number == 1)
    assert new.cv_folds is None and len(new.val_scores()) == len(p.y_val)  # type: ignore[arg-type]
