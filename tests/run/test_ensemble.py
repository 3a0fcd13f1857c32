"""The ensemble of the best trials: its candidate row in the selection, and its export."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from archselect.core.ensemble_selection import encode_outputs
from archselect.core.metrics import encode_scores, per_sample_brier
from archselect.core.records import BaselineResult, SearchResult, TrialRecord
from archselect.errors import RunDirError
from archselect.load import load_table
from archselect.plan import make_plan
from archselect.prepare import prepare
from archselect.profile import profile_table
from archselect.select import (
    ENSEMBLE,
    EnsembleLabels,
    ensemble_row,
    ensemble_sentence,
    paired_interval,
    select,
    with_ensemble,
)

N_ROWS, N_TEST, K = 240, 90, 3
TINY = str(Path(__file__).resolve().parents[1] / "spaces" / "tiny_shared.toml")


def _proba(y: np.ndarray, wrong: np.ndarray, sure: float) -> np.ndarray:
    """Probabilities right with ``sure`` on every row but ``wrong`` (there, class y + 1)."""
    p = np.full((len(y), K), (1.0 - sure) / (K - 1))
    p[np.arange(len(y)), y] = sure
    idx = np.flatnonzero(wrong)
    p[idx] = 0.2
    p[idx, (y[idx] + 1) % K] = 0.45
    p[idx, y[idx]] = 0.35
    return p


def _trial(
    number: int, family: str, y: np.ndarray, yt: np.ndarray, part: int, **kw
) -> TrialRecord:
    """A trial wrong on the rows ``i % 3 == part`` (validation and test alike)."""
    val = _proba(y, np.arange(len(y)) % 3 == part, kw.pop("sure", 0.8))
    test = _proba(yt, np.arange(len(yt)) % 3 == part, 0.8)
    correct = (val.argmax(axis=1) == y).astype(float)
    return TrialRecord(
        number=number,
        family=family,
        state="COMPLETE",
        params={"family": family},
        val_metric=float(correct.mean()),
        test_metric=float((test.argmax(axis=1) == yt).mean()),
        latency_b256_ms=0.01,
        train_time_s=1.0,
        val_scores_b64=encode_scores(correct),
        val_brier_b64=encode_scores(per_sample_brier(np.log(val), y)),
        val_outputs_b64=encode_outputs(val),
        test_outputs_b64=encode_outputs(test),
        **kw,
    )


@pytest.fixture
def series_setup(series_csv: Path, fast_space: Path):
    table = load_table(series_csv)
    prof = profile_table(table)
    plan = make_plan(prof, families=("cnn1d", "gru", "mlp"), n_trials=6, spaces=(fast_space,))
    return prof, plan


def _labels() -> EnsembleLabels:
    rng = np.random.default_rng(0)
    return EnsembleLabels(rng.integers(0, K, N_ROWS), rng.integers(0, K, N_TEST), cv=False)


def test_members_that_err_on_different_rows_make_a_clear_winner(series_setup) -> None:
    prof, plan = series_setup
    lab = _labels()
    trials = (
        _trial(0, "cnn1d", lab.val, lab.test, 0, sure=0.9),
        _trial(1, "gru", lab.val, lab.test, 1),
        _trial(2, "mlp", lab.val, lab.test, 2),
    )
    result = SearchResult("s", "", "accuracy", "maximize", trials, ())
    row = ensemble_row(result, lab, plan.seed, paired_interval)
    assert row["chosen"] and row["clear"]
    assert row["interval"][0] > 0
    assert len(row["members"]) >= 2
    assert sum(m["weight"] for m in row["members"]) == pytest.approx(1.0)
    assert row["val_metric"] > row["best_single_val_metric"] + 0.2
    assert row["best_single_val_metric"] == pytest.approx(2 / 3, abs=0.01)
    assert row["test_metric"] > row["best_single_test_metric"]  # on the trials' own models
    assert row == ensemble_row(result, lab, plan.seed, paired_interval)  # deterministic
    rec = select(result, plan, prof)
    best_family = rec.family
    chosen = with_ensemble(rec, row)
    assert chosen.kind == ENSEMBLE and chosen.recommended == ENSEMBLE
    assert chosen.family == best_family  # the architecture verdict stays
    assert f"The best single family is {best_family}" in chosen.headline
    assert chosen.headline.startswith("Use the ensemble of")
    assert any(r.startswith("Ensemble of the best trials") for r in chosen.reasons)
    assert type(chosen).from_json(chosen.to_json()) == chosen


def test_an_ensemble_no_better_than_its_best_member_is_shown_not_chosen(series_setup) -> None:
    prof, plan = series_setup
    lab = _labels()
    same = [_trial(n, fam, lab.val, lab.test, 0) for n, fam in enumerate(("cnn1d", "mlp"))]
    result = SearchResult("s", "", "accuracy", "maximize", tuple(same), ())
    row = ensemble_row(result, lab, plan.seed, paired_interval)
    assert row and not row["chosen"]
    assert row["val_metric"] == pytest.approx(row["best_single_val_metric"])
    rec = select(result, plan, prof)
    shown = with_ensemble(rec, row)
    assert shown.kind == rec.kind and shown.headline == rec.headline
    assert shown.ensemble == row
    assert "not clearly better" in shown.reasons[-1]


def test_the_pool_takes_only_models_scored_on_the_same_rows(series_setup) -> None:
    _, plan = series_setup
    lab = _labels()
    trials = (
        _trial(0, "cnn1d", lab.val, lab.test, 0),
        _trial(1, "gru", lab.val, lab.test, 1, cv_folds=4),  # out-of-fold rows: another set
        _trial(2, "mlp", lab.val[:100], lab.test, 2),  # fewer rows
    )
    result = SearchResult("s", "", "accuracy", "maximize", trials, ())
    assert ensemble_row(result, lab, plan.seed, paired_interval) == {}  # one model left
    base = BaselineResult(
        "logistic_regression",
        val_metric=0.66,
        test_metric=0.66,
        train_time_s=0.1,
        val_outputs_b64=encode_outputs(_proba(lab.val, np.arange(N_ROWS) % 3 == 1, 0.7)),
        test_outputs_b64=encode_outputs(_proba(lab.test, np.arange(N_TEST) % 3 == 1, 0.7)),
    )
    result = dataclasses.replace(result, baselines=(base,))
    row = ensemble_row(result, lab, plan.seed, paired_interval)
    assert row["pool"] == ["cnn1d #0", "logistic_regression"]
    assert {m["kind"] for m in row["members"]} == {"family", "baseline"}


# --- export: refit each member, save, load, predict -------------------------------------------


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory):
    """A tiny real search on a small table: two mlp trials and the references."""
    from archselect.search import run_search, storage_url
    from tests.conftest import TRAINING as train

    old = train.MIN_STEPS, train.MIN_PATIENCE_STEPS
    train.MIN_STEPS, train.MIN_PATIENCE_STEPS = 20, 10
    tmp = tmp_path_factory.mktemp("ens")
    rng = np.random.default_rng(2)
    n = 600
    x = rng.normal(size=(n, 4))
    y = np.where(x[:, 0] + 0.5 * x[:, 1] ** 2 > 0.5, "yes", "no")
    import pandas as pd

    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(label=y)
    space = tmp / "shared.toml"
    from tests.conftest import FAST_SHARED

    space.write_text(FAST_SHARED)
    table = load_table(frame)
    prof = profile_table(table, target="label")
    prep = prepare(table, prof)
    plan = make_plan(prof, families=("mlp",), n_trials=2, spaces=(space,))
    try:
        result = run_search(prep, plan, storage=storage_url(tmp, None))
    finally:
        train.MIN_STEPS, train.MIN_PATIENCE_STEPS = old
    return prof, prep, plan, result, tmp


def test_every_finished_trial_and_reference_stores_its_probabilities(searched) -> None:
    _, prep, _, result, _ = searched
    done = result.finished()
    assert done
    for rec in (*done, *(b for b in result.baselines if b.state == "COMPLETE")):
        val, test = rec.outputs()
        assert val is not None and test is not None
        assert val.shape == (len(prep.y_val), 2) and test.shape == (len(prep.y_test), 2)
        np.testing.assert_allclose(val.sum(axis=1), 1.0, atol=2e-3)
        # the stored per-row correctness is the argmax of the stored probabilities
        np.testing.assert_array_equal((val.argmax(axis=1) == prep.y_val), rec.val_scores() == 1)


def test_an_exported_ensemble_loads_and_predicts_its_test_figure(searched, monkeypatch) -> None:
    import archselect.run._ensemble as ensemble_export
    from archselect.export import ENSEMBLE_FILE, EnsembleModel, load_model
    from archselect.run._ensemble import ensemble_labels, export_ensemble
    from archselect.run._refit import _refit_final

    prof, prep, plan, result, tmp = searched
    trial = result.finished()[0]
    row = ensemble_row(result, ensemble_labels(prep, plan.seed), plan.seed, paired_interval)
    assert row  # the trials and the references stored their probabilities
    row = {
        **row,
        "chosen": True,
        "members": [
            {"name": f"mlp #{trial.number}", "kind": "family", "family": "mlp",
             "trial": trial.number, "weight": 0.6},
            {"name": "logistic_regression", "kind": "baseline",
             "family": "logistic_regression", "trial": None, "weight": 0.4},
        ],
    }  # fmt: skip
    rec = dataclasses.replace(select(result, plan, prof), ensemble=row, kind=ENSEMBLE)
    out = export_ensemble(
        tmp,
        prep,
        plan,
        rec,
        result,
        plan.seed,
        refit=_refit_final,
        time_left=None,
        model_dir="model",
    )
    assert out.final_test_metric is not None
    assert "the exported ensemble, each member refit on train + validation" in out.headline
    model = load_model(tmp / "model")
    assert isinstance(model, EnsembleModel)
    assert model.weights == pytest.approx((0.6, 0.4))
    proba = model.predict_array(prep.x_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    acc = float((proba.argmax(axis=1) == prep.y_test).mean())
    assert acc == pytest.approx(out.final_test_metric)  # the loaded model is the tested one
    import pandas as pd

    frame = pd.DataFrame(prep.x_test[:5].reshape(5, -1), columns=["a", "b", "c", "d"])
    pred = model.predict_frame(frame)
    assert set(pred.columns) == {"prediction", "proba_no", "proba_yes"}
    # damaged descriptions are refused with one sentence
    listed = json.loads((tmp / "model" / ENSEMBLE_FILE).read_text())
    listed["members"][0]["dir"] = "../../elsewhere"
    (tmp / "model" / ENSEMBLE_FILE).write_text(json.dumps(listed))
    with pytest.raises(RunDirError, match="outside the model"):
        load_model(tmp / "model")
    listed["members"][0]["dir"] = "members/0"
    listed["members"][0]["weight"] = 5.0
    (tmp / "model" / ENSEMBLE_FILE).write_text(json.dumps(listed))
    with pytest.raises(RunDirError, match="sum to 1"):
        load_model(tmp / "model")

    # under --timeout the reference member's refit is bounded by its share of the time left
    shares: list[float | None] = []
    real = ensemble_export.fit_baseline

    def spy(*args, seconds=None, **kwargs):  # type: ignore[no-untyped-def]
        shares.append(seconds)
        return real(*args, seconds=seconds, **kwargs)

    monkeypatch.setattr(ensemble_export, "fit_baseline", spy)
    export_ensemble(
        tmp, prep, plan, rec, result, plan.seed, refit=_refit_final, time_left=30.0,
        model_dir="model_timed",
    )  # fmt: skip
    assert len(shares) == 1 and shares[0] is not None and 0.0 < shares[0] <= 30.0


def test_the_report_shows_the_row_and_names_the_best_family_when_it_wins() -> None:
    from archselect.core.stored import RunRecommendation
    from archselect.core.verdict import describe
    from archselect.report import ensemble_view

    row = {
        "members": [
            {"name": "cnn1d #3", "weight": 0.6},
            {"name": "logistic_regression", "weight": 0.4},
        ],
        "pool": ["cnn1d #3", "gru #1", "logistic_regression"],
        "rounds": 25,
        "cv": True,
        "val_metric": 0.9,
        "best_single": "cnn1d #3",
        "best_single_val_metric": 0.8,
        "margin": 0.1,
        "interval": [0.04, 0.16],
        "chosen": True,
        "test_metric": 0.85,
        "final_test_metric": 0.88,
    }
    assert ensemble_view({}, "accuracy") is None
    view = ensemble_view({"ensemble": row}, "accuracy")
    assert view is not None
    assert view["label"] == "ensemble of 2: cnn1d #3 ×0.60, logistic regression ×0.40"
    assert view["test_metric"] == 0.88  # the exported ensemble's, not the searched models'
    shown = ensemble_view({"ensemble": {**row, "chosen": False, "final_test_metric": None}}, "x")
    assert shown is not None and shown["state"] == "shown, not chosen"
    assert shown["test_metric"] == 0.85
    rec = RunRecommendation(
        family="cnn1d", trial=3, params={}, metric="accuracy", direction="maximize",
        val_metric=0.8, test_metric=0.8, runner_up=None, runner_up_val_metric=None,
        margin=None, margin_interval=None, within_noise=False, baseline_best=None,
        baseline_val_metric=None, baseline_test_metric=None, baseline_beats_deep=False,
        profile_confidence=0.9, kind=ENSEMBLE, recommended=ENSEMBLE, ensemble=row,
        rule={"recommended_by": "ensemble"}, interval_unit="metric", final_test_metric=0.88,
    )  # fmt: skip
    text = describe(rec)
    assert text.headline.startswith("Use the ensemble of 2 models")
    assert "+10.0 points over cnn1d #3 (95% interval [+4.0, +16.0] points)" in text.headline
    assert "The best single family is cnn1d" in text.headline
    assert text.star == ENSEMBLE and text.title == "archselect report — the ensemble of 2 models"
    assert "out-of-fold" in text.headline and text.cost is not None and "2 models" in text.cost
    assert text.exported is not None and "the exported ensemble" in text.exported


# --- regression: predictions in standardised units, scored by minus the squared error --------


def _regression_trial(
    number: int, family: str, y: np.ndarray, yt: np.ndarray, sign: float
) -> TrialRecord:
    """A trial ``sign * 0.5`` off on the even rows and right on the odd ones (standardised
    units), on the validation and the test rows alike."""
    val = y + sign * 0.5 * (np.arange(len(y)) % 2 == 0)
    test = yt + sign * 0.5 * (np.arange(len(yt)) % 2 == 0)
    sq = (val - y) ** 2
    return TrialRecord(
        number=number,
        family=family,
        state="COMPLETE",
        params={"family": family},
        val_metric=float(np.sqrt(sq.mean()) * 2.0),
        test_metric=float(np.sqrt(((test - yt) ** 2).mean()) * 2.0),
        val_scores_b64=encode_scores(sq),
        val_outputs_b64=encode_outputs(val, precise=True),
        test_outputs_b64=encode_outputs(test, precise=True),
    )


def test_regression_members_with_opposite_errors_make_a_clear_winner() -> None:
    rng = np.random.default_rng(3)
    y, yt = rng.normal(size=N_ROWS), rng.normal(size=N_TEST)
    lab = EnsembleLabels(y, yt, cv=False, target_std=2.0)
    trials = (
        _regression_trial(0, "cnn1d", lab.val, lab.test, 1.0),
        _regression_trial(1, "mlp", lab.val, lab.test, -1.0),
    )
    result = SearchResult("s", "", "rmse", "minimize", trials, ())
    row = ensemble_row(result, lab, 0, paired_interval)
    assert [m["weight"] for m in row["members"]] == pytest.approx([0.5, 0.5])
    # RMSE in target units (target_std 2): 0.5 off on half the rows -> sqrt(0.125) * 2
    assert row["best_single_val_metric"] == pytest.approx(np.sqrt(0.125) * 2.0, rel=1e-5)
    assert row["val_metric"] < 0.01 and row["in_sample_val_metric"] < 0.01
    assert row["margin"] > 0.7  # positive: the ensemble's RMSE is lower
    assert row["interval"][0] > 0 and row["clear"] and row["chosen"]
    # the interval is of the RMSE itself, in the target's unit, around the margin
    assert row["interval"][0] <= row["margin"] <= row["interval"][1] < 1.0
    assert row["test_metric"] < 0.01 < row["best_single_test_metric"]
    said = ensemble_sentence(row, "rmse")
    assert f"the ensemble {row['margin']:.3g} RMSE lower than {row['best_single']}" in said
    assert "95% interval of the reduction [" in said and "squared error" not in said


def test_the_report_says_why_a_forecast_has_no_ensemble_row() -> None:
    from archselect.report import FORECAST_NOTE, ensemble_view

    assert ensemble_view({"ensemble": {}}, "rmse") is None
    assert FORECAST_NOTE.startswith("No ensemble row for a forecast")
