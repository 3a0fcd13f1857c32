"""The controls of a verdict (issue 31): the order control, the learning curves and the
both-readings sentence, measured after the search from the budget's reserve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import archselect
from archselect._common.budget import Clock
from archselect.core.records import BaselineResult, SearchResult, TrialRecord
from archselect.load import load_table
from archselect.plan import make_plan
from archselect.prepare import prepare
from archselect.profile import profile_table
from archselect.run import _controls
from archselect.run._controls import (
    NO_ORDER,
    controls_reserve,
    measure_order_control,
    order_kind,
    permute,
    readings_reason,
)
from archselect.run._curves import CURVE_FRACTIONS, curve_candidates
from archselect.train import torch_threads
from tests.conftest import make_series
from tests.corpus import noisy_series


@pytest.fixture
def controls_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_controls, "MEASURE_CONTROLS", True)


def _prepared(frame: pd.DataFrame, **options: str):  # type: ignore[no-untyped-def]
    table = load_table(frame)
    profile = profile_table(table, **options)
    return profile, prepare(table, profile)


def test_permute_moves_every_channel_alike_and_never_the_target() -> None:
    pixels = np.arange(2 * 3 * 2 * 2, dtype=float).reshape(2, 3, 2, 2)
    perm = np.array([2, 0, 3, 1])
    moved = permute(pixels, "pixels", perm)
    for c in range(3):  # the same pixel order in every channel
        assert moved[1, c].reshape(-1).tolist() == pixels[1, c].reshape(-1)[perm].tolist()
    steps = np.arange(2 * 4 * 2, dtype=float).reshape(2, 4, 2)  # (N, T, C)
    assert permute(steps, "steps", perm)[0, :, 1].tolist() == steps[0, perm, 1].tolist()
    assert permute(steps, "steps", perm)[0, 0].tolist() == steps[0, 2].tolist()  # channels kept


def test_what_the_control_moves_follows_the_layout(digits_frame: pd.DataFrame) -> None:
    _, series = _prepared(make_series(n=40))
    _, image = _prepared(digits_frame.head(60))
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(40, 4)), columns=list("abcd"))
    table["y"] = rng.integers(0, 2, 40)
    _, tab = _prepared(table, target="y")
    assert order_kind(series) == ("steps", None)
    assert order_kind(image) == ("pixels", None)
    assert order_kind(tab) == (None, NO_ORDER)


def test_the_search_window_leaves_the_controls_their_reserve(controls_on: None) -> None:
    clock = Clock(180.0)
    assert controls_reserve(clock) == pytest.approx(0.15 * 180 + 0.15 * 180)
    assert controls_reserve(Clock(None)) is None


def test_an_unaffordable_control_is_skipped_with_a_note() -> None:
    profile, prepared = _prepared(make_series(n=40))
    plan = make_plan(profile, n_trials=1)
    trial = TrialRecord(
        0, "cnn1d", "COMPLETE", params={"family": "cnn1d"}, val_metric=0.9, epochs=10,
        train_time_s=30.0,
    )  # fmt: skip
    budget = _controls._Allowance(Clock(1.0))
    control, notes = measure_order_control(prepared, plan, trial, budget)
    assert control is None and "order control was not measured" in notes[0]
    assert "--timeout budget left" in notes[0]


def test_the_readings_sentence_names_the_winning_reading() -> None:
    profile = profile_table(load_table(noisy_series(4.0)))
    assert profile.readings == ("table", "series")
    plan = make_plan(profile, n_trials=2)
    ones, half = np.ones(40), np.r_[np.ones(20), np.zeros(20)]
    from archselect.core.metrics import encode_scores

    trials = (
        TrialRecord(0, "cnn1d", "COMPLETE", val_metric=1.0, val_scores_b64=encode_scores(ones)),
        TrialRecord(1, "mlp", "COMPLETE", val_metric=0.5, val_scores_b64=encode_scores(half)),
    )
    result = SearchResult(
        "s", "", "accuracy", "maximize", trials,
        (BaselineResult("svm_rbf", 0.45, 0.4, 0.1),),
    )  # fmt: skip
    sentence = readings_reason(profile, plan, result)
    assert sentence is not None
    assert "could not tell a table from a sequence" in sentence
    assert "the sequence reading wins by 50.0 points of accuracy" in sentence
    assert "cnn1d 100.0% against mlp 50.0%" in sentence and "95% interval" in sentence
    sure = profile_table(load_table(make_series(n=60)))
    assert readings_reason(sure, make_plan(sure, n_trials=1), result) is None


def _fit(data: Path | pd.DataFrame, out: Path, space: Path, **options: object) -> dict:  # type: ignore[type-arg]
    archselect.fit(data, out=out, spaces=(space,), seed=0, **options)  # type: ignore[arg-type]
    return json.loads((out / "recommendation.json").read_text())  # type: ignore[no-any-return]


def test_an_ordered_series_gets_its_order_control_and_curves(
    controls_on: None, fast_space: Path, tmp_path: Path
) -> None:
    frame = make_series(n=160, length=32)
    rec = _fit(frame, tmp_path / "run", fast_space, families=("cnn1d",), trials=1)
    control = rec["order_control"]
    assert control["family"] == "cnn1d" and control["metric"] == "accuracy"
    assert control["rows"] > 0 and control["epochs"] >= 1 and control["seconds"] > 0
    low, high = control["interval"]
    assert low <= control["diff"] <= high
    sign_ok = control["diff"] == pytest.approx(control["in_order"] - control["shuffled"])
    assert sign_ok and control["uses_order"] == (low > 0)
    curves = rec["learning_curves"]
    assert 1 <= len(curves) <= 2
    for curve in curves:
        points = curve["points"]
        assert [p["fraction"] for p in points] == list(CURVE_FRACTIONS)
        assert points[0]["rows"] < points[1]["rows"] < points[2]["rows"]
        assert all(p["low"] <= p["metric"] <= p["high"] for p in points)
        assert curve["slope_per_doubling"] == pytest.approx(
            points[2]["metric"] - points[1]["metric"]
        )
    assert not any("not measured" in n for n in rec["notes"])
    # issue 31, item 5: every epoch of every finished trial, validation and training figure
    trials = pd.read_csv(tmp_path / "run" / "trials.csv")
    done = trials[(trials["kind"] == "trial") & (trials["state"] == "COMPLETE")]
    assert len(done) >= 1
    for _, row in done.iterrows():
        val, train = json.loads(row["history_val"]), json.loads(row["history_train"])
        assert len(val) == len(train) == row["epochs"] >= 1
    # the permutation never reaches the exported model: it reads the columns in file order
    pre = json.loads((tmp_path / "run" / "model" / "preprocessing.json").read_text())
    assert pre["feature_columns"] == [f"t{i}" for i in range(32)]


@pytest.mark.small_data_rules
def test_a_cross_validated_trial_is_controlled_on_its_folds(fast_space: Path) -> None:
    """Small data: the trial was scored out of fold over every train + validation row, so
    the shuffled twin is too (one run per fold), against the trial's own stored scores."""
    from archselect.core.metrics import encode_scores
    from archselect.search import default_params

    profile, prepared = _prepared(make_series(n=80, length=24))
    plan = make_plan(profile, n_trials=1, families=("cnn1d",), spaces=(fast_space,))
    pooled = len(prepared.pooled[1])
    params = {**default_params(plan, "cnn1d"), "cnn1d.width": 32, "epochs": 2, "lr": 0.01}
    trial = TrialRecord(
        0, "cnn1d", "COMPLETE", params=params, val_metric=1.0, epochs=2, train_time_s=0.1,
        cv_folds=4, val_scores_b64=encode_scores(np.ones(pooled)),
    )  # fmt: skip
    with torch_threads(1):  # as fit trains (two OpenMP threads crawl on a busy machine)
        budget = _controls._Allowance(Clock(None))
        control, notes = measure_order_control(prepared, plan, trial, budget)
    assert notes == [] and control is not None
    assert control.rows == pooled and control.in_order == 1.0
    assert 0.0 <= control.shuffled <= 1.0 and control.interval is not None
    assert control.permutation_seed == plan.seed + _controls.PERMUTATION_SEED_OFFSET


def test_a_table_has_no_order_to_use(controls_on: None, tabular_csv: Path, fast_space: Path,
                                     tmp_path: Path) -> None:  # fmt: skip
    rec = _fit(tabular_csv, tmp_path / "run", fast_space, families=("mlp",), trials=1)
    control = rec["order_control"]
    assert control["note"] == NO_ORDER and control["uses_order"] is False
    assert control["diff"] == 0 and control["interval"] is None


def test_a_flat_winner_hands_the_control_to_the_best_family_that_can_use_the_order() -> None:
    profile, prepared = _prepared(make_series(n=40))
    plan = make_plan(profile, n_trials=3)
    trials = (
        TrialRecord(0, "mlp", "COMPLETE", val_metric=0.9),
        TrialRecord(1, "cnn1d", "COMPLETE", val_metric=0.8),
        TrialRecord(2, "lstm", "COMPLETE", val_metric=0.85),
    )
    result = SearchResult("s", "", "accuracy", "maximize", trials, ())
    trial, why = _controls.controlled_trial(prepared, plan, result, 0)
    assert trial is not None and trial.family == "lstm"
    assert why is not None and "mlp reads the columns as one flat vector" in why
    same, none = _controls.controlled_trial(prepared, plan, result, 1)
    assert same is not None and same.family == "cnn1d" and none is None

    alone = SearchResult("s", "", "accuracy", "maximize", trials[:1], ())
    flat, why = _controls.controlled_trial(prepared, plan, alone, 0)
    assert flat is not None and flat.family == "mlp"
    assert why is not None and "cannot show an order" in why


def test_a_forecast_reference_gets_no_learning_curve() -> None:
    # the statistical forecasts are fitted per series on the whole history: a winning
    # AutoTheta once stopped every control with "unknown baseline 'auto_theta'"
    frame = pd.read_csv(Path(__file__).parents[2] / "datasets" / "co2_monthly.csv")
    profile, prepared = _prepared(frame.tail(120), target="co2")
    plan = make_plan(profile, n_trials=2)
    trials = (TrialRecord(0, "mlp", "COMPLETE", val_metric=0.9, train_time_s=1.0),)
    refs = (
        BaselineResult("auto_theta", 0.5, 0.6, 0.1),
        BaselineResult("seasonal_naive", 0.7, 0.8, 0.0),
    )
    result = SearchResult("s", "", plan.metric, plan.direction, trials, refs)
    assert [c.name for c in curve_candidates(result, plan, prepared)] == ["mlp"]


def test_the_controls_keep_of_the_final_models_reserve_what_it_can_use(
    tmp_path: Path,
) -> None:
    import time

    from archselect._common.budget import MIN_RESERVE_S, RESERVE_FRACTION
    from archselect.run._pool import WEIGHTS
    from archselect.run._refit import OWN_WEIGHTS_FRACTION, final_need
    from archselect.rundir import WORK
    from archselect.search import weights_file

    clock = Clock(180.0, started_unix=time.time() - 150.0)  # 30 s left
    for final_s, after in [
        (None, RESERVE_FRACTION * 180.0),  # unknown: the usual reserve
        (10.0, 10.0 + MIN_RESERVE_S),  # a refit of 10 s: it, and the report's
        (0.0, MIN_RESERVE_S),  # the trial's own weights: the report's alone
        (40.0, MIN_RESERVE_S),  # a refit the reserve cannot hold: own weights anyway
    ]:
        left = _controls._Allowance(clock, final_s=final_s).left() or 0.0
        assert left == pytest.approx(30.0 - after, abs=0.5), final_s

    _, prepared = _prepared(make_series(n=80))
    rows = len(prepared.pooled[0])
    # a refit of 10 epochs at this pace needs about 10 x 0.1 x rows seconds
    slow = TrialRecord(3, "cnn1d", "COMPLETE", epochs=10, sec_per_epoch_row=0.1)
    assert 10 * 0.1 * rows > OWN_WEIGHTS_FRACTION * 180.0
    assert final_need(tmp_path, prepared, slow, 180.0) is None  # no weights kept: a refit
    saved = weights_file(tmp_path / WORK / WEIGHTS, 3)
    saved.parent.mkdir(parents=True)
    saved.write_bytes(b"weights")
    assert final_need(tmp_path, prepared, slow, 180.0) == 0.0  # its own weights
    assert final_need(tmp_path, prepared, slow, None) is None  # no budget: a refit
    fast = TrialRecord(3, "cnn1d", "COMPLETE", epochs=10, sec_per_epoch_row=1e-4)
    need = final_need(tmp_path, prepared, fast, 180.0)
    assert need is not None and 10 * 1e-4 * rows <= need < OWN_WEIGHTS_FRACTION * 180.0


def test_a_reference_fitted_on_a_subsample_gets_no_learning_curve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    profile, prepared = _prepared(make_series(n=120))
    plan = make_plan(profile, n_trials=2)
    trials = (TrialRecord(0, "cnn1d", "COMPLETE", val_metric=0.7, train_time_s=1.0),)
    refs = (BaselineResult("minirocket", 0.9, 0.9, 0.1),)
    result = SearchResult("s", "", plan.metric, plan.direction, trials, refs)
    assert [c.name for c in curve_candidates(result, plan, prepared)] == ["minirocket", "cnn1d"]
    # above its row cap the reference fits a random subsample, so its curve would be flat
    monkeypatch.setattr(
        importlib.import_module("archselect.core.sizes"), "MINIROCKET_MAX_ROWS", 10
    )
    assert [c.name for c in curve_candidates(result, plan, prepared)] == ["cnn1d"]
