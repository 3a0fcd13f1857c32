"""Synthetic verdicts of every kind, written as run directories the report renders.

Each builder profiles a small real frame and plans it (no training), then makes a
:class:`SearchResult` of trials and references with per-row validation scores chosen so that
one kind of verdict comes out of :func:`archselect.select.select`: a deep family wins, a
reference wins, the ensemble wins, a reference ties and is cheaper, a regression, a forecast.
:func:`write_run` stores it as ``fit`` would (profile.json, plan.json, trials.csv,
recommendation.json, model/config.json naming what ``fit`` would export).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archselect.core.ensemble_selection import encode_outputs
from archselect.core.metrics import encode_scores, per_sample_brier
from archselect.core.recommendation import CurvePoint, LearningCurve, OrderControl
from archselect.core.records import BaselineResult, SearchResult, TrialRecord
from archselect.core.stored import RunProfile, RunRecommendation
from archselect.core.verdict import RecommendationKind
from archselect.load import load_table
from archselect.plan import make_plan
from archselect.profile import profile_table
from archselect.rundir import RunPlan, write_trials_csv
from archselect.select import (
    EnsembleLabels,
    ensemble_row,
    paired_interval,
    select,
    with_ensemble,
    with_final_test,
)
from tests.conftest import DATASETS, make_series

#: The regression runs' target scale: per-row squared errors are in standardised units.
TARGET_STD = 2.0
#: Rows, test rows and classes of the ensemble's synthetic outputs.
N_ROWS, N_TEST, K = 240, 90, 3


@dataclass(frozen=True)
class Built:
    """One synthetic verdict: the profile, the plan and the recommendation as stored."""

    name: str
    profile: Any
    plan: Any
    result: SearchResult
    rec: RunRecommendation


def _profile_plan(frame: pd.DataFrame, families: tuple[str, ...], **profile_kw: Any) -> Any:
    profile = profile_table(load_table(frame), **profile_kw)
    return profile, make_plan(profile, families=families, n_trials=len(families))


def trial(number: int, family: str, correct: list[int], brier: float = 0.1, **kw: Any) -> Any:
    """A classification trial with 1/0 per-row scores and a flat Brier score."""
    return TrialRecord(
        number=number,
        family=family,
        state="COMPLETE",
        params={"family": family, "epochs": kw.pop("schedule", 40)},
        val_metric=float(np.mean(correct)),
        test_metric=float(np.mean(correct)) - 0.02,
        train_time_s=kw.pop("train_s", 5.0),
        epochs=kw.pop("epochs", 20),
        latency_b256_ms=kw.pop("ms", 0.05),
        n_params=kw.pop("n_params", 5000),
        val_scores_b64=encode_scores(np.asarray(correct, dtype=float)),
        val_brier_b64=encode_scores(np.full(len(correct), brier)),
        history_val=(0.3, 0.5, float(np.mean(correct))),
        history_train=(0.35, 0.6, 0.9),
        **kw,
    )


def reference(name: str, values: list[float], *, regression: bool = False, **kw: Any) -> Any:
    """A reference with per-row scores (1/0, or squared errors in standardised units)."""
    scores = np.asarray(values, dtype=float)
    val = TARGET_STD * float(np.sqrt(scores.mean())) if regression else float(scores.mean())
    return BaselineResult(
        name=name,
        val_metric=val,
        test_metric=val * (1.05 if regression else 0.98),
        train_time_s=kw.pop("train_s", 0.01),
        latency_b256_ms=kw.pop("ms", 0.01),
        n_params=kw.pop("n_params", 40),
        val_scores_b64=encode_scores(scores),
        val_brier_b64=None if regression else encode_scores(np.full(len(scores), 0.3)),
        **kw,
    )


def regression_trial(number: int, family: str, se: np.ndarray, **kw: Any) -> Any:
    """A regression trial: squared errors in standardised units, RMSE in target units."""
    rmse = TARGET_STD * float(np.sqrt(se.mean()))
    return TrialRecord(
        number=number,
        family=family,
        state="COMPLETE",
        params={"family": family, "epochs": 40},
        val_metric=rmse,
        test_metric=rmse * 1.05,
        train_time_s=kw.pop("train_s", 5.0),
        epochs=20,
        latency_b256_ms=kw.pop("ms", 0.05),
        n_params=kw.pop("n_params", 5000),
        val_scores_b64=encode_scores(se),
        history_val=(2.0, 1.5, rmse),
        history_train=(1.9, 1.2, rmse * 0.8),
        **kw,
    )


def _result(metric: str, trials: tuple[Any, ...], refs: tuple[Any, ...]) -> SearchResult:
    direction = "maximize" if metric == "accuracy" else "minimize"
    return SearchResult("s", "", metric, direction, trials, refs)


def _stored(rec: Any, **extra: Any) -> RunRecommendation:
    fields = {f.name: getattr(rec, f.name) for f in dataclasses.fields(rec)}
    return RunRecommendation(**{**fields, **extra})


def _finish(built: Built, test: float, **kw: Any) -> Built:
    rec = with_final_test(built.rec, test, **kw)
    return dataclasses.replace(built, rec=rec)


def _series_setup(families: tuple[str, ...]) -> Any:
    return _profile_plan(make_series(n=80, length=40), families)


def deep_family_wins() -> Built:
    """cnn1d clearly ahead of mlp and of every reference; an order control and learning
    curves beside it."""
    profile, plan = _series_setup(("cnn1d", "mlp"))
    trials = (
        trial(0, "cnn1d", [1] * 38 + [0] * 2, ms=0.05),
        trial(1, "mlp", [1] * 28 + [0] * 12, ms=0.01),
    )
    refs = (reference("minirocket", [1] * 30 + [0] * 10),)
    result = _result("accuracy", trials, refs)
    order = OrderControl(
        "cnn1d", "accuracy", 0.95, 0.6, 0.35, (0.2, 0.5), True, rows=40, epochs=20, seconds=4.0
    )
    pts = (CurvePoint(0.25, 10, 0.7, 0.55, 0.85), CurvePoint(0.5, 20, 0.82, 0.7, 0.92))
    curves = (
        LearningCurve("cnn1d", (*pts, CurvePoint(1.0, 40, 0.95, 0.88, 1.0)), 0.125),
        LearningCurve("mlp", (*pts[:1], CurvePoint(1.0, 40, 0.7, 0.55, 0.85)), 0.0),
    )
    rec = _stored(select(result, plan, profile), order_control=order, learning_curves=curves)
    return _finish(Built("deep", profile, plan, result, rec), 0.93, ensemble=2)


def reference_wins() -> Built:
    """The issue's long-series run: MiniRocket 85 %; cnn1d tops the deep families, mlp is
    within noise of it and far cheaper (the architecture verdict); lstm sits at chance after
    a cut-down first measurement (not trained enough)."""
    profile, plan = _series_setup(("cnn1d", "lstm", "mlp"))
    rng = np.random.default_rng(0)
    cnn = (rng.random(200) < 0.625).astype(int)
    mlp = cnn.copy()
    mlp[np.flatnonzero(cnn)[:9]] = 0  # 9 rows lost, 3 won: within noise of cnn1d
    mlp[np.flatnonzero(cnn == 0)[:3]] = 1
    lstm = [1] * 21 + [0] * 179  # 10.5 %: chance on ten classes
    trials = (
        trial(0, "cnn1d", list(cnn), ms=0.4, n_params=400_000, train_s=30.0),
        trial(1, "mlp", list(mlp), ms=0.001, n_params=1000, train_s=1.0),
        trial(
            2,
            "lstm",
            lstm,
            ms=2.0,
            epochs=1,
            train_s=4.0,
            fidelity={"epochs": 1, "epoch_s": 4.0, "allowance_s": 4.0},
        ),
    )
    refs = (reference("minirocket", [1] * 170 + [0] * 30, train_s=2.0, n_params=10_000),)
    result = dataclasses.replace(_result("accuracy", trials, refs), chance_metric=0.1)
    rec = _stored(select(result, plan, profile))
    return _finish(Built("reference", profile, plan, result, rec), 0.85, all_rows=True)


def reference_ties_cheaper() -> Built:
    """Logistic regression as good as the deep family, and clearly cheaper."""
    profile, plan = _series_setup(("cnn1d",))
    same = [1] * 36 + [0] * 4
    trials = (trial(0, "cnn1d", same, brier=0.01, ms=0.05, n_params=7000),)
    refs = (reference("logistic_regression", same, n_params=41),)
    rec = _stored(select(_result("accuracy", trials, refs), plan, profile))
    built = Built("tie", profile, plan, _result("accuracy", trials, refs), rec)
    return _finish(built, 0.9, all_rows=True)


def _proba(y: np.ndarray, wrong: np.ndarray) -> np.ndarray:
    p = np.full((len(y), K), 0.1)
    p[np.arange(len(y)), y] = 0.8
    idx = np.flatnonzero(wrong)
    p[idx] = 0.2
    p[idx, (y[idx] + 1) % K] = 0.45
    p[idx, y[idx]] = 0.35
    return p


def ensemble_trial(number: int, family: str, y: np.ndarray, yt: np.ndarray, part: int) -> Any:
    val = _proba(y, np.arange(len(y)) % 3 == part)
    test = _proba(yt, np.arange(len(yt)) % 3 == part)
    correct = (val.argmax(axis=1) == y).astype(float)
    return TrialRecord(
        number=number,
        family=family,
        state="COMPLETE",
        params={"family": family},
        val_metric=float(correct.mean()),
        test_metric=float((test.argmax(axis=1) == yt).mean()),
        latency_b256_ms=0.01 * (number + 1),
        train_time_s=1.0,
        epochs=10,
        val_scores_b64=encode_scores(correct),
        val_brier_b64=encode_scores(per_sample_brier(np.log(val), y)),
        val_outputs_b64=encode_outputs(val),
        test_outputs_b64=encode_outputs(test),
    )


def ensemble_wins() -> Built:
    """Three families that err on different rows: their ensemble wins clearly."""
    profile, plan = _series_setup(("cnn1d", "gru", "mlp"))
    rng = np.random.default_rng(0)
    labels = EnsembleLabels(rng.integers(0, K, N_ROWS), rng.integers(0, K, N_TEST), cv=False)
    trials = tuple(
        ensemble_trial(n, fam, labels.val, labels.test, n)
        for n, fam in enumerate(("cnn1d", "gru", "mlp"))
    )
    result = _result("accuracy", trials, ())
    rec = select(result, plan, profile)
    row = ensemble_row(result, labels, plan.seed, paired_interval)
    chosen = with_ensemble(rec, row)
    assert chosen.kind == RecommendationKind.ENSEMBLE
    built = Built("ensemble", profile, plan, result, _stored(chosen))
    stored = dataclasses.replace(built.rec, ensemble={**row, "final_test_metric": 0.97})
    return _finish(dataclasses.replace(built, rec=stored), 0.97)


def regression() -> Built:
    """A regression series set (the issue's 140-row run): lstm tops the families, cnn1d is
    within noise of it and cheaper; ridge behind. Intervals in RMSE, the target's unit."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6, 40)
    amp = rng.uniform(0.5, 3.0, 80)
    frame = pd.DataFrame([a * np.sin(t) for a in amp], columns=[f"t{i}" for i in range(40)])
    frame["target"] = amp
    profile, plan = _profile_plan(frame, ("cnn1d", "lstm"), modality="sequential")
    base = rng.gamma(2.0, 0.05, 60)
    lstm = base.copy()
    cnn = rng.permutation(base) * 1.01  # the same errors on other rows: within noise
    trials = (
        regression_trial(0, "lstm", lstm, ms=0.5, n_params=50_000),
        regression_trial(1, "cnn1d", cnn, ms=0.02, n_params=5000),
    )
    refs = (reference("ridge", list(base * 3.0), regression=True),)
    result = _result("rmse", trials, refs)
    rec = _stored(select(result, plan, profile))
    return _finish(Built("regression", profile, plan, result, rec), 0.31)


def forecast() -> Built:
    """A monthly series forecast: the seasonal naive reference scores best but cannot be
    exported, so the best family is recommended."""
    frame = pd.read_csv(DATASETS / "co2_monthly.csv")
    profile = profile_table(load_table(frame))
    plan = make_plan(profile, n_trials=2)
    fams = plan.family_names[:2]
    rng = np.random.default_rng(1)
    base = rng.gamma(2.0, 0.02, 50)
    trials = (
        regression_trial(0, fams[0], base * 1.3, ms=0.02),
        regression_trial(1, fams[1], base * 1.6, ms=0.03),
    )
    naive = next(b for b in plan.baselines if "naive" in b)
    refs = (reference(naive, list(base), regression=True),)
    result = _result("rmse", trials, refs)
    rec = _stored(select(result, plan, profile))
    return _finish(Built("forecast", profile, plan, result, rec), 0.5)


#: Every kind of verdict the consistency test renders.
VERDICTS: dict[str, Callable[[], Built]] = {
    "deep": deep_family_wins,
    "reference": reference_wins,
    "ensemble": ensemble_wins,
    "tie": reference_ties_cheaper,
    "regression": regression,
    "forecast": forecast,
}


def exported_config(rec: Any) -> dict[str, Any]:
    """What ``fit`` writes to model/config.json for ``rec`` (its ``family`` and ``kind``):
    run/_fit.py exports the ensemble, the recommended reference, or the family's network."""
    if rec.kind == RecommendationKind.ENSEMBLE:
        return {"family": "ensemble", "kind": "ensemble"}
    if rec.kind == RecommendationKind.BASELINE:
        return {
            "family": rec.recommended,
            "kind": "baseline",
            "trained_on": "train+validation+test",
        }
    return {"family": rec.family, "kind": "family", "ensemble": 1}


def write_run(built: Built, run_dir: Path) -> Path:
    """``built`` as a run directory (no study.db, no weights: the report needs neither)."""
    (run_dir / "model").mkdir(parents=True, exist_ok=True)
    fields = {f.name: getattr(built.profile, f.name) for f in dataclasses.fields(built.profile)}
    RunProfile(**fields, preview=None).save(run_dir / "profile.json")
    plan_fields = {f.name: getattr(built.plan, f.name) for f in dataclasses.fields(built.plan)}
    RunPlan(**plan_fields, run=None).save(run_dir / "plan.json")
    write_trials_csv(built.result, run_dir / "trials.csv")
    built.rec.save(run_dir / "recommendation.json")
    config = exported_config(built.rec)
    (run_dir / "model" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return run_dir
