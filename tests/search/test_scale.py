"""Execution at scale: many worker processes on one study (SQLite, PostgreSQL, MariaDB),
crashes, signals and resume. Every test runs real processes on real databases.

Trials are made fast with a shared space whose ``[fixed]`` table lowers the minimum
number of training steps (monkeypatching does not cross process boundaries).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pandas as pd
import pytest

from archselect import ArchSelectError
from tests.conftest import ROOT, make_series

#: Heartbeat and grace (seconds) used by every process of these tests.
HEARTBEAT_S, GRACE_S = "1", "3"
PASSWORD = "Secr3t-Pw_42"
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
MYSQL_ADMIN = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
#: Seconds any one process of these tests may take.
PROC_TIMEOUT_S = 400

FAST_SHARED_FIXED = """
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
min_steps = 6
min_patience_steps = 4
"""

#: Training steps of a trial in the signal test (about a second on 2 cores).
SLOW_MIN_STEPS = 1500
#: Trial budget of the signal test: the signal lands inside a trial after at least two
#: finished ones, and the rerun runs the interrupted trial again and whatever is left.
SIGNAL_TRIALS = 4

TINY_MLP = """
name = "mlp"
layouts = ["image", "series", "table"]
[params.layers]
type = "int"
low = 1
high = 2
[params.width]
type = "categorical"
choices = [8, 16]
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small series CSV and the space files that make one trial take well under a second."""
    d = tmp_path_factory.mktemp("scale")
    make_series(n=60, length=16).to_csv(d / "tiny.csv", index=False)
    (d / "shared.toml").write_text(FAST_SHARED_FIXED)
    (d / "mlp.toml").write_text(TINY_MLP)
    return {"csv": d / "tiny.csv", "shared": d / "shared.toml", "mlp": d / "mlp.toml"}


def _fit_args(tiny: dict[str, Path], trials: int, *extra: str) -> list[str]:
    return [
        "fit",
        str(tiny["csv"]),
        "--families",
        "mlp",
        "--trials",
        str(trials),
        "--space",
        str(tiny["shared"]),
        "--space",
        str(tiny["mlp"]),
        "--quiet",
        *extra,
    ]


def _env(storage: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("ARCHSELECT_STORAGE", None)
    env.update(
        ARCHSELECT_HEARTBEAT_S=HEARTBEAT_S,
        ARCHSELECT_GRACE_S=GRACE_S,
        PYTHONPATH=str(ROOT),
        OMP_NUM_THREADS="1",
    )
    if storage is not None:
        env["ARCHSELECT_STORAGE"] = storage
    return env


def _start(args: list[str], storage: str | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "archselect", *args],
        cwd=ROOT,
        env=_env(storage),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=PROC_TIMEOUT_S)
    return proc.returncode, out + err


@functools.cache
def _storage(url: str) -> optuna.storages.BaseStorage:
    from archselect.search import make_storage

    return make_storage(url)


def _study(url: str, name: str = "archselect") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=_storage(url))


def _wait_for(predicate, what: str, timeout: float = PROC_TIMEOUT_S):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (KeyError, optuna.exceptions.StorageInternalError, ArchSelectError):
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _run_states(out: Path) -> dict[str, int]:
    """Trial states of the run in ``out`` (empty before fit has created its study.db)."""
    if not (out / "study.db").exists():
        return {}
    return _states(_study(f"sqlite:///{(out / 'study.db').resolve()}"))


def _states(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts


# --- the real databases ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (dropped afterwards); a password in the
    URL (trust authentication ignores it) checks that it never leaks."""
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"archselect_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(**PG_ADMIN, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg2://postgres:{PASSWORD}@127.0.0.1:5432/{name}"
    from sqlalchemy.orm import close_all_sessions

    close_all_sessions()
    cur = admin.cursor()
    cur.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
    )
    cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture(scope="module")
def mysql_url() -> Iterator[str]:
    """A fresh MariaDB database for this test run (dropped afterwards)."""
    pymysql = pytest.importorskip("pymysql")
    name = f"archselect_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = pymysql.connect(**MYSQL_ADMIN, autocommit=True, connect_timeout=5)
    except pymysql.err.OperationalError as exc:
        pytest.fail(f"MariaDB at 127.0.0.1:3306 is not reachable: {exc}")
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    yield f"mysql+pymysql://root@127.0.0.1:3306/{name}"
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    admin.close()


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.slow  # `make test-slow`; PostgreSQL storage stays in the default run (test_security)
@pytest.mark.db
def test_three_local_worker_processes_on_postgresql_run_exactly_the_budget(
    tiny: dict[str, Path], pg_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = _fit_args(tiny, 30, "--out", str(out), "--study", "three", "--jobs", "3")
    rc, log = _finish(_start(args, pg_url))
    assert rc == 0, log
    study = _study(pg_url, "three")
    trials = study.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers)) == 30
    assert _states(study) == {"COMPLETE": 30}, _states(study)
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 3, workers  # three processes shared the trials
    frame = pd.read_csv(out / "trials.csv")
    assert (frame["kind"] == "trial").sum() == 30
    assert "locked" not in log and "Traceback" not in log
    _assert_no_password(out, log)


@pytest.mark.slow
@pytest.mark.db
def test_fit_and_two_workers_on_mariadb_run_exactly_the_budget(
    tiny: dict[str, Path], mysql_url: str, tmp_path: Path
) -> None:
    fit = _start(_fit_args(tiny, 30, "--out", str(tmp_path / "run"), "--jobs", "1"), mysql_url)
    _wait_for(lambda: "archselect.recipe" in _study(mysql_url).user_attrs, "the study")
    workers = [_start(["worker", "--quiet", "--index", str(i)], mysql_url) for i in (1, 2)]
    for w in workers:
        rc, log = _finish(w)
        assert rc == 0, log
    rc, log = _finish(fit)
    assert rc == 0, log
    study = _study(mysql_url)
    numbers = [t.number for t in study.get_trials(deepcopy=False)]
    assert sorted(numbers) == list(range(30))
    assert _states(study) == {"COMPLETE": 30}
    assert len({t.user_attrs["worker"] for t in study.get_trials(deepcopy=False)}) == 3


@pytest.mark.slow
@pytest.mark.db
def test_sigkilled_worker_loses_only_its_trial_which_is_retried(
    tiny: dict[str, Path], pg_url: str, tmp_path: Path
) -> None:
    name = "killed"
    args = _fit_args(tiny, 24, "--out", str(tmp_path / "run"), "--study", name, "--jobs", "3")
    fit = _start(args, pg_url)

    def a_running_trial() -> optuna.trial.FrozenTrial | None:
        assert fit.poll() is None, _finish(fit)[1]
        return next(
            (
                t
                for t in _study(pg_url, name).get_trials(deepcopy=False)
                # training, not still drawing its parameters (all drawn, the last is lr), in
                # a worker process (the fit process trains too, once its references are done)
                if t.state.name == "RUNNING"
                and "lr" in t.params
                and not t.user_attrs.get("worker", f":{fit.pid}").endswith(f":{fit.pid}")
            ),
            None,
        )

    def still_running(number: int) -> bool:
        trials = _study(pg_url, name).get_trials(deepcopy=False)
        return next(t for t in trials if t.number == number).state.name == "RUNNING"

    # the tiny trials take about a second: freeze the worker, and kill it only if the trial
    # it was seen training has not finished in between (else thaw it and pick another)
    while True:
        killed = _wait_for(a_running_trial, "a running trial")
        victim_pid = int(killed.user_attrs["worker"].rsplit(":", 1)[1])
        assert victim_pid != fit.pid  # a worker process, not the fit that started it
        os.kill(victim_pid, signal.SIGSTOP)
        if still_running(killed.number):
            break
        os.kill(victim_pid, signal.SIGCONT)
    os.kill(victim_pid, signal.SIGKILL)
    rc, log = _finish(fit)
    assert rc == 0, log
    assert "exited with code -9" in log
    study = _study(pg_url, name)
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    assert trials[killed.number].state.name == "FAIL"
    retries = [t for t in trials.values() if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    assert retries[0].params == trials[killed.number].params  # the same configuration
    assert _states(study) == {"COMPLETE": 24, "FAIL": 1}
    assert not any(t.user_attrs.get("worker", "").endswith(f":{victim_pid}") for t in retries)


@pytest.mark.slow
def test_sigkilled_fit_resumes_with_every_finished_trial(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = _fit_args(tiny, 10, "--out", str(out), "--jobs", "1")
    url = f"sqlite:///{(out / 'study.db').resolve()}"
    fit = _start(args)

    def some_done_one_running() -> bool:
        states = _run_states(out)
        return states.get("COMPLETE", 0) >= 3 and states.get("RUNNING", 0) == 1

    _wait_for(some_done_one_running, "three finished trials")
    fit.kill()
    fit.wait()
    before = {
        t.number: t.value
        for t in _study(url).get_trials(deepcopy=False)
        if t.state.name == "COMPLETE"
    }
    rc, log = _finish(_start(args))
    assert rc == 0, log
    study = _study(url)
    after = {t.number: t.value for t in study.get_trials(deepcopy=False)}
    assert all(after[n] == v for n, v in before.items())  # nothing finished was lost
    assert _states(study) == {"COMPLETE": 10, "FAIL": 1}  # the killed trial, retried
    # the recommended model is exported whatever its kind (a reference can win on tiny data)
    kind = json.loads((out / "recommendation.json").read_text())["kind"]
    assert (out / "report.html").exists() and (out / "model" / "config.json").exists(), kind
    if kind in ("family", "baseline"):
        exported = "baseline.skops" if kind == "baseline" else "weights.pt"
        assert (out / "model" / exported).exists(), kind


# `make test-slow`: five processes on 2 cores (75 s). The default run covers worker processes
# sharing the SQLite study through test_reproducible's `--jobs 2` fit (same trials as
# `--jobs 1`, resumed) and the trial-count contract through the PostgreSQL tests.
@pytest.mark.slow
def test_four_local_processes_share_the_default_sqlite_storage(
    tiny: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    rc, log = _finish(_start(_fit_args(tiny, 24, "--out", str(out), "--jobs", "4")))
    assert rc == 0, log
    assert "locked" not in log and "Traceback" not in log
    study = _study(f"sqlite:///{(out / 'study.db').resolve()}")
    assert _states(study) == {"COMPLETE": 24}
    assert sorted(t.number for t in study.get_trials(deepcopy=False)) == list(range(24))
    # the processes shared the study; how many of the four got a trial is a race: a worker
    # whose imports end after the others have taken all 24 tiny trials has none to run
    # (3 of 4 in one `make test-slow` run)
    assert len({t.user_attrs["worker"] for t in study.get_trials(deepcopy=False)}) >= 2
    assert len(pd.read_csv(out / "trials.csv").query("kind == 'trial'")) == 24


@pytest.mark.parametrize(
    ("signum", "code"),
    # both with `make test-slow`; the default run stops fits at three moments in
    # tests/search/test_signals.py, with the same checks on the stopped trial and the rerun
    [
        pytest.param(signal.SIGTERM, 143, marks=pytest.mark.slow),
        pytest.param(signal.SIGINT, 130, marks=pytest.mark.slow),
    ],
)
def test_signal_stops_gracefully_and_rerun_resumes(
    tiny: dict[str, Path], tmp_path: Path, signum: int, code: int
) -> None:
    out = tmp_path / "run"
    # trials of about a second, so the signal lands inside one, not in the gap between two
    slow = tmp_path / "shared.toml"
    slow.write_text(FAST_SHARED_FIXED.replace("min_steps = 6", f"min_steps = {SLOW_MIN_STEPS}"))
    args = _fit_args({**tiny, "shared": slow}, SIGNAL_TRIALS, "--out", str(out), "--jobs", "1")
    args.append("--no-pruning")  # long trials would otherwise be pruned on the rerun
    url = f"sqlite:///{(out / 'study.db').resolve()}"
    fit = _start(args)

    def running() -> bool:
        states = _run_states(out)
        return states.get("COMPLETE", 0) >= 2 and states.get("RUNNING", 0) == 1

    _wait_for(running, "a running trial")
    fit.send_signal(signum)
    rc, log = _finish(fit)
    assert rc == code, log
    assert "Traceback" not in log
    study = _study(url)
    failed = [t for t in study.get_trials(deepcopy=False) if t.state.name == "FAIL"]
    assert len(failed) == 1
    assert failed[0].user_attrs["error"] == f"interrupted by {signal.Signals(signum).name}"
    assert "RUNNING" not in _states(study)
    frame = pd.read_csv(out / "trials.csv")  # written from the finished trials
    done = frame.query("kind == 'trial' and state == 'COMPLETE'")
    assert len(done) == _states(study)["COMPLETE"] >= 2
    assert (out / "report.html").exists()
    rc, log = _finish(_start(args))
    assert rc == 0, log
    states = _states(_study(url))
    assert states == {"COMPLETE": SIGNAL_TRIALS, "FAIL": 1}  # the interrupted trial ran again


def test_worker_refuses_data_with_another_hash(tiny: dict[str, Path], tmp_path: Path) -> None:
    # in-process (click's runner): nothing here is about processes, and each new process
    # spends seconds of CPU importing torch and Lightning
    from click.testing import CliRunner

    from archselect.cli import cli

    out = tmp_path / "run"
    env: dict[str, str | None] = {"ARCHSELECT_STORAGE": None}  # the default SQLite
    env.update((k, v) for k, v in _env().items() if k.startswith("ARCHSELECT_"))
    res = CliRunner().invoke(cli, _fit_args(tiny, 2, "--out", str(out)), env=env)
    assert res.exit_code == 0, res.output
    url = f"sqlite:///{(out / 'study.db').resolve()}"
    recipe = _study(url).user_attrs["archselect.recipe"]
    assert recipe["data_path"] == str(tiny["csv"].resolve())
    assert len(recipe["data_sha256"]) == 64
    assert recipe["plan"]["families"][0]["name"] == "mlp"
    stored = json.loads((out / "profile.json").read_text())
    assert {k: stored[k] for k in recipe["profile"]} == recipe["profile"]
    changed = tmp_path / "changed.csv"
    changed.write_text(tiny["csv"].read_text().replace("fast", "quick", 1))
    env["ARCHSELECT_STORAGE"] = url
    res = CliRunner().invoke(cli, ["worker", "--data", str(changed)], env=env)
    assert res.exit_code == 2, res.output
    assert "sha256" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["worker", "--study", "nope"], env=env)
    assert res.exit_code == 2 and "holds no study 'nope'" in res.output


@pytest.mark.db
def test_passwords_never_leak(pg_url: str) -> None:
    from click.testing import CliRunner

    from archselect._common.secrets import redact, remember_url
    from archselect.cli import cli

    bad = pg_url.rsplit("/", 1)[0] + "/no_such_database_here"
    res = CliRunner().invoke(cli, ["worker", "--storage", bad])
    assert res.exit_code == 2, res.output
    assert "no_such_database_here" in res.output and PASSWORD not in res.output
    port_typo = pg_url.replace(":5432", ":54x2")
    res = CliRunner().invoke(cli, ["worker", "--storage", port_typo])
    assert res.exit_code == 2 and PASSWORD not in res.output
    # a driver or SQLAlchemy message that quotes the URL, raw or URL-encoded
    remember_url("postgresql://me:p%40ss-word@db/x")
    text = "(psycopg2.OperationalError) for postgresql://me:p%40ss-word@db/x: bad p@ss-word"
    assert "p@ss-word" not in redact(text) and "p%40ss-word" not in redact(text)


def _assert_no_password(run_dir: Path, log: str) -> None:
    assert PASSWORD not in log
    for path in run_dir.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".csv", ".html"):
            assert PASSWORD not in path.read_text(encoding="utf-8"), path
    plan = json.loads((run_dir / "plan.json").read_text())
    assert plan["run"]["storage"].count("***") == 1


def test_max_failures_stops_a_search_that_only_fails(
    tiny: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from archselect.cli import cli
    from archselect.models import register_model, unregister_model

    def build(input_shape: tuple[int, ...], n_outputs: int, *, unit: int = 1) -> object:
        raise ValueError("this family never builds")

    register_model("never_builds", layouts=("series",))(build)
    try:
        space = tmp_path / "never_builds.toml"
        space.write_text(
            'name = "never_builds"\nlayouts = ["series"]\n'
            '[params.unit]\ntype = "categorical"\nchoices = [1]\n'
        )
        out = tmp_path / "run"
        args = _fit_args(tiny, 12, "--out", str(out), "--jobs", "1", "--max-failures", "3")
        args[args.index("mlp")] = "never_builds"
        args += ["--space", str(space)]
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 0, res.output  # the best reference is exported
        frame = pd.read_csv(out / "trials.csv").query("kind == 'trial'")
        assert list(frame["state"]) == ["FAIL"] * 3
        assert frame["error"].str.startswith("ValueError:").all()
    finally:
        unregister_model("never_builds")
