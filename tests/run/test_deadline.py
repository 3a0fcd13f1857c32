"""``--timeout``: trials still training when the budget runs out stop there, except a
family's first result, which is let finish."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest

from archselect._common.budget import SearchWindow
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


def test_the_search_is_not_shortened_for_a_refit_and_a_too_small_allowance_never_starts(
    tmp_path: Path, small_mlp: tuple[Prepared, Plan]
) -> None:
    """The search keeps its whole window even when the best trial's refit would not fit
    (the final model then exports the trial's own weights); a later trial whose allowance is
    below a meaningful measurement does not start, and the search stops there instead of
    storing a one-second figure as a measurement."""
    prepared, plan = small_mlp
    folds = cross_folds(prepared, seed=0)
    now = time.time()
    tight = SearchWindow(
        end=now + 3600, first_round_end=now, first_share_s=3600, budget_end=now + 1
    )
    study = prepare_study(prepared, plan, storage=storage_url(tmp_path, None))
    study.optimize(make_objective(prepared, plan, [], folds, tight), n_trials=1)
    assert search_deadline(tight, study, prepared) == tight.end
    (done,) = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    # the compute it was given and used, and what was not training
    assert done.user_attrs["share_s"] == pytest.approx(3600)
    assert 0 < done.user_attrs["core_s"] <= done.duration.total_seconds() * 2
    assert 0 <= done.user_attrs["overhead_s"] < done.duration.total_seconds()

    # 3 s left, well below a quarter of the 40 s first share: the next trial never starts
    (tmp_path / "b").mkdir()
    study = prepare_study(prepared, plan, storage=storage_url(tmp_path / "b", None))
    study.optimize(make_objective(prepared, plan, [], folds, tight), n_trials=1)
    small = SearchWindow(end=time.time() + 3, first_round_end=now, first_share_s=40.0)
    study.optimize(make_objective(prepared, plan, [], folds, small), n_trials=5)
    first, second = study.get_trials(deepcopy=False)[:2]
    assert len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.PRUNED,))) == 1
    assert first.state == optuna.trial.TrialState.COMPLETE
    assert second.state == optuna.trial.TrialState.PRUNED
    note = second.user_attrs["note"]
    assert note.startswith("not started: ") and "s left of the search, below the 10 s" in note
