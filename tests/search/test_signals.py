"""Stop signals are a flag acted on at safe points: never raised inside a storage call, at
once inside pure computation, and a fit stopped at any moment exits 130/143 and resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
import weakref
from collections.abc import Iterator
from pathlib import Path

import optuna
import pandas as pd
import pytest

from archselect._common import signals as _signals
from archselect.search import make_storage
from tests.conftest import ROOT, make_series


@pytest.fixture
def handlers() -> Iterator[None]:
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    old_hook = sys.unraisablehook
    _signals.install()
    yield
    for s, h in old.items():
        signal.signal(s, h)
    sys.unraisablehook = old_hook
    _signals.received = None


def test_a_signal_is_recorded_and_raised_at_the_next_safe_point(handlers: None) -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # outside an interruptible block: only recorded
    assert _signals.received == signal.SIGTERM
    with pytest.raises(_signals.Interrupted) as err:
        _signals.check()
    assert err.value.signum == signal.SIGTERM and _signals.exit_code() == 143
    with pytest.raises(_signals.Interrupted):  # and at every later safe point
        _signals.check()


def test_inside_pure_computation_a_signal_raises_at_once(handlers: None) -> None:
    reached = False
    with pytest.raises(_signals.Interrupted), _signals.interruptible():
        os.kill(os.getpid(), signal.SIGINT)
        reached = True
    assert not reached and _signals.exit_code() == 130


def test_a_signal_inside_a_weakref_callback_is_not_reported_there_and_raises_later(
    handlers: None, capfd: pytest.CaptureFixture[str]
) -> None:
    """Python swallows what a weakref (or garbage-collection) callback raises and prints
    "Exception ignored in … Traceback"; the stop is raised at the next safe point instead."""

    class Held:
        pass

    def callback(_ref: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs (and raises) in the callback

    reported: list[object] = []
    sys.unraisablehook = reported.append  # what Python would print (pytest's hook is replaced)
    _signals.install()
    held = Held()
    ref = weakref.ref(held, callback)
    with _signals.interruptible():
        del held  # the callback runs here
    err = capfd.readouterr().err
    assert ref() is None and reported == [] and "Traceback" not in err
    with pytest.raises(_signals.Interrupted):
        _signals.check()


def test_a_signal_during_a_storage_write_never_cuts_it(handlers: None, tmp_path: Path) -> None:
    storage = make_storage(f"sqlite:///{tmp_path / 's.db'}")
    study = optuna.create_study(storage=storage, study_name="s")
    with warnings.catch_warnings():  # ask/tell by hand on archselect's heartbeat storage
        warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used with")
        trial = study.ask()
    original = optuna.storages.RDBStorage.set_trial_user_attr

    def interrupted_write(self: object, *a: object, **k: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # lands inside the storage call
        original(self, *a, **k)  # type: ignore[arg-type]

    try:
        optuna.storages.RDBStorage.set_trial_user_attr = interrupted_write  # type: ignore[method-assign,assignment]
        trial.set_user_attr("note", "written whole")  # no exception inside Optuna
    finally:
        optuna.storages.RDBStorage.set_trial_user_attr = original  # type: ignore[method-assign]
    assert study.trials[0].user_attrs["note"] == "written whole"
    study.tell(trial, 1.0)  # the session is still usable
    assert study.trials[0].state == optuna.trial.TrialState.COMPLETE
    with pytest.raises(_signals.Interrupted):
        _signals.check()


SHARED = """
name = "shared"
[params.lr]
type = "float"
low = 0.003
high = 0.01
log = true
[params.batch_size]
type = "categorical"
choices = [16]
[params.epochs]
type = "int"
low = 2
high = 3
[fixed]
schedule = "constant"
min_steps = 300
min_patience_steps = 4
"""
#: Seconds after the process has installed its handlers at which each run of the fit gets
#: its signal: they spread over the imports, profiling, baselines, trials (training,
#: telling the study), the final model and the report of a fit that takes about 10 s.
MOMENTS = (0.0, 0.7, 1.5, 2.3, 3.1, 3.9, 4.8, 6.0, 7.5, 9.5)
#: The default run's subset: before the handlers' first safe point, during the trials, and
#: late (final model or report); the ten moments run with ``make test-slow``.
DEFAULT_MOMENTS = (0.0, 3.1, 7.5)
PROC_TIMEOUT_S = 240


def _handles(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler installed for ``signum`` (Linux)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signum - 1) & 1)


def _wait_for_handlers(proc: subprocess.Popen[bytes]) -> None:
    """Before its handlers are installed, a process dies of the signal as any program does."""
    deadline = time.monotonic() + PROC_TIMEOUT_S
    while not _handles(proc.pid, signal.SIGTERM) and proc.poll() is None:
        assert time.monotonic() < deadline, "the fit never installed its signal handlers"
        time.sleep(0.02)


@pytest.mark.parametrize(
    "moments",
    [
        pytest.param(DEFAULT_MOMENTS, id="3-moments"),
        pytest.param(MOMENTS, id="10-moments", marks=pytest.mark.slow),
    ],
)
def test_a_fit_stopped_at_any_moment_exits_130_or_143_and_resumes(
    tmp_path: Path, moments: tuple[float, ...]
) -> None:
    data = tmp_path / "s.csv"
    make_series(n=60, length=16).to_csv(data, index=False)
    (tmp_path / "shared.toml").write_text(SHARED)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "archselect", "fit", str(data), "--families", "mlp"]
    cmd += ["--trials", "6", "--space", str(tmp_path / "shared.toml"), "--jobs", "1"]
    cmd += ["--out", str(out), "--quiet", "--no-pruning"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    codes = []
    for i, delay in enumerate(moments):
        signum = (signal.SIGTERM, signal.SIGINT)[i % 2]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _wait_for_handlers(proc)
        time.sleep(delay)
        proc.send_signal(signum)
        out_b, err_b = proc.communicate(timeout=PROC_TIMEOUT_S)
        log = (out_b + err_b).decode(errors="replace")
        codes.append(proc.returncode)
        # finished before the signal (0), or stopped by it: never an error
        assert proc.returncode in (0, 128 + signum), (delay, log)
        assert "Traceback" not in log and "internal error" not in log, (delay, log)
        if (out / "study.db").exists():
            study = optuna.load_study(
                study_name="archselect", storage=f"sqlite:///{out / 'study.db'}"
            )
            states = {t.state.name for t in study.get_trials(deepcopy=False)}
            assert "RUNNING" not in states, (delay, states)
            # a trial the signal stopped is failed with the signal's name, nothing else
            failed = [t for t in study.get_trials(deepcopy=False) if t.state.name == "FAIL"]
            assert all(
                t.user_attrs.get("error", "").startswith("interrupted by SIG") for t in failed
            ), [t.user_attrs.get("error") for t in failed]
        if proc.returncode != 0 and (out / "trials.csv").exists():
            assert (out / "report.html").exists(), delay  # written from what finished
    assert any(c in (130, 143) for c in codes)
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=PROC_TIMEOUT_S)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    frame = pd.read_csv(out / "trials.csv").query("kind == 'trial'")
    assert (frame["state"] == "COMPLETE").sum() == 6  # the budget, resumed to its end


def test_a_trial_stopped_in_every_rerun_is_queued_again_each_time(tmp_path: Path) -> None:
    """A stop is not the trial's fault: unlike a crashed process's trial (retried
    STALE_RETRIES times), a stopped one is queued again however often it was stopped."""
    from archselect.search._loop import _requeue

    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}")
    for _ in range(3):  # three reruns, each stopped during the same slot's trial
        trial = study.ask()
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        _requeue(study, [trial.number])
        waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
        assert len(waiting) == 1, trial.number
