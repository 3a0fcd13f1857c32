"""Two lanes for the work after the search (the controls' retrainings, the final model's
refits): this process, and beside it a job of the run's job server on the other core.

Not a stage. After the search the trial workers have ended and one core would idle while
``fit`` retrains the order control's twins and the learning curves' points one after the
other. :class:`Lanes` takes them from one queue on two lanes: ``fit`` trains in its own
process (one torch thread, as the trials did), and a thread hands the next one to the job
server (:class:`archselect._common.jobs.JobServer`), which forks a process that reads the
prepared arrays from the run's work folder and trains with one torch thread too, so a
retraining is the same computation on either lane (its figures equal up to the order of
floating-point sums, which memory layout can change). A job that fails or is killed is retrained
here instead; without a server (a GPU, or no arrays) every retraining runs here.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from archselect._common.jobs import JobServer
from archselect.plan import Plan
from archselect.prepare import Prepared
from archselect.run._retrain import Fitted, Retraining, fitted_from, retrain

__all__ = ["JOB_GRACE_S", "Job", "Lanes"]

_log = logging.getLogger(__name__)

#: Seconds a job may run past its own time limit (its process reads the arrays, builds the
#: network and predicts) before it is killed and its work done in ``fit``'s process instead.
JOB_GRACE_S = 30.0
#: Seconds ``fit``'s lane waits for the job lane to take the first item (a thread start).
JOB_LANE_START_S = 1.0
#: What the job server imports once, before its first such job: the training stack.
TRAINING_MODULES = ("archselect.run",)
#: The job that retrains (a module-level function of :mod:`archselect.run._retrain`).
RETRAINING_JOB = "archselect.run._retrain:retraining_job"

T = TypeVar("T")
R = TypeVar("R")


class Job(NamedTuple):
    """A piece of work as a job: the function (``"module:name"``), its JSON arguments, and
    its own time limit (None: none)."""

    fn: str
    args: tuple[Any, ...]
    seconds: float | None


class Lanes:
    """Work run on ``fit``'s process and, when ``server`` is given, as jobs beside it.

    ``folder``: the prepared arrays the jobs read (:func:`archselect.prepare.save_prepared`).
    """

    def __init__(
        self, server: Callable[[], JobServer] | None = None, folder: Path | None = None
    ) -> None:
        self._server = server if folder is not None else None
        self.folder = folder
        self._started: JobServer | None = None

    @property
    def count(self) -> int:
        """How many pieces of work run at once: 2 with a job server, else 1."""
        return 2 if self._server is not None else 1

    def warm(self) -> None:
        """Have the job server import the training stack now, while this process works (its
        children then start at once)."""
        if self._server is not None and self._started is None:
            self._started = self._server()
            self._started.preload(list(TRAINING_MODULES))

    def run(
        self,
        items: Sequence[T],
        here: Callable[[T], R],
        as_job: Callable[[T], Job],
        back: Callable[[T, Any], R],
    ) -> list[R]:
        """``here(item)`` for every item, in order, the job lane taking items from the same
        queue as ``as_job(item)`` and turning the job's value into a result with
        ``back(item, value)``. A job that fails is done ``here`` instead, and the job lane
        stops."""
        results: list[R | None] = [None] * len(items)
        lock = threading.Lock()
        queue = list(range(len(items)))

        def take() -> int | None:
            with lock:
                return queue.pop(0) if queue else None

        taken = threading.Event()  # the job lane has taken its first item

        def job_lane() -> None:
            assert self._started is not None
            while (i := take()) is not None:
                taken.set()
                job = as_job(items[i])
                limit = math.inf if job.seconds is None else job.seconds
                try:
                    outcome = self._started.run(job.fn, job.args, timeout_s=limit + JOB_GRACE_S)
                    if outcome.value is None:
                        _log.warning("a job ended without a result: %s", outcome)
                        return
                    results[i] = back(items[i], outcome.value)
                except Exception as exc:  # the rest runs in fit's process
                    _log.warning("a job could not run: %s: %s", type(exc).__name__, exc)
                    return

        helper = None
        if self._server is not None and len(items) > 1:
            self.warm()
            helper = threading.Thread(target=job_lane, daemon=True)
            helper.start()
            taken.wait(JOB_LANE_START_S)  # the first item goes to the job lane
        while (i := take()) is not None:
            results[i] = here(items[i])
        if helper is not None:
            helper.join()
        for i, found in enumerate(results):  # what the job lane gave back
            if found is None:
                results[i] = here(items[i])
        return [r for r in results if r is not None]

    def map(
        self,
        prepared: Prepared,
        plan: Plan,
        jobs: Sequence[Retraining],
        seconds: Callable[[], float | None],
    ) -> list[Fitted]:
        """Every retraining of ``jobs``, in order; ``seconds()``, asked as each starts, is
        its time limit (None: none)."""
        plan_dict = plan.to_dict()

        def as_job(job: Retraining) -> Job:
            limit = seconds()
            return Job(RETRAINING_JOB, (str(self.folder), plan_dict, job.to_dict(), limit), limit)

        return self.run(
            jobs,
            lambda job: retrain(prepared, plan, job, seconds()),
            as_job,
            lambda _, value: fitted_from(value),
        )
