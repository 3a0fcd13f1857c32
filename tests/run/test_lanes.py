"""The controls' two lanes (issue 29): retrainings run in ``fit``'s process and, beside it,
as jobs of the run's job server: the same training on either lane."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from archselect._common.jobs import JobServer
from archselect.core.records import TrialRecord
from archselect.load import load_table
from archselect.plan import make_plan
from archselect.prepare import prepare, save_prepared
from archselect.profile import profile_table
from archselect.run._lanes import RETRAINING_JOB, Lanes
from archselect.run._members import Member, train_on_lanes
from archselect.run._refit import _twin_beside
from archselect.run._retrain import Retraining
from archselect.search import default_params
from archselect.train import torch_threads
from tests.conftest import FAST_SHARED, make_series


@pytest.fixture(scope="module")
def server() -> Iterator[JobServer]:
    with JobServer() as s:
        s.preload([RETRAINING_JOB.partition(":")[0]])
        yield s


class _Counted:
    """The real server, counting the jobs it was handed."""

    def __init__(self, server: JobServer) -> None:
        self.server, self.jobs = server, 0

    def preload(self, names: list[str]) -> None:
        self.server.preload(names)

    def run(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.jobs += 1
        return self.server.run(*args, **kwargs)


def _setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    table = load_table(make_series(n=80, length=24))
    profile = profile_table(table)
    prepared = prepare(table, profile)
    # the suite's shorter minimum-steps rule, as the plan's own: a job's process does not
    # see the test session's patched constants
    space = tmp_path / "fast_shared.toml"
    space.write_text(FAST_SHARED + "[fixed]\nmin_steps = 20\nmin_patience_steps = 10\n")
    plan = make_plan(profile, n_trials=1, families=("cnn1d",), spaces=(space,))
    params = {**default_params(plan, "cnn1d"), "cnn1d.width": 16, "epochs": 3}
    trial = TrialRecord(0, "cnn1d", "COMPLETE", params=params, val_metric=1.0, epochs=3)
    n = len(prepared.x_train)
    perm = tuple(int(p) for p in np.random.default_rng(1).permutation(24))
    jobs = [
        Retraining("cnn1d", tuple(range(n)), trial),
        Retraining("cnn1d", tuple(range(n)), trial, kind="steps", perm=perm),
        Retraining("cnn1d", tuple(range(0, n, 2)), trial, max_epochs=2),
    ]
    return prepared, plan, jobs, save_prepared(prepared, tmp_path / "arrays")


def test_a_retraining_gives_the_same_figures_on_either_lane(
    server: JobServer, tmp_path: Path
) -> None:
    prepared, plan, jobs, folder = _setup(tmp_path)
    with torch_threads(1):  # as fit's process trains
        alone = Lanes().map(prepared, plan, jobs, lambda: None)
        counted = _Counted(server)
        two = Lanes(lambda: counted, folder)  # type: ignore[arg-type,return-value]
        assert two.count == 2
        both = two.map(prepared, plan, jobs, lambda: None)
    assert counted.jobs >= 1  # the job lane trained at least one of them
    assert len(alone) == len(both) == len(jobs)
    for a, b in zip(alone, both, strict=True):
        assert a.epochs == b.epochs
        # the same training; the memory layout of a process's arrays can change the order
        # of floating-point sums (weights 1e-4 apart), so a borderline row may differ
        assert np.mean(a.scores != b.scores) <= 0.1
    # the shuffled twin is another input: its scores are its own
    assert alone[1].epochs >= 1 and alone[2].epochs == 2


def test_a_job_that_fails_is_retrained_in_fits_process(server: JobServer, tmp_path: Path) -> None:
    prepared, plan, jobs, _ = _setup(tmp_path)
    missing = tmp_path / "no-arrays-here"  # the job cannot read the arrays: it fails
    counted = _Counted(server)
    with torch_threads(1):
        found = Lanes(lambda: counted, missing).map(prepared, plan, jobs, lambda: None)  # type: ignore[arg-type,return-value]
        alone = Lanes().map(prepared, plan, jobs[:1], lambda: None)
    assert counted.jobs == 1  # the lane stops after its first failure
    assert len(found) == len(jobs) and all(f.epochs >= 1 for f in found)
    np.testing.assert_array_equal(found[0].scores, alone[0].scores)  # both trained here


def test_without_a_server_every_retraining_runs_here(tmp_path: Path) -> None:
    prepared, plan, jobs, folder = _setup(tmp_path)
    lanes = Lanes(None, folder)
    assert lanes.count == 1
    with torch_threads(1):
        (only,) = lanes.map(prepared, plan, jobs[:1], lambda: None)
    assert only.epochs >= 3 and len(only.scores) == len(prepared.y_val)


def test_a_refit_member_has_the_same_weights_on_either_lane(
    server: JobServer, tmp_path: Path
) -> None:
    prepared, _, jobs, folder = _setup(tmp_path)
    params = {**jobs[0].trial.params, "min_steps": 20, "min_patience_steps": 10}
    members = [Member(7), Member(7, all_rows=True), Member(8)]
    here, _ = train_on_lanes(prepared, params, members, 2, 1, None)
    counted = _Counted(server)
    lanes = Lanes(lambda: counted, folder)  # type: ignore[arg-type,return-value]
    both, used = train_on_lanes(prepared, params, members, 2, 1, lanes)
    assert counted.jobs >= 1 and used == 1
    x_val = torch.from_numpy(np.ascontiguousarray(prepared.x_val))
    for a, b in zip(here, both, strict=True):
        # the same training: the weights agree up to the order of floating-point sums, which
        # a process's memory layout can change (1e-4 apart after 2 epochs), and so do the
        # networks' answers
        for (name, wa), (_, wb) in zip(
            a.net.state_dict().items(), b.net.state_dict().items(), strict=True
        ):
            torch.testing.assert_close(wa, wb, atol=5e-2, rtol=5e-2, msg=name)
        with torch.no_grad():
            same = a.net(x_val).argmax(1) == b.net(x_val).argmax(1)
        assert same.float().mean() >= 0.9
    # the all-rows member saw other rows than its train + validation twin
    first = next(iter(here[0].net.state_dict().values()))
    assert not torch.equal(first, next(iter(here[1].net.state_dict().values())))
    assert not any(folder.parent.glob("members-*"))  # the weights' files are removed


def test_the_all_rows_twin_trains_beside_the_tested_refit_only_when_both_fit(
    tmp_path: Path,
) -> None:
    prepared, *_ = _setup(tmp_path)
    two = Lanes(lambda: None, tmp_path)  # type: ignore[arg-type,return-value]
    assert not _twin_beside(prepared, 1.0, 10, None, None)  # one lane
    assert not _twin_beside(prepared, 1.0, 10, None, Lanes())
    assert _twin_beside(prepared, 1.0, 10, None, two)  # no budget
    # 10 epochs of 1 s, then the twin on ~1.25x the rows, on two lanes: ~11 s
    assert _twin_beside(prepared, 1.0, 10, 12.0, two)
    assert not _twin_beside(prepared, 1.0, 10, 9.0, two)
    assert not _twin_beside(prepared, None, 10, 60.0, two)  # no measured pace
