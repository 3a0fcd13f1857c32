"""A figure within noise of chance is not a measurement: a family that got less than its fair
share is "not trained enough" (with the time it would need), one that got its share and still
sits at chance "did not learn" (a finding); either way it stays out of the winner, the
stability resampling and the ensemble, and the verdict says what budget would settle it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from archselect.core.records import SearchResult
from archselect.core.stored import DataPreview
from archselect.core.verdict import Compared, Finding, describe
from archselect.load import load_table
from archselect.plan import make_plan
from archselect.profile import profile_table
from archselect.select import EnsembleLabels, at_chance_families, ensemble_row, paired_interval
from archselect.select import select as run_select
from archselect.select._chance import at_chance, chance_level
from tests.report.verdicts import N_ROWS, N_TEST, K, ensemble_trial, reference, trial

ROWS = 200
#: Ten balanced classes.
CHANCE = 0.1


@pytest.fixture(scope="module")
def setup(series_csv: Path):
    profile = profile_table(load_table(series_csv))
    plan = make_plan(profile, families=("cnn1d", "gru", "lstm", "mlp"), n_trials=4)
    return profile, dataclasses.replace(plan, timeout_s=180.0)


def _correct(share: float, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    right = np.zeros(ROWS, dtype=int)
    right[rng.choice(ROWS, round(share * ROWS), replace=False)] = 1
    return list(right)


def _result(*trials, refs=(), chance: float | None = CHANCE) -> SearchResult:
    return SearchResult("s", "", "accuracy", "maximize", trials, refs, chance_metric=chance)


def _families():
    return (
        trial(0, "cnn1d", _correct(0.80, 0), ms=0.05),
        trial(1, "mlp", _correct(0.70, 1), ms=0.01),
        # a cut-down first measurement (1 of 40 epochs): at chance, not trained enough
        trial(2, "lstm", _correct(0.11, 2), epochs=1, train_s=4.0,
              fidelity={"epochs": 1, "epoch_s": 4.0, "allowance_s": 4.0}),
        # its whole schedule, and still at chance: a finding
        trial(3, "gru", _correct(0.10, 3), epochs=40, train_s=25.0),
    )  # fmt: skip


def test_chance_level_families_are_reported_and_left_out(setup) -> None:
    profile, plan = setup
    rec = run_select(_result(*_families()), plan, profile)
    rows = {f.family: f for f in rec.families}
    lstm, gru = rows["lstm"], rows["gru"]
    assert lstm.at_chance and lstm.compared == Compared.INSUFFICIENT
    assert lstm.finding == Finding.NOT_TRAINED_ENOUGH and lstm.needed_s == 160.0  # 4 s × 40
    assert gru.at_chance and gru.compared == Compared.FULL and gru.finding == Finding.DID_NOT_LEARN
    assert not rows["cnn1d"].at_chance and rows["cnn1d"].compared == Compared.FULL
    # out of the verdict and the stability resampling
    assert rec.family == "cnn1d" and rec.runner_up == "mlp"
    assert set(rec.verdict_stability["shares"]) <= {"cnn1d", "mlp"}
    assert set(at_chance_families(rec)) == {"gru", "lstm"}
    # the verdict says it: what is open, what budget would settle it, and the finding
    assert rec.chance_metric == CHANCE
    assert rec.rule["settle_budget_s"] == 180 * 160 / 4  # the budget × needed / trained
    text = describe(rec)
    assert text.open_question == (
        "lstm was not trained enough at this budget to compare (1 epoch in 4 s, about 160 s "
        "needed); about --timeout 120m would settle it"
    )
    assert text.findings == (
        "gru did not learn in 25 s (40 epochs): validation accuracy 10.0%, within noise of the "
        "majority class's 10.0%"
    )
    assert any("left out of the verdict, the stability resampling and the ensemble" in r
               for r in rec.reasons)  # fmt: skip


def test_a_family_that_had_its_fair_share_did_not_learn(setup) -> None:
    """With the compute accounting, a cut-down measurement that got the same share as every
    other family is a finding, not a lack of training."""
    profile, plan = setup
    fams = [dataclasses.replace(t, share_s=30.0) for t in _families()]
    rec = run_select(_result(*fams), plan, profile)
    lstm = next(f for f in rec.families if f.family == "lstm")
    assert lstm.compared == Compared.REDUCED and lstm.finding == Finding.DID_NOT_LEARN
    starved = [*fams[:2], dataclasses.replace(fams[2], share_s=5.0), fams[3]]
    lstm = next(
        f for f in run_select(_result(*starved), plan, profile).families if f.family == "lstm"
    )
    assert lstm.compared == Compared.INSUFFICIENT


def test_when_every_family_sits_at_chance_the_reference_is_exported(setup) -> None:
    profile, plan = setup
    stuck = _families()[2:]
    rec = run_select(_result(*stuck, refs=(reference("minirocket", _correct(0.85, 9)),)), plan,
                     profile)  # fmt: skip
    assert rec.family is None and rec.kind == "baseline" and rec.recommended == "minirocket"
    assert rec.headline.startswith(
        "No deep family learned beyond chance level (10.0%, the majority class) at this budget: "
        "use MiniRocket"
    )
    assert "does no better than chance" not in rec.headline
    poor = (reference("logistic_regression", _correct(0.09, 8)),)  # below the majority class
    worse = run_select(_result(*stuck, refs=poor), plan, profile)
    assert worse.recommended == "logistic_regression"
    assert "It does no better than chance either" in worse.headline
    alone = run_select(_result(*stuck), plan, profile)  # nothing else to export
    assert alone.family == "lstm" and alone.kind == "family"


def test_the_ensemble_pool_leaves_chance_level_families_out() -> None:
    rng = np.random.default_rng(0)
    labels = EnsembleLabels(rng.integers(0, K, N_ROWS), rng.integers(0, K, N_TEST), cv=False)
    trials = tuple(
        ensemble_trial(n, fam, labels.val, labels.test, n)
        for n, fam in enumerate(("cnn1d", "gru", "mlp"))
    )
    result = SearchResult("s", "", "accuracy", "maximize", trials, ())
    every = ensemble_row(result, labels, 0, paired_interval)
    assert "gru #1" in every["pool"]
    kept = ensemble_row(result, labels, 0, paired_interval, exclude=("gru",))
    assert kept["pool"] == ["cnn1d #0", "mlp #2"]


def test_the_chance_level_without_the_search_recording_it() -> None:
    counts = {"a": 60, "b": 30, "c": 10}
    preview = DataPreview(layout="series", kind="series", task="classification",
                          class_counts=counts)  # fmt: skip
    profile = SimpleNamespace(preview=preview, classes=("a", "b", "c"))
    result = _result(trial(0, "cnn1d", _correct(0.8, 0)), chance=None)
    assert chance_level(result, profile, 1.0) == pytest.approx(0.6)  # the majority class
    # no preview: one over the classes (a lower bound of the majority: the cautious test),
    # else the labels the stored outputs reveal
    assert chance_level(result, SimpleNamespace(classes=("a", "b", "c", "d")), 1.0) == 0.25
    rng = np.random.default_rng(0)
    labels = EnsembleLabels(rng.integers(0, K, N_ROWS), rng.integers(0, K, N_TEST), cv=False)
    outs = SearchResult("s", "", "accuracy", "maximize",
                        (ensemble_trial(0, "cnn1d", labels.val, labels.test, 0),), ())  # fmt: skip
    majority = np.bincount(labels.val[np.arange(N_ROWS) % 3 != 0]).max() / (2 * N_ROWS / 3)
    assert chance_level(outs, SimpleNamespace(classes=()), 1.0) == pytest.approx(majority)
    regression = SearchResult("s", "", "rmse", "minimize", (), ())
    assert chance_level(regression, None, 2.0) == 2.0  # the target's scale: the mean predictor


def test_within_noise_of_chance() -> None:
    ten_percent = np.r_[np.ones(20), np.zeros(180)]
    assert at_chance(0.10, ten_percent, "accuracy", CHANCE, 1.0)
    assert at_chance(0.128, None, "accuracy", CHANCE, 1.0)  # 3 % of the way to 100 %
    assert not at_chance(0.8, np.r_[np.ones(160), np.zeros(40)], "accuracy", CHANCE, 1.0)
    assert at_chance(0.2, np.r_[np.ones(2), np.zeros(8)], "accuracy", CHANCE, 1.0)  # 10 rows
    # regression: an RMSE not clearly below the mean predictor's
    assert at_chance(1.96, np.full(50, 0.96), "rmse", 2.0, 2.0)
    assert not at_chance(1.0, np.full(50, 0.25), "rmse", 2.0, 2.0)


def test_a_family_too_slow_for_its_share_is_not_compared(setup) -> None:
    """Stopped before a first result (its probed epoch did not fit its share): insufficient,
    with the training it would need, and the budget that would pay for it."""
    from archselect.core.records import TrialRecord

    profile, plan = setup
    slow = TrialRecord(
        4, "lstm", "PRUNED", params={"family": "lstm", "epochs": 40},
        fidelity={"too_slow": True, "epoch_s": 4.5, "allowance_s": 0.0},
        note="too slow for this budget (probed 4.5 s per epoch, share 0 s)",
    )  # fmt: skip
    rec = run_select(_result(*_families()[:2], slow), plan, profile)
    lstm = next(f for f in rec.families if f.family == "lstm")
    assert lstm.compared == Compared.INSUFFICIENT and not lstm.at_chance
    assert lstm.needed_s == 180.0 and rec.rule["settle_budget_s"] == 180 + 180
    text = describe(rec)
    assert text.open_question is not None and text.open_question.startswith(
        "lstm was not trained enough at this budget to compare (no result, about 180 s needed)"
    )
    assert any(r.startswith("Stopped by the budget before a first result") for r in text.reasons)
    # and when no family is measured at all, the budget that would settle it is still said
    alone = run_select(_result(slow), plan, profile)
    assert alone.family is None and alone.rule["settle_budget_s"] == 360
