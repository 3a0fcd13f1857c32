"""``--timeout``: trials still training when the budget runs out stop there, except a
family's first result, which is let finish."""

from __future__ import annotations

import shutil
import time
from io import StringIO
from pathlib import Path

import optuna
import pandas as pd
import pytest
from rich.console import Console

from archselect._budget import SearchWindow
from archselect._progress import TrialProgress
from archselect._run import read_trials_csv, write_trials_csv
from archselect.load import load_table
from archselect.plan import Plan, make_plan
from archselect.prepare import CV_FOLDS, Prepared, cross_folds, prepare
from archselect.profile import profile_table
from archselect.report import render_report
from archselect.search import (
    CUT_SHORT_NOTE,
    TrialRecord,
    _objective,
    collect_result,
    prepare_study,
    storage_url,
)
from tests.conftest import make_series


@pytest.fixture
def small_mlp(fast_space: Path) -> tuple[Prepared, Plan]:
    """Small series data (cross-validated) and a 2-trial plan of the mlp family."""
    table = load_table(make_series(n=60, length=24))
    profile = profile_table(table)
    prepared = prepare(table, profile, seed=0)
    plan = make_plan(profile, families=("mlp",), n_trials=2, space_files=(fast_space,), seed=0)
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
    study.optimize(_objective(prepared, plan, [], folds, _window(-1.0)), n_trials=2)

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
        study.optimize(_objective(prepared, plan, [], folds, window), n_trials=2)
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


@pytest.mark.parametrize("note", [None, "stopped at the --timeout deadline (epoch 2)"])
def test_progress_line_names_why_a_trial_stopped(note: str | None) -> None:
    out = StringIO()
    progress = TrialProgress(Console(file=out, width=200, force_terminal=False))
    progress.trial(TrialRecord(number=1, family="mlp", state="PRUNED", note=note))
    line = out.getvalue()
    assert "trial   1 mlp" in line and "PRUNED" in line
    assert (f"({note})" in line) == (note is not None)
