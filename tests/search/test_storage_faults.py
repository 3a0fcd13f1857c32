"""The study storage under faults (issue 33): a trial claimed by a process that died before
its first heartbeat, a heartbeat whose write fails, a database that cannot grow."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from click.testing import CliRunner

from archselect.cli import cli
from archselect.search import _storage
from archselect.search._storage import make_storage

ROOT = Path(__file__).resolve().parents[2]
#: Seconds a subprocess of these tests may take (a fit that fails early: imports, profile).
PROC_TIMEOUT_S = 180
#: A fit's trials in a subprocess: two epochs of a few steps (the test rules of conftest do
#: not reach another process).
SPACE = """
name = "shared"
[params.lr]
type = "categorical"
choices = [0.01]
[params.batch_size]
type = "categorical"
choices = [32]
[params.epochs]
type = "categorical"
choices = [2]
[fixed]
schedule = "constant"
min_steps = 20
min_patience_steps = 2
"""


def _data(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80).round(3), "b": rng.normal(size=80).round(3)})
    frame["label"] = np.where(frame["a"] > 0, "yes", "no")
    frame.to_csv(folder / "d.csv", index=False)
    (folder / "space.toml").write_text(SPACE)
    return folder / "d.csv", folder / "space.toml"


def _fit_args(data: Path, space: Path, out: Path) -> list[str]:
    return ["fit", str(data), "--trials", "2", "--families", "mlp", "--space", str(space),
            "--out", str(out), "--quiet"]  # fmt: skip


def _states(out: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(f"file:{out / 'study.db'}?mode=ro", uri=True) as con:
        return con.execute("SELECT number, state FROM trials ORDER BY number").fetchall()


def test_a_trial_left_running_without_a_heartbeat_is_failed_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies right after claiming trial 0, before its first heartbeat (as a kill
    -9 or an out-of-memory kill there would): no heartbeat row, so Optuna never found the
    trial stale and every rerun waited for it for ever, printing nothing."""
    data, space = _data(tmp_path)
    out = tmp_path / "run"
    code = (
        "import os, sys\n"
        "from archselect.search import _storage\n"
        "_storage._SlotStorage.record_heartbeat = lambda self, trial_id: os._exit(9)\n"
        "from archselect.cli import cli\n"
        "cli(sys.argv[1:], prog_name='archselect')\n"
    )
    died = subprocess.run(
        [sys.executable, "-c", code, *_fit_args(data, space, out)],
        capture_output=True,
        text=True,
        timeout=PROC_TIMEOUT_S,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert died.returncode == 9, died.stderr
    assert _states(out) == [(0, "RUNNING"), (1, "WAITING")]
    monkeypatch.setenv("ARCHSELECT_HEARTBEAT_S", "1")
    monkeypatch.setenv("ARCHSELECT_GRACE_S", "2")
    rerun = CliRunner().invoke(cli, _fit_args(data, space, out))
    assert rerun.exit_code == 0, rerun.output
    states = dict(_states(out))
    assert states[0] == "FAIL"  # failed once stale, and retried as a new trial
    assert list(states.values()).count("COMPLETE") == 2


def test_a_running_trial_without_heartbeat_is_stale_after_the_grace_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHSELECT_HEARTBEAT_S", "1")
    monkeypatch.setenv("ARCHSELECT_GRACE_S", "5")
    storage = make_storage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage, study_name="s")
    trial_id = storage.create_new_trial(study._study_id)
    storage.set_trial_state_values(trial_id, optuna.trial.TrialState.RUNNING)
    clock = [1000.0]
    monkeypatch.setattr(_storage.time, "monotonic", lambda: clock[0])
    assert storage._get_stale_trial_ids(study._study_id) == []  # first seen now
    clock[0] += 5
    assert storage._get_stale_trial_ids(study._study_id) == []  # within the grace period
    clock[0] += 1
    assert storage._get_stale_trial_ids(study._study_id) == [trial_id]
    storage.record_heartbeat(trial_id)  # a live trial beats: Optuna's own rule applies
    assert storage._get_stale_trial_ids(study._study_id) == []


def test_a_heartbeat_that_cannot_be_written_does_not_kill_its_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Optuna's heartbeat thread died on a write error with a 50-line traceback on stderr
    (whatever --debug said), and wrote no heartbeat again."""
    storage = make_storage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage, study_name="s")
    trial_id = storage.create_new_trial(study._study_id)
    full = sqlite3.OperationalError("database or disk is full")

    def fail(self: object, trial_id: int) -> None:
        raise full

    monkeypatch.setattr(optuna.storages.RDBStorage, "record_heartbeat", fail)
    storage.record_heartbeat(trial_id)
    assert storage.heartbeat_error is full


def test_a_study_database_that_cannot_grow_is_named_as_a_full_disk(tmp_path: Path) -> None:
    """SQLite's "database or disk is full" reached the user as "internal error:
    StorageInternalError" or Optuna's "AssertionError: Should not reach.". Here a page
    limit (28 pages, where this run needs 32: it fails once the trials are queued) gives the
    SQLITE_FULL a full disk gives, deterministically."""
    data, space = _data(tmp_path)
    out = tmp_path / "run"
    code = (
        "import sys\n"
        "from archselect.search import _storage\n"
        "init = _storage._ImmediateSqlite.__init__\n"
        "def small(self, *args, **kwargs):\n"
        "    init(self, *args, **kwargs)\n"
        "    self.execute('PRAGMA max_page_count = 28')\n"
        "_storage._ImmediateSqlite.__init__ = small\n"
        "from archselect.cli import cli\n"
        "cli(sys.argv[1:], prog_name='archselect')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *_fit_args(data, space, out)],
        capture_output=True,
        text=True,
        timeout=PROC_TIMEOUT_S,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: writing {out} failed: the disk ran out of space"), lines
    assert "rerun the same command (finished trials are kept)." in lines[0]
