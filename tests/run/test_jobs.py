"""Killable jobs (the reference models' processes) and the final model's own-weights rule."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from archselect._common.budget import Clock
from archselect._common.jobs import JobServer
from archselect.core.records import TrialRecord
from archselect.load import load_table
from archselect.prepare import load_prepared, prepare, save_prepared
from archselect.profile import profile_table
from archselect.run._pool import WEIGHTS
from archselect.run._refit import _own_weights_instead
from archselect.rundir import WORK
from archselect.search import weights_file
from tests.conftest import make_series


def test_a_job_is_stopped_at_its_deadline_and_at_its_memory_cap() -> None:
    """Whatever the job does, its process is killed at the deadline or once its resident
    memory passes the cap; the server goes on with the next job."""
    with JobServer(["tests.run.job_helpers"]) as server:
        assert server.run("operator:add", (2, 3), timeout_s=60.0).value == 5
        start = time.monotonic()
        late = server.run("time:sleep", (30,), timeout_s=1.0)
        assert late.stopped == "deadline" and time.monotonic() - start < 10
        big = server.run("tests.run.job_helpers:hold", (400, 30), timeout_s=60.0, memory_mb=200)
        assert big.stopped == "memory" and big.peak_mb > 200
        failed = server.run("operator:truediv", (1, 0), timeout_s=60.0)
        assert failed.error is not None and failed.error.startswith("ZeroDivisionError")
        assert server.run("operator:mul", (6, 7), timeout_s=60.0).value == 42


def test_prepared_arrays_are_written_once_and_memory_mapped(tmp_path: Path) -> None:
    table = load_table(make_series(n=40, length=24))
    prepared = prepare(table, profile_table(table, target="label"))
    back = load_prepared(save_prepared(prepared, tmp_path / "arrays"))
    assert isinstance(back.x_train, np.memmap) and not back.x_train.flags.writeable
    assert np.array_equal(back.x_test, prepared.x_test)
    assert back.preprocessing == prepared.preprocessing and back.split == prepared.split


def test_the_final_model_is_the_trials_own_network_when_a_refit_costs_too_much(
    tmp_path: Path,
) -> None:
    table = load_table(make_series(n=60, length=24))
    prepared = prepare(table, profile_table(table, target="label"))
    slow = TrialRecord(0, "mlp", "COMPLETE", sec_per_epoch_row=0.5, best_epoch=20, epochs=20)
    clock = Clock(100.0)
    # no saved weights: a refit, however long
    assert _own_weights_instead(tmp_path, prepared, slow, clock) is None
    folder = tmp_path / WORK / WEIGHTS
    folder.mkdir(parents=True)
    torch.save({}, weights_file(folder, 0))
    note = _own_weights_instead(tmp_path, prepared, slow, clock)
    assert note is not None and note.startswith("the best trial's own weights")
    fast = TrialRecord(0, "mlp", "COMPLETE", sec_per_epoch_row=1e-6, best_epoch=20, epochs=20)
    assert _own_weights_instead(tmp_path, prepared, fast, clock) is None  # a refit is cheap
    assert _own_weights_instead(tmp_path, prepared, slow, Clock(None)) is None  # no budget


def test_an_ensemble_member_without_time_for_its_refit_is_its_trials_own_network(
    tmp_path: Path,
) -> None:
    """Each member of an exported ensemble is refitted within its share of the time left,
    or, when that cannot pay for its epochs, is the trial's own network (once, 8 members of
    one epoch each on 51,200 rows took 175 s of a 3-minute budget)."""
    from archselect.plan import make_plan
    from archselect.run._refit import refit_or_own
    from archselect.search import build_network, default_params, split_params

    table = load_table(make_series(n=60, length=24))
    profile = profile_table(table, target="label")
    prepared = prepare(table, profile)
    plan = make_plan(profile, families=("mlp",), n_trials=1)
    params = default_params(plan, "mlp")
    family, model_params, _ = split_params(params)
    net = build_network(prepared.preprocessing, family, model_params, seed=3)
    folder = tmp_path / WORK / WEIGHTS
    folder.mkdir(parents=True)
    torch.save(net.state_dict(), weights_file(folder, 7))
    trial = TrialRecord(
        7, "mlp", "COMPLETE", params=params, test_metric=0.5, sec_per_epoch_row=1.0, epochs=4
    )
    rec = type("Rec", (), {"params": params})()
    own, test, final = refit_or_own(tmp_path, prepared, rec, trial, 0, time_left=1.0)
    assert test == 0.5 and final.trained_on == "train" and final.train_time_s == 0.0
    assert (final.note or "").startswith("the trial's own weights")
    for a, b in zip(own.state_dict().values(), net.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("k", [2, 3])
def test_resolution_arrays_match_the_resampled_preprocessing(k: int) -> None:
    from archselect.search import at_resolution

    table = load_table(make_series(n=40, length=25))
    prepared = prepare(table, profile_table(table, target="label"))
    shorter = at_resolution(prepared, k)
    assert shorter.x_train.shape[1:] == shorter.preprocessing.input_shape
    assert shorter.preprocessing.input_shape[0] == -(-25 // k)
    assert at_resolution(prepared, k) is shorter  # kept for the next trial
    assert at_resolution(prepared, 1) is prepared
