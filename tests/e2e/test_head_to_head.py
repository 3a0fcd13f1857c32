"""The fair head-to-head: sequence baselines, objectives, Pareto front, trials.csv columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import archselect
from archselect import UsageError, baselines
from archselect.baselines import (
    MINIROCKET_MISSING,
    fit_within,
    minirocket_available,
    run_baselines,
    warm_minirocket,
)
from archselect.core.spaces import families_for
from archselect.load import load_table
from archselect.plan import make_plan
from archselect.prepare import prepare
from archselect.profile import profile_table
from archselect.rundir import TRIAL_COLUMNS, read_trials_csv, write_trials_csv
from archselect.search import run_search, storage_url
from archselect.select import FamilySummary, pareto_front, select

#: The measurements every finished deep trial carries in trials.csv.
TRIAL_MEASUREMENTS = (
    "val_metric",
    "test_metric",
    "train_time_s",
    "epochs",
    "n_params",
    "peak_memory_mb",
    "latency_b1_ms",
    "latency_b256_ms",
    "gap",
    "device",
)
LENGTH_COLUMNS = ("seq_len", "latency_len1x_ms", "latency_len2x_ms", "latency_len4x_ms")


@pytest.fixture(scope="module")
def series_prepared(series_csv: Path):
    table = load_table(series_csv)
    prof = profile_table(table)
    return prof, prepare(table, prof)


def test_sequence_plans_include_every_sequential_family_and_sequence_baselines(
    series_prepared,
) -> None:
    prof, _ = series_prepared
    plan = make_plan(prof, n_trials=12)
    assert {"cnn1d", "tcn", "lstm", "gru", "rnn", "mlp"} == set(plan.family_names)
    assert {"knn_euclidean", "minirocket", "logistic_regression"} <= set(plan.baselines)
    assert "resnet_small" in families_for("image")


def test_nearest_neighbour_baseline_and_minirocket_without_aeon(series_prepared) -> None:
    _, prep = series_prepared
    results = {b.name: b for b in run_baselines(prep, ("knn_euclidean", "minirocket"))}
    knn = results["knn_euclidean"]
    # 1-NN on these well separated sines must beat chance clearly
    assert knn.state == "COMPLETE" and knn.val_metric is not None and knn.val_metric > 0.7
    mr = results["minirocket"]
    if minirocket_available():
        assert mr.state == "COMPLETE" and (mr.val_metric or 0) > 0.7
    else:
        assert mr.state == "SKIPPED" and mr.note == MINIROCKET_MISSING
        assert mr.val_metric is None and mr.error is None


def test_minirocket_refuses_too_short_series_as_a_recorded_failure() -> None:
    if not minirocket_available():
        pytest.skip("aeon (the minirocket extra) is not installed")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 5)), columns=[f"t{i}" for i in range(5)])
    frame["y"] = [0, 1] * 30
    table = load_table(frame)
    prof = profile_table(table, modality="sequential")
    (res,) = run_baselines(prepare(table, prof), ("minirocket",))
    assert res.state == "FAIL" and "at least 9" in (res.error or "")


def test_warm_minirocket_leaves_both_kernel_sets_in_the_numba_cache() -> None:
    """warm.sh compiles MiniRocket once; a fit then loads both kernel sets from aeon's cache."""
    if not minirocket_available():
        pytest.skip("aeon (the minirocket extra) is not installed")
    from aeon.transformations.collection.convolution_based import _minirocket

    assert warm_minirocket()
    cache = Path(_minirocket.__file__).parent / "__pycache__"
    indexed = {p.name.split(".")[1].split("-")[0] for p in cache.glob("_minirocket.*.nbi")}
    assert {"_static_transform_uni", "_static_transform_multi"} <= indexed


def test_the_warm_command_compiles_both_kernel_sets_and_says_so(monkeypatch) -> None:
    """``archselect warm`` gives pip users what ``scripts/warm.sh`` gives a checkout."""
    if not minirocket_available():
        pytest.skip("aeon is not installed")
    from aeon.transformations.collection.convolution_based import _minirocket
    from click.testing import CliRunner

    from archselect.cli import cli

    result = CliRunner().invoke(cli, ["warm"])
    assert result.exit_code == 0, result.output
    assert "kernels are compiled and cached" in result.output
    cache = Path(_minirocket.__file__).parent / "__pycache__"
    indexed = {p.name.split(".")[1].split("-")[0] for p in cache.glob("_minirocket.*.nbi")}
    assert {"_static_transform_uni", "_static_transform_multi"} <= indexed
    # without aeon there is nothing to compile, and it says why
    monkeypatch.setattr(baselines, "minirocket_available", lambda: False)
    result = CliRunner().invoke(cli, ["warm"])
    assert result.exit_code == 0 and "aeon (MiniRocket) is not installed" in result.output


def _wide_separable(rows: int = 40, width: int = 400, classes: int = 4):
    """More features than rows: logistic regression never converges (its weights keep
    growing), as on long series with many classes."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(rows, width)), np.arange(rows) % classes


def test_a_bounded_logistic_regression_stops_after_its_share(monkeypatch) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = _wide_separable()
    monkeypatch.setattr(baselines, "LR_CHUNK_ITER", 5)
    monkeypatch.setattr(baselines, "MIN_FIT_S", 0.0)
    unbounded = fit_within(LogisticRegression(max_iter=200), x, y)
    assert int(unbounded.n_iter_.max()) > 5  # the plain fit runs on
    bounded = fit_within(LogisticRegression(max_iter=200), x, y, seconds=0.0)
    assert int(bounded.n_iter_.max()) == 5  # one chunk, then the time was spent
    assert bounded.max_iter == 200 and bounded.warm_start is False  # parameters restored
    assert not np.allclose(bounded.coef_, unbounded.coef_)
    # with time to spare, the chunks run to convergence and agree with the plain fit
    easy = (x[:, 0] + x[:, 1] > 0).astype(int)
    plain = fit_within(LogisticRegression(max_iter=200), x[:, :3], easy)
    chunked = fit_within(LogisticRegression(max_iter=200), x[:, :3], easy, seconds=60.0)
    assert int(chunked.n_iter_.max()) < 5
    assert np.allclose(chunked.coef_, plain.coef_, atol=1e-3)


def test_bounded_gradient_boosting_adds_rounds_until_its_share_is_spent(monkeypatch) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier as Boosting

    x, y = _wide_separable(rows=80, width=30)
    monkeypatch.setattr(baselines, "BOOSTING_CHUNK", 3)
    monkeypatch.setattr(baselines, "MIN_FIT_S", 0.0)
    assert fit_within(Boosting(max_iter=12, random_state=0), x, y).n_iter_ == 12
    bounded = fit_within(Boosting(max_iter=12, random_state=0), x, y, seconds=0.0)
    assert bounded.n_iter_ == 3 and bounded.max_iter == 12 and bounded.warm_start is False
    # time to spare: chunk after chunk, the same trees as one plain fit
    chunked = fit_within(Boosting(max_iter=12, random_state=0), x, y, seconds=60.0)
    plain = Boosting(max_iter=12, random_state=0).fit(x, y)
    assert chunked.n_iter_ == 12
    assert np.allclose(chunked.predict_proba(x), plain.predict_proba(x))


def test_a_slow_reference_leaves_time_for_the_references_after_it(monkeypatch) -> None:
    """Under a deadline each reference's fits share the time left: logistic regression on
    wide rows no longer spends the baselines' window and gets the cheap 1-NN skipped."""
    import time

    x, y = _wide_separable(rows=60, width=300)
    frame = pd.DataFrame(x, columns=[f"t{i}" for i in range(x.shape[1])])
    frame["label"] = y
    table = load_table(frame)
    prof = profile_table(table, target="label", modality="sequential")
    prep = prepare(table, prof)
    calls: list[float | None] = []
    real = baselines.fit_within

    def spy(model, x_, y_, seconds=None):  # type: ignore[no-untyped-def]
        calls.append(seconds)
        return real(model, x_, y_, seconds)

    monkeypatch.setattr(baselines, "fit_within", spy)
    res = run_baselines(prep, ("logistic_regression", "knn_euclidean"), deadline=time.time() + 8.0)
    assert [r.state for r in res] == ["COMPLETE", "COMPLETE"]
    # the first fit's share: the 8 s window over two references, at least MIN_FIT_S
    assert calls[0] is not None and baselines.MIN_FIT_S <= calls[0] <= 4.0
    assert run_baselines(prep, ("logistic_regression",))[0].state == "COMPLETE"
    assert calls[-1] is None  # no deadline, no bound


def test_objectives_are_validated(series_prepared) -> None:
    prof, _ = series_prepared
    assert make_plan(prof, n_trials=2).objectives == ("accuracy",)
    plan = make_plan(prof, n_trials=2, objectives=("accuracy", "latency"))
    assert plan.objectives == ("accuracy", "latency") and plan.multi_objective
    assert make_plan(prof, n_trials=2, objectives=("metric",)).objectives == ("accuracy",)
    with pytest.raises(UsageError, match="Unknown objective 'speed'"):
        make_plan(prof, n_trials=2, objectives=("accuracy", "speed"))
    with pytest.raises(UsageError, match="does not fit"):
        make_plan(prof, n_trials=2, objectives=("latency",))
    with pytest.raises(UsageError, match="does not fit"):
        make_plan(prof, n_trials=2, objectives=("rmse",))


def test_multi_objective_search_records_the_pareto_front(
    series_prepared, fast_space: Path, tmp_path: Path
) -> None:
    prof, prep = series_prepared
    plan = make_plan(
        prof,
        families=("mlp", "cnn1d"),
        n_trials=4,
        objectives=("accuracy", "latency"),
        spaces=(fast_space,),
    )
    url = storage_url(tmp_path, None)
    result = run_search(prep, plan, storage=url)
    assert result.objectives == ("accuracy", "latency")
    done = result.finished()
    assert len(done) >= 2
    rec = select(result, plan, prof)
    front = rec.pareto_front
    assert front and rec.objectives == ("accuracy", "latency")
    # no front point is dominated by any finished trial, and every trial off the front is
    for p in front:
        assert not any(
            (t.val_metric or 0) >= p.val_metric
            and (t.latency_b1_ms or 0) <= p.latency_b1_ms
            and ((t.val_metric or 0) > p.val_metric or (t.latency_b1_ms or 0) < p.latency_b1_ms)
            for t in done
        )
    on_front = {p.trial for p in front}
    assert [p.trial for p in pareto_front(result)] == [p.trial for p in front]
    assert any("Pareto front" in r for r in rec.reasons)
    assert all(t.number in on_front or t.latency_b1_ms is not None for t in done)
    # a study created multi-objective refuses to resume single-objective
    single = make_plan(prof, families=("mlp", "cnn1d"), n_trials=4, spaces=(fast_space,))
    with pytest.raises(UsageError, match="objectives accuracy,latency"):
        run_search(prep, single, storage=url)
    # trials.csv round-trips the length latencies of each family's best trial (the per-row
    # scores and outputs stay in the study)
    csv_path = tmp_path / "trials.csv"
    write_trials_csv(result, csv_path)
    back = read_trials_csv(csv_path, metric=plan.metric, direction=plan.direction)
    in_study_only = ("val_scores_b64", "val_brier_b64", "val_outputs_b64", "test_outputs_b64")
    assert back.trials == tuple(
        t.__class__(**{**t.__dict__, **dict.fromkeys(in_study_only)}) for t in result.trials
    )
    assert [b.state for b in back.baselines] == [b.state for b in result.baselines]
    fams = {s.family: s for s in rec.families}
    assert isinstance(fams["mlp"], FamilySummary)
    for s in fams.values():
        assert len(s.best_val_by_trial) == s.trials == len(s.trial_numbers)
        finished = [v for v in s.best_val_by_trial if v is not None]
        assert finished == sorted(finished)  # best so far never gets worse
        assert s.seq_len == prep.x_train.shape[1] and s.latency_len4x_ms


@pytest.mark.slow
def test_fit_on_a_sequence_set_trains_every_sequential_family_and_baseline(
    series_csv: Path, fast_space: Path, tmp_path: Path
) -> None:
    run = archselect.fit(series_csv, out=tmp_path / "run", trials=6, spaces=(fast_space,))
    frame = pd.read_csv(tmp_path / "run" / "trials.csv")
    assert set(TRIAL_COLUMNS) <= set(frame.columns)
    trials = frame[frame["kind"] == "trial"]
    done = trials[trials["state"] == "COMPLETE"]
    assert set(done["family"]) == set(families_for("series"))
    assert done[list(TRIAL_MEASUREMENTS)].notna().all().all()
    best_rows = done.loc[done.groupby("family")["val_metric"].idxmax()]
    assert len(best_rows) == 6
    assert best_rows[list(LENGTH_COLUMNS)].notna().all().all()
    assert (best_rows["seq_len"] == 48).all()
    base = frame[frame["kind"] == "baseline"].set_index("family")
    assert {"logistic_regression", "hist_gradient_boosting", "knn_euclidean", "minirocket"} <= set(
        base.index
    )
    assert base.loc["knn_euclidean", "state"] == "COMPLETE"
    assert base.loc["minirocket", "state"] == ("COMPLETE" if minirocket_available() else "SKIPPED")
    assert base["note"].notna().all()  # every reference row says what it is
    rec = json.loads((tmp_path / "run" / "recommendation.json").read_text())
    assert rec["baseline_best"] in base.index
    assert {f["family"] for f in rec["families"]} == set(families_for("series"))
    assert run.recommendation.family in families_for("series")


def test_minirocket_is_exported_safely_and_predicts_raw_rows(
    series_prepared, series_csv: Path, tmp_path: Path
) -> None:
    """MiniRocket (aeon, default install) can be the recommendation: model/ holds it in
    skops, it loads back through the allow-list and predicts the CSV's raw rows."""
    if not minirocket_available():
        pytest.skip("aeon is not installed")
    from archselect.baselines import EXPORTABLE_BASELINES, fit_baseline
    from archselect.export import BaselineModel, ModelConfig, export_baseline, load_model

    assert "minirocket" in EXPORTABLE_BASELINES
    _, prep = series_prepared
    pre = prep.preprocessing
    estimator, test_out = fit_baseline(prep, "minirocket")
    config = ModelConfig(
        "minirocket",
        {},
        pre.input_shape,
        pre.n_outputs,
        pre.task,
        layout=pre.layout,
        kind="baseline",
    )
    export_baseline(tmp_path / "model", estimator, pre, config)
    model = load_model(tmp_path / "model")
    assert isinstance(model, BaselineModel)
    assert np.allclose(model.predict_array(prep.x_test), test_out)
    frame = pd.read_csv(series_csv)
    pred = model.predict_frame(frame)
    assert len(pred) == len(frame)
    truth = frame["label"].astype(str).to_numpy()
    assert (pred.iloc[:, 0].astype(str).to_numpy() == truth).mean() > 0.8


def test_long_format_series_get_minirocket_on_their_value_channels(tmp_path: Path) -> None:
    """Padded long-format series are fitted with the series references; MiniRocket reads
    the value channels (not the mask), and its exported model predicts one row per id."""
    if not minirocket_available():
        pytest.skip("aeon is not installed")
    from archselect.baselines import fit_baseline
    from archselect.export import ModelConfig, export_baseline, load_model
    from tests import corpus

    frame = corpus.long_frame(40, 31)
    table = load_table(frame)
    prof = profile_table(table)
    prep = prepare(table, prof)
    pre = prep.preprocessing
    assert prof.layout == "series_padded" and pre.input_shape[1] == 3  # x, y and the mask
    plan = make_plan(prof, n_trials=6)
    assert {"knn_euclidean", "minirocket"} <= set(plan.baselines)
    results = {b.name: b for b in run_baselines(prep, ("knn_euclidean", "minirocket"))}
    assert results["knn_euclidean"].state == "COMPLETE"
    mr = results["minirocket"]
    assert mr.state == "COMPLETE" and (mr.val_metric or 0) > 0.7
    estimator, test_out = fit_baseline(prep, "minirocket")
    assert estimator.est.n_channels_ == 2  # aeon saw the two value channels only
    config = ModelConfig(
        "minirocket", {}, pre.input_shape, pre.n_outputs, pre.task, layout=pre.layout,
        kind="baseline",
    )  # fmt: skip
    export_baseline(tmp_path / "model", estimator, pre, config)
    model = load_model(tmp_path / "model")
    assert np.allclose(model.predict_array(prep.x_test), test_out)
    new = corpus.long_frame(6, 32)
    pred = model.predict_frame(new.drop(columns="label"))
    assert list(pred["series_id"]) == list(dict.fromkeys(new["series_id"]))
    truth = new.groupby("series_id", sort=False)["label"].first().astype(str).to_numpy()
    assert (pred["prediction"].astype(str).to_numpy() == truth).mean() >= 0.5
