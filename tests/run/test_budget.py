"""``--timeout`` as a budget for the whole command: the fidelity ladder, the search window,
promotion, and a budgeted fit that measures every family and refits at its trial's pace."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import optuna
import pytest

import archselect
from archselect._common.budget import (
    FIRST_RESULT_FRACTION,
    MIN_EPOCHS,
    MIN_FIRST_ROUND_FRACTION,
    MIN_ROWS,
    RUN_OVERHEAD_S,
    TRIAL_OVERHEAD_S,
    Clock,
    Fidelity,
    SearchWindow,
    choose_fidelity,
    search_window,
)
from archselect.layouts import aggregate, resampled, transform
from archselect.load import load_table
from archselect.plan import make_plan
from archselect.prepare import prepare
from archselect.profile import profile_table
from archselect.run._refit import plan_refit
from archselect.search import (
    ATTR_PROMOTED,
    make_objective,
    prepare_study,
    promote,
    storage_url,
)
from tests.conftest import make_series


def _fid(allowance: float, runs: int = 1, epoch_s: float = 1.0, n_rows: int = 1000) -> Fidelity:
    return choose_fidelity(
        epoch_s=epoch_s, full_epochs=40, runs=runs, n_rows=n_rows, allowance_s=allowance
    )


def test_the_fidelity_ladder_gives_up_epochs_then_folds_then_rows() -> None:
    room = RUN_OVERHEAD_S
    assert _fid(4 * (40 + room), runs=4).full  # every epoch of every fold fits
    assert _fid(4 * (10 + room), runs=4).epochs == 10  # fewer epochs, still every fold
    single = _fid(10 + room, runs=4)  # not 3 epochs of 4 folds: the split alone
    assert (single.single_split, single.epochs, single.rows) == (True, 10, None)
    rows = _fid(1.5 + room, runs=4)  # not 3 epochs on every row: fewer rows
    assert rows.epochs == MIN_EPOCHS and rows.rows == 500 and rows.single_split
    one = _fid(0.15 + room, n_rows=1000)  # not 3 epochs on 64 rows: one epoch on ~150
    assert one.epochs == 1 and one.rows is not None and 149 <= one.rows <= 150
    slow = _fid(0.01 + room)  # not even one epoch on MIN_ROWS rows
    assert slow.too_slow and slow.note() is not None and "too slow" in slow.note()
    few = _fid(0.011 + room, epoch_s=0.01, n_rows=MIN_ROWS // 8)  # no 64-row floor for 8
    assert (few.epochs, few.rows, few.too_slow) == (1, MIN_ROWS // 8, False)
    assert choose_fidelity(
        epoch_s=1.0, full_epochs=40, runs=1, n_rows=10, allowance_s=None
    ).full  # no budget: the family's own schedule


def test_long_series_give_up_resolution_before_rows_and_epochs() -> None:
    """A share that cannot pay 3 epochs on 1,460 steps pays them on the mean of every 4
    steps (365), before any row or epoch is given up; never below MIN_STEPS steps."""
    room = RUN_OVERHEAD_S
    kwargs = {"epoch_s": 8.0, "full_epochs": 40, "runs": 1, "n_rows": 60}
    shorter = choose_fidelity(allowance_s=6 + room, steps=1460, **kwargs)
    assert (shorter.resample, shorter.steps, shorter.epochs, shorter.rows) == (4, 365, 3, None)
    assert shorter.note() is not None and "at 1/4 resolution: 365 steps" in shorter.note()
    assert not shorter.full and Fidelity.from_dict(shorter.to_dict()) == shorter
    # the same share without a series length: too slow (60 rows cannot be cut further),
    # as ACSF1's four sequence families were at 3 minutes
    assert choose_fidelity(allowance_s=6 + room, **kwargs).too_slow
    # 64 steps can only halve (32 steps), which does not pay for 3 epochs
    short = choose_fidelity(allowance_s=6 + room, steps=64, **kwargs)
    assert short.resample == 1 and short.too_slow


def test_a_resampled_preprocessing_shortens_what_transform_gives_predict_too() -> None:
    """The resolution fidelity is part of the preprocessing: the one transform path
    (training, predict, the export) piecewise-aggregates, and the input shape says so."""
    frame = make_series(n=40, length=48)
    table = load_table(frame)
    prepared = prepare(table, profile_table(table, target="label"))
    pre = prepared.preprocessing
    quarter = resampled(pre, 4)
    assert quarter.input_shape == (12, *pre.input_shape[1:]) and quarter.resample == 4
    x = transform(quarter, frame)
    assert x.shape == (40, *quarter.input_shape)
    full = transform(pre, frame)
    assert np.allclose(x, aggregate(full, 4, pre.layout))
    assert np.allclose(x[:, 0], full[:, :4].mean(axis=1), atol=1e-5)
    back = type(pre).from_dict(json.loads(json.dumps(quarter.to_dict())))
    assert np.allclose(transform(back, frame), x)  # as predict reads preprocessing.json
    assert resampled(quarter, 1) == pre


def test_the_search_window_keeps_a_reserve_and_shares_the_first_round() -> None:
    clock = Clock(200.0)
    window = search_window(clock, n_families=5, workers=1)
    assert window is not None
    span = window.end - clock.unix(0.0)
    assert 165.0 <= span <= 170.001  # 15 % of 200 s kept for the final model and report
    # the first round ends by FIRST_RESULT_FRACTION of the budget (here before half the
    # search), and each share leaves TRIAL_OVERHEAD_S for the trial's own overhead
    first = window.first_round_end - clock.unix(0.0)
    assert first == pytest.approx(min(span / 2, FIRST_RESULT_FRACTION * 200.0), abs=0.01)
    assert window.first_share_s == pytest.approx(first / 5 - TRIAL_OVERHEAD_S, rel=0.05)
    two = search_window(clock, n_families=5, workers=2)
    assert two is not None
    assert two.first_share_s == pytest.approx(2 * first / 5 - TRIAL_OVERHEAD_S, rel=0.05)
    # a slow start leaves almost nothing before FIRST_RESULT_FRACTION: the round shrinks
    # to its floor, a quarter of the search, rather than to nothing
    late = Clock(200.0, started_unix=time.time() - 0.9 * FIRST_RESULT_FRACTION * 200.0)
    squeezed = search_window(late, n_families=5, workers=1)
    assert squeezed is not None
    now = time.time()
    assert squeezed.first_round_end - now == pytest.approx(
        MIN_FIRST_ROUND_FRACTION * (squeezed.end - now), abs=0.05
    )
    assert search_window(Clock(None), n_families=5, workers=1) is None


def test_the_final_model_gives_up_seeds_then_epochs_to_fit_the_time_left() -> None:
    assert plan_refit(planned_seeds=5, epochs=10, one_epoch_s=1.0, time_left=None) == (5, 10)
    assert plan_refit(planned_seeds=5, epochs=10, one_epoch_s=1.0, time_left=100.0) == (5, 10)
    assert plan_refit(planned_seeds=5, epochs=10, one_epoch_s=1.0, time_left=35.0) == (3, 10)
    assert plan_refit(planned_seeds=5, epochs=10, one_epoch_s=1.0, time_left=2.5) == (1, 2)
    assert plan_refit(planned_seeds=5, epochs=10, one_epoch_s=1.0, time_left=0.0) == (1, 1)


#: The budget of the end-to-end fit below (the search itself ends at its trial count).
BUDGETED_FIT_S = 120.0
FAMILY = optuna.distributions.CategoricalDistribution(["mlp", "cnn1d", "lstm"])


def _trial(family: str, value: float, fidelity: Fidelity) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        params={"family": family},
        distributions={"family": FAMILY},
        value=value,
        user_attrs={"fidelity": fidelity.to_dict(), "val_metric": value},
    )


def test_promotion_requeues_the_better_half_measured_at_low_fidelity(tmp_path: Path) -> None:
    table = load_table(make_series(n=60, length=24))
    plan = make_plan(profile_table(table), families=("mlp", "cnn1d", "lstm"), timeout_s=60.0)
    study = optuna.create_study(direction="maximize")
    low = Fidelity(epochs=3, epoch_s=1.0, allowance_s=3.0)
    study.add_trial(_trial("mlp", 0.9, low))
    study.add_trial(_trial("cnn1d", 0.8, Fidelity()))
    assert promote(study, plan) == []  # lstm not measured yet: the first round goes on
    study.add_trial(_trial("lstm", 0.5, low))
    assert promote(study, plan) == [0]  # mlp and cnn1d are the better half; cnn1d was full
    assert study.user_attrs[ATTR_PROMOTED] == [0]
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [{"family": "mlp"}]
    assert waiting[0].user_attrs["promoted_from"] == 0
    assert promote(study, plan) == []  # once only


def _measured(
    family: str, value: float, fidelity: Fidelity, **attrs: object
) -> optuna.trial.FrozenTrial:
    epochs = optuna.distributions.IntDistribution(20, 80, step=10)
    return optuna.trial.create_trial(
        params={"family": family, "epochs": 40},
        distributions={"family": FAMILY, "epochs": epochs},
        value=value,
        user_attrs={"fidelity": fidelity.to_dict(), "val_metric": value, **attrs},
    )


def test_promotion_gives_a_family_still_rising_at_its_schedule_end_a_longer_one(
    tmp_path: Path,
) -> None:
    table = load_table(make_series(n=60, length=24))
    plan = make_plan(profile_table(table), families=("mlp", "cnn1d", "lstm"), timeout_s=60.0)
    study = optuna.create_study(direction="maximize")
    # cnn1d leads, flat at its end; mlp is second and flat; lstm is last but its best epoch
    # is its last one, so its full schedule ended before its curve flattened
    timing = {"epochs": 40, "train_time_s": 8.0}
    study.add_trial(_measured("cnn1d", 0.9, Fidelity(), best_epoch=20, **timing))
    study.add_trial(_measured("mlp", 0.8, Fidelity(), best_epoch=25, **timing))
    study.add_trial(_measured("lstm", 0.5, Fidelity(), best_epoch=40, **timing))
    assert promote(study, plan) == [2]
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [
        {"family": "lstm", "epochs": 80}  # twice its epochs, the shared space's highest
    ]
    # the promoted run, still rising at 80 epochs, is not promoted again
    study.add_trial(
        _measured("lstm", 0.7, Fidelity(), best_epoch=80, promoted_from=2,
                  epochs=80, train_time_s=16.0)
    )  # fmt: skip
    assert promote(study, plan) == []


def test_promotion_runs_the_cheapest_first(tmp_path: Path) -> None:
    table = load_table(make_series(n=60, length=24))
    plan = make_plan(profile_table(table), families=("mlp", "cnn1d", "lstm"), timeout_s=60.0)
    study = optuna.create_study(direction="maximize")
    low = Fidelity(epochs=10, epoch_s=1.0, allowance_s=10.0)
    study.add_trial(_measured("cnn1d", 0.9, low, best_epoch=6, epochs=10, train_time_s=30.0))
    study.add_trial(_measured("mlp", 0.8, Fidelity(), best_epoch=39, epochs=40,
                              train_time_s=2.0))  # fmt: skip
    study.add_trial(_measured("lstm", 0.5, low, best_epoch=10, epochs=10, train_time_s=5.0))
    assert sorted(promote(study, plan)) == [0, 1, 2]
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    # expected training: mlp 2 s x 2 (80 epochs), lstm 5 s x 8 (rising when its share ended:
    # 80 epochs), cnn1d 30 s x 4 (its own 40 epochs)
    assert [t.user_attrs["promoted_from"] for t in waiting] == [1, 2, 0]


def test_a_first_trial_whose_share_cannot_pay_one_epoch_is_reported_too_slow(
    tmp_path: Path,
) -> None:
    table = load_table(make_series(n=60, length=24))
    profile = profile_table(table)
    prepared = prepare(table, profile, seed=0)
    plan = make_plan(profile, families=("cnn1d",), n_trials=1, seed=0)
    study = prepare_study(prepared, plan, storage=storage_url(tmp_path, None))
    import time

    tiny = SearchWindow(end=time.time() + 60, first_round_end=time.time(), first_share_s=1e-3)
    study.optimize(make_objective(prepared, plan, [], (), tiny), n_trials=1)
    (trial,) = study.get_trials(deepcopy=False)
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["note"].startswith("too slow for this budget (probed ")
    assert Fidelity.from_dict(trial.user_attrs["fidelity"]).epoch_s > 0


def test_a_budgeted_fit_times_its_phases_and_refits_at_its_trials_pace(
    tmp_path: Path, fast_space: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archselect.core.records as baselines

    monkeypatch.setattr(baselines, "EXPORTABLE_BASELINES", ())  # a network is exported
    data = tmp_path / "s.csv"
    make_series(n=80, length=24).to_csv(data, index=False)
    run = archselect.fit(
        data,
        target="label",
        out=tmp_path / "run",
        # a budget the machine's load cannot eat before both families report: the search
        # ends at its two trials (one per family); the final model is planned in the rest
        timeout=BUDGETED_FIT_S,
        trials=2,
        families=("mlp", "cnn1d"),
        spaces=(fast_space,),
        jobs=1,
    )
    rec = json.loads((run.run_dir / "recommendation.json").read_text())
    phases = rec["phase_seconds"]
    for phase in ("load", "profile", "prepare", "baselines", "search", "final model", "report"):
        assert phase in phases, phase
    assert phases["total"] >= phases["search"] > 0
    assert rec["budget_s"] == BUDGETED_FIT_S
    assert set(rec["first_result_s"]) == {"mlp", "cnn1d"}  # every family measured
    final = rec["final_model"]
    assert final["threads"] == 1  # the trial's threads (one per CPU trial)
    # the refit trains at its trial's pace: compared in CPU seconds per epoch per row, the
    # work itself, which other load on the machine does not stretch as it does wall time
    assert final["trial_cpu_sec_per_epoch_row"] > 0
    assert final["cpu_sec_per_epoch_row"] <= 1.5 * final["trial_cpu_sec_per_epoch_row"]
    assert final["sec_per_epoch_row"] > 0 and final["trial_sec_per_epoch_row"] > 0
    config = json.loads((run.run_dir / "model" / "config.json").read_text())
    assert config["ensemble"] == final["seeds"]
    # the exported model is the tested refit, or its twin on every labelled row when the
    # time left paid for it (then config.json says so, and the note says why not otherwise)
    assert config["trained_on"] == final["trained_on"]
    if final["trained_on"] == "train+validation":
        assert "every labelled row" in (final["note"] or "")
    else:
        assert final["trained_on"] == "train+validation+test" and final["rows"] == 80
