"""Killable jobs: a function run in a child process that is stopped at its deadline or at
its memory cap, whatever it is doing.

Not a stage, and free of torch and Optuna. A reference model (scikit-learn, aeon's
MiniRocket) cannot be interrupted from inside once its solver has started: on 64,000 rows
MiniRocket's ridge head ran past 19 minutes and 13 GB of a 3-minute budget. Each such fit
runs here instead, in a process forked from a :class:`JobServer` — a small interpreter
started early (beside the caller's own work) that imports the jobs' modules once, with one
BLAS/OpenMP/numba thread, and forks one child per job — and the caller kills the child at
its deadline or when its resident memory passes the cap.

The server is a plain subprocess, not :mod:`multiprocessing`'s forkserver: that one
re-runs the caller's ``__main__`` script in every child, which an unguarded user script
calling :func:`archselect.fit` cannot survive.

Jobs and their results travel as JSON (a job names a module-level function as
``"module:name"``; its arguments and its return value are JSON values): nothing is
unpickled, here as anywhere in archselect.

Example:
    >>> with JobServer() as server:
    ...     outcome = server.run("operator:add", (7, 2), timeout_s=30.0)
    >>> outcome.value, outcome.stopped
    (9, None)
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, NamedTuple

import psutil

__all__ = ["JOB_POLL_S", "JobOutcome", "JobServer", "memory_cap_mb"]

#: Seconds between the caller's checks of a job's clock and memory.
JOB_POLL_S = 0.1
#: A job's memory cap: this share of the machine's memory, within the bounds below (MiB).
MEMORY_FRACTION = 0.25
MIN_MEMORY_MB = 1024
MAX_MEMORY_MB = 4096
#: Threads of every numerical library in a job (the other cores train networks).
JOB_THREAD_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)
#: Seconds the server gets to end after its input closes, before it is killed.
SERVER_GRACE_S = 5.0
_PR_SET_PDEATHSIG = 1


class JobOutcome(NamedTuple):
    """What a job gave: its return value, or why it was stopped (``"deadline"`` or
    ``"memory"``), or the exception it raised (as ``"Type: message"``)."""

    value: Any = None
    stopped: str | None = None
    error: str | None = None
    seconds: float = 0.0
    peak_mb: float = 0.0


def memory_cap_mb() -> int:
    """The memory a job may hold: :data:`MEMORY_FRACTION` of the machine, bounded."""
    total = psutil.virtual_memory().total / 2**20
    return int(min(MAX_MEMORY_MB, max(MIN_MEMORY_MB, MEMORY_FRACTION * total)))


def _die_with_parent() -> None:
    """Linux: this process gets SIGKILL when the process that started it dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class JobServer:
    """A subprocess that imports ``preload`` once and forks a child for each job.

    Start it early (its imports then run beside the caller's work); :meth:`run` a job;
    :meth:`close` it (or use it as a context manager).
    """

    def __init__(self, preload: Sequence[str] = ()) -> None:
        self._modules = tuple(preload)
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp = Path(tempfile.mkdtemp(prefix="archselect-jobs-"))
        self._count = 0

    def __enter__(self) -> JobServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> JobServer:
        """Start the server process (no-op when it runs)."""
        if self._proc is not None and self._proc.poll() is None:
            return self
        env = dict(os.environ)
        env.update(dict.fromkeys(JOB_THREAD_ENV, "1"))
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        code = "from archselect._common.jobs import serve; serve()"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", code, *self._modules],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # unbuffered: a line read never swallows the next one (see _line)
            env=env,
            start_new_session=True,  # a terminal's Ctrl-C reaches the caller only
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        return self

    def close(self) -> None:
        """End the server (and any job it still runs); remove its result files."""
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError):
                assert proc.stdin is not None
                proc.stdin.close()
            try:
                proc.wait(timeout=SERVER_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for f in self._tmp.glob("*"):
            f.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._tmp.rmdir()

    def preload(self, names: Sequence[str]) -> None:
        """Have the server import ``names`` too, beside the caller's work, before its next
        job (e.g. aeon's MiniRocket once the data is known to be series: 4 s of CPU that
        every MiniRocket job would pay otherwise)."""
        self.start()
        assert self._proc is not None and self._proc.stdin is not None
        _send(self._proc.stdin, {"import": list(names)})

    def run(
        self,
        fn: str,
        args: Sequence[Any],
        *,
        timeout_s: float,
        memory_mb: float | None = None,
    ) -> JobOutcome:
        """Run ``fn(*args)`` in a child of the server; stop it (SIGKILL) once ``timeout_s``
        wall seconds have passed or its resident memory exceeds ``memory_mb``. ``fn`` names
        a module-level function (``"package.module:function"``); ``args`` and its return
        value are JSON values. A stop signal (KeyboardInterrupt) in the caller kills the job
        and is re-raised."""
        self.start()
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        self._count += 1
        result = self._tmp / f"{self._count}.json"
        _send(proc.stdin, {"fn": fn, "args": list(args), "result": str(result)})
        pid = int(_line(proc.stdout, None) or 0)
        start = time.monotonic()  # the job's clock starts when it does (after any imports)
        if not pid:
            self._proc = None
            return JobOutcome(error="the job server ended (could it import its modules?)")
        peak, stopped = 0.0, None
        try:
            while (code := _line(proc.stdout, JOB_POLL_S)) is None:
                with contextlib.suppress(psutil.Error):
                    peak = max(peak, psutil.Process(pid).memory_info().rss / 2**20)
                if memory_mb is not None and peak > memory_mb:
                    stopped = "memory"
                elif time.monotonic() - start >= timeout_s:
                    stopped = "deadline"
                if stopped is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    _line(proc.stdout, None)  # the server reports the child's end
                    break
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self.close()
            raise
        seconds = time.monotonic() - start
        return _outcome(result, stopped, code, seconds, peak)


def _outcome(
    result: Path, stopped: str | None, code: str | None, seconds: float, peak: float
) -> JobOutcome:
    if stopped is not None:
        result.unlink(missing_ok=True)
        return JobOutcome(stopped=stopped, seconds=seconds, peak_mb=peak)
    try:
        kind, value = json.loads(result.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return JobOutcome(
            error=f"the job's process ended with status {code} and no result",
            seconds=seconds,
            peak_mb=peak,
        )
    finally:
        result.unlink(missing_ok=True)
    if kind == "ok":
        return JobOutcome(value=value, seconds=seconds, peak_mb=peak)
    return JobOutcome(error=str(value), seconds=seconds, peak_mb=peak)


def _send(stream: IO[bytes], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message).encode() + b"\n")
    stream.flush()


def _line(stream: IO[bytes], timeout: float | None) -> str | None:
    """The next line from ``stream`` (the server's reports, an unbuffered pipe: ``select``
    sees what a buffered reader would already have taken in), or None after ``timeout``
    seconds without one; ``""`` at its end."""
    if timeout is not None and not select.select([stream], [], [], timeout)[0]:
        return None
    return stream.readline().decode().strip()


def serve() -> None:  # pragma: no cover - runs in the server process
    """The server's loop: import the modules named on the command line, then for each job
    read from stdin (one JSON line) fork a child that runs it and writes ``[kind, value]``
    to its result file; report the child's pid, then its exit status, one line each on
    stdout."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in sys.argv[1:]:
        importlib.import_module(name)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while line := stdin.readline():
        job = json.loads(line)
        if "import" in job:  # more modules for the jobs to come
            for name in job["import"]:
                with contextlib.suppress(Exception):  # a job that needs it reports why
                    importlib.import_module(name)
            continue
        pid = os.fork()
        if pid == 0:
            _child(job["fn"], job["args"], job["result"])
        stdout.write(f"{pid}\n".encode())
        stdout.flush()
        _, status = os.waitpid(pid, 0)
        stdout.write(f"{status}\n".encode())
        stdout.flush()


def _resolve(fn: str) -> Callable[..., Any]:
    module, _, name = fn.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def _child(fn: str, args: list[Any], result: str) -> None:  # pragma: no cover
    _die_with_parent()
    try:
        out: list[Any] = ["ok", _resolve(fn)(*args)]
        text = json.dumps(out)
    except BaseException as exc:  # the caller records it
        text = json.dumps(["error", f"{type(exc).__name__}: {exc}"])
    tmp = result + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, result)
    os._exit(0)
