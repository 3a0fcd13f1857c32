"""Write faults named for what they are (issue 33, rows 5 to 7): a file-size limit
(``ulimit -f``: ``RLIMIT_FSIZE`` in a subprocess) or a full disk (a small tmpfs, where this
process may mount one) end in exit 2 and one sentence naming the file, never "internal
error", a traceback or a temporary file left behind; rerun without the fault, the same
command finishes."""

from __future__ import annotations

import errno
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from archselect._common.faults import describe_write_fault, find_write_fault, write_atomic
from archselect.cli import cli

ROOT = Path(__file__).resolve().parents[2]
PROC_TIMEOUT_S = 180
KIB = 1024
#: A file-size limit well below what a fit writes (its study.db WAL and report.html grow past
#: 500 KiB): the fit fails somewhere, at a point that varies from run to run (the profile,
#: the study's tables, a trial, the report); each such point must read the same.
FIT_LIMIT_KIB = 256
#: Below report.html's size (about 0.7 MB: plotly is inlined).
REPORT_LIMIT_KIB = 100
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


# --- the pieces ------------------------------------------------------------------------------


def test_an_atomic_write_that_fails_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old")

    def full(tmp: Path) -> None:
        tmp.write_text("half of it")
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    with pytest.raises(OSError, match="No space left on device") as caught:
        write_atomic(path, full)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(path)  # the file meant, not the temporary one
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def _wrapped(inner: BaseException) -> AssertionError:
    """Optuna's shape: the storage error raised while handling the sqlite3 one, then
    ``AssertionError("Should not reach.")`` raised while handling that."""

    class StorageInternalError(Exception):
        pass

    try:
        try:
            raise inner
        except BaseException as exc:
            raise StorageInternalError("invalid data in the commit") from exc
    except StorageInternalError:
        try:
            raise AssertionError("Should not reach.")
        except AssertionError as exc:
            return exc


class OperationalError(Exception):
    """Named as sqlite3's and SQLAlchemy's are (matched by name: both exist)."""


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/r/a.json"), "full"),
        (OSError(errno.EDQUOT, "Disk quota exceeded", "/r/a.json"), "full"),
        (OSError(errno.EFBIG, "File too large", "/r/a.json"), "limit"),
        (OperationalError("database or disk is full"), "full"),
    ],
)
def test_a_fault_is_found_deep_in_the_chain(error: BaseException, kind: str) -> None:
    found = find_write_fault(_wrapped(error))
    assert found is not None and found[0] == kind


def test_other_errors_are_not_faults() -> None:
    assert find_write_fault(_wrapped(OSError(errno.EACCES, "Permission denied", "/r"))) is None
    assert find_write_fault(_wrapped(ValueError("nan"))) is None
    assert describe_write_fault(ValueError("x"), "/r", advice="") is None


# --- through the command line ---------------------------------------------------------------


def _limited(kib: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (kib * KIB, kib * KIB))


def _archselect(args: list[str], limit_kib: int | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archselect", *args],
        capture_output=True,
        text=True,
        timeout=PROC_TIMEOUT_S,
        preexec_fn=None if limit_kib is None else lambda: _limited(limit_kib),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr  # no traceback (the heartbeat thread's neither)
    assert lines[0].startswith("error: writing "), lines
    assert "internal error" not in stderr and "Traceback" not in stderr
    return lines[0]


def test_report_past_a_file_size_limit_leaves_the_old_report(
    digits_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(digits_run, run)
    before = (run / "report.html").read_bytes()
    done = _archselect(["report", str(run)], REPORT_LIMIT_KIB)
    assert done.returncode == 2, done.stderr
    line = _one_error_line(done.stderr)
    assert f"writing {run / 'report.html'} failed: a file reached" in line
    assert f"file-size limit (ulimit -f, {REPORT_LIMIT_KIB} KiB)" in line
    assert (run / "report.html").read_bytes() == before
    assert not list(run.rglob("*.tmp"))


def _small_table(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80).round(3), "b": rng.normal(size=80).round(3)})
    frame["label"] = np.where(frame["a"] > 0, "yes", "no")
    frame.to_csv(folder / "d.csv", index=False)
    (folder / "space.toml").write_text(SPACE)
    return folder / "d.csv", folder / "space.toml"


def _fit_args(data: Path, space: Path, out: Path) -> list[str]:
    return ["fit", str(data), "--trials", "2", "--families", "mlp", "--space", str(space),
            "--out", str(out), "--quiet"]  # fmt: skip


def test_a_fit_past_a_file_size_limit_is_named_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 1 "AssertionError: Should not reach." or "StorageInternalError" (and a 50-line
    traceback of the heartbeat thread), depending on where the limit struck; the trial it
    left RUNNING, sometimes with no heartbeat at all, made every rerun wait for ever."""
    data, space = _small_table(tmp_path)
    out = tmp_path / "run"
    done = _archselect(_fit_args(data, space, out), FIT_LIMIT_KIB)
    assert done.returncode == 2, done.stderr
    line = _one_error_line(done.stderr)
    assert f"file-size limit (ulimit -f, {FIT_LIMIT_KIB} KiB); raise the limit" in line
    assert line.endswith("rerun the same command (finished trials are kept).")
    assert not list(out.rglob("*.tmp"))
    monkeypatch.setenv("ARCHSELECT_HEARTBEAT_S", "1")
    monkeypatch.setenv("ARCHSELECT_GRACE_S", "2")
    rerun = CliRunner().invoke(cli, _fit_args(data, space, out))
    assert rerun.exit_code == 0, rerun.output
    assert (out / "model" / "config.json").exists()


# --- a full disk: a small tmpfs, where this process may mount one -----------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 600 KiB tmpfs (skipped where mounting is not allowed); unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip("this process may not mount a tmpfs")
    try:
        yield mount
    finally:
        # lazily: a study the test process opened may still hold a file there
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow  # two fits; tests/search/test_storage_faults.py fills the database quicker
def test_a_fit_on_a_full_disk_is_named_and_resumes_once_space_is_freed(
    small_disk: Path, tmp_path: Path
) -> None:
    data, space = _small_table(tmp_path)
    out = small_disk / "run"
    done = _archselect(_fit_args(data, space, out), None)  # in a subprocess: nothing stays
    assert done.returncode == 2, done.stderr  # open on the small disk in this process
    line = _one_error_line(done.stderr)
    assert f"writing {out}" in line and "the disk ran out of space" in line
    assert "free some space or choose another --out" in line
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_disk)], check=True)
    rerun = _archselect(_fit_args(data, space, out), None)
    assert rerun.returncode == 0, rerun.stderr
    assert not list(out.rglob("*.tmp"))
