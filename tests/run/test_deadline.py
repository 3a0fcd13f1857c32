"""``--timeout``: trials still training when the budget runs out stop there, except a
family's first result, which is let finish."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest

from archselect._common.budget import AFTER_REFIT_S, SearchWindow, refit_epoch_seconds
from archselect.load import load_table
from archselect.plan import Plan, make_plan
from archselect.prepare import CV_FOLDS, Prepared, cross_folds, prepare
from archselect.profile import profile_table
from archselect.report import render_report
from archselect.rundir import read_trials_csv, write_trials_csv
from archselect.search import (
    CUT_SHORT_NOTE,
    collect_result,
    make_objective,
    prepare_study,
    search_deadline,
    storage_url,
)
from tests.conftest import make_series


@pytest.fixture
def small_mlp(fast_space: Path) -> tuple[Prepared, Plan]:
    """Small series data (cross-validated) and a 2-trial plan of the mlp family."""
    table = load_table(make_series(n=60, length=24))
    profile = profile_table(table)
    prepared = prepare(table, profile, seed=0)
    plan = make_plan(profile, families=("mlp",), n_trials=2, spaces=(fast_space,), seed=0)
    return prepared, plan


def _window(end_in_s: float, share_s: float = 3600.0) -> SearchWindow:
    now = time.time()
    return SearchWindow(end=now + end_in_s, first_round_end=now, first_share_s=share_s)


@pytest.mark.small_data_rules
def test_past_the_deadline_a_family_first_trial_is_cut_short_and_later_ones_stop(
    tmp_path: Path, small_mlp: tuple[Prepared, Plan]
) -> None:
    prepared, plan = small_mlp
    study = prepare_study(prepared, plan, storage=storage_url(tmp_path, None))
    folds = cross_folds(prepared, seed=0)
    assert len(folds) == CV_FOLDS  # small data: the stop is checked in every fold's epochs
    study.optimize(make_objective(prepared, plan, [], folds, _window(-1.0)), n_trials=2)

    first, second = study.get_trials(deepcopy=False)
    assert first.state == optuna.trial.TrialState.COMPLETE  # the family's only result
    assert first.user_attrs["note"] == (f"{CUT_SHORT_NOTE} (epoch 1, fold 1 of {CV_FOLDS})")
    # every fold stopped after its first epoch: one epoch of training was measured
    assert first.user_attrs["epochs"] == 1 and first.user_attrs["best_epoch"] == 1
    assert second.state == optuna.trial.TrialState.PRUNED
    assert second.user_attrs["note"] == "stopped at the --timeout deadline (before it started)"

    # the reason reaches trials.csv and comes back from it
    result = collect_result(study, plan)
    path = tmp_path / "trials.csv"
    write_trials_csv(result, path)
    back = read_trials_csv(path, metric=plan.metric, direction=plan.direction)
    assert [t.note for t in back.trials] == [first.user_attrs["note"], second.user_attrs["note"]]


def test_no_deadline_or_a_later_one_never_stops_a_trial(
    tmp_path: Path, small_mlp: tuple[Prepared, Plan]
) -> None:
    prepared, plan = small_mlp
    folds = cross_folds(prepared, seed=0)
    for name, window in (("none", None), ("later", _window(3600.0))):
        (tmp_path / name).mkdir()
        study = prepare_study(prepared, plan, storage=storage_url(tmp_path / name, None))
        study.optimize(make_objective(prepared, plan, [], folds, window), n_trials=2)
        trials = study.get_trials(deepcopy=False)
        assert trials[0].state == optuna.trial.TrialState.COMPLETE
        assert all("note" not in t.user_attrs for t in trials)


def test_the_report_says_how_many_trials_the_deadline_stopped(
    digits_run: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "run"
    shutil.copytree(digits_run, copy)
    trials = pd.read_csv(copy / "trials.csv", dtype={"note": "string"})
    rows = trials.index[trials["kind"] == "trial"][:2]
    trials.loc[rows, "state"] = "PRUNED"
    trials.loc[rows, "note"] = "stopped at the --timeout deadline (epoch 3)"
    trials.to_csv(copy / "trials.csv", index=False)
    html = render_report(copy).read_text(encoding="utf-8")
    assert 'id="deadline-note"' in html
    assert "2 trials were still training when the <code>--timeout</code> budget ran out" in html
    untouched = render_report(digits_run).read_text(encoding="utf-8")
    assert 'id="deadline-note"' not in untouched


def test_later_trials_stop_where_the_best_trials_final_refit_needs_the_time(
    tmp_path: Path, small_mlp: tuple[Prepared, Plan]
) -> None:
    """The search ends early enough that the best trial so far can be refitted for all its
    epochs (an undertrained refit would be exported): on a 60,000-row table, the exported
    refit got 2 of 8 epochs and scored 84.5 % where its trial scored 91.7 %."""
    prepared, plan = small_mlp
    folds = cross_folds(prepared, seed=0)
    now = time.time()
    roomy = SearchWindow(
        end=now + 3600, first_round_end=now, first_share_s=3600, budget_end=now + 7200
    )
    study = prepare_study(prepared, plan, storage=storage_url(tmp_path, None))
    study.optimize(make_objective(prepared, plan, [], folds, roomy), n_trials=1)
    (best,) = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    assert search_deadline(roomy, study, prepared) == roomy.end  # the refit fits: no change
    tight = dataclasses.replace(roomy, budget_end=now + AFTER_REFIT_S + 60)
    n_rows, n_val = len(prepared.x_train) + len(prepared.x_val), len(prepared.x_val)
    refit = (
        refit_epoch_seconds(best.user_attrs["sec_per_epoch_row"], n_rows, n_val)
        * (best.user_attrs["best_epoch"])
    )
    assert search_deadline(tight, study, prepared) == pytest.approx(now + 60 - refit)

    # no time left for the refit: the next trial does not start, and the search stops
    # instead of pruning one trial after another until the window ends
    over = dataclasses.replace(roomy, budget_end=time.time() + AFTER_REFIT_S)
    (tmp_path / "b").mkdir()
    study = prepare_study(prepared, plan, storage=storage_url(tmp_path / "b", None))
    study.optimize(make_objective(prepared, plan, [], folds, over), n_trials=5)
    # the family's first result, then the stop (the queued trials never start)
    first, second = study.get_trials(deepcopy=False)[:2]
    assert len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))) == 1
    assert first.state == optuna.trial.TrialState.COMPLETE
    assert second.state == optuna.trial.TrialState.PRUNED
    assert second.user_attrs["note"] == "stopped at the --timeout deadline (before it started)"
