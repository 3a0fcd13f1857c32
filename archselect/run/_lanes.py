"""Two lanes for the controls' retrainings: this process, and beside it a job of the run's
job server on the other core.

Not a stage. After the search the trial workers have ended and one core would idle while
``fit`` retrains the order control's twins and the learning curves' points one after the
other. :class:`Lanes` takes them from one queue on two lanes: ``fit`` trains in its own
process (one torch thread, as the trials did), and a thread hands the next one to the job
server (:class:`archselect._common.jobs.JobServer`), which forks a process that reads the
prepared arrays from the run's work folder and trains with one torch thread too, so a
retraining's figures do not depend on its lane. A job that fails or is killed is retrained
here instead; without a server (a GPU, or no arrays) every retraining runs here.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from archselect._common.jobs import JobServer
from archselect.plan import Plan
from archselect.prepare import Prepared
from archselect.run._retrain import Fitted, Retraining, fitted_from, retrain

__all__ = ["JOB_GRACE_S", "Lanes"]

_log = logging.getLogger(__name__)

#: Seconds a retraining job may run past its own time limit (its process reads the arrays,
#: builds the network and predicts) before it is killed and retrained in ``fit``'s process.
JOB_GRACE_S = 30.0
#: The job that retrains (a module-level function of :mod:`archselect.run._retrain`).
RETRAINING_JOB = "archselect.run._retrain:retraining_job"


class Lanes:
    """Retrainings run on ``fit``'s process and, when ``server`` is given, as jobs beside it.

    ``folder``: the prepared arrays the jobs read (:func:`archselect.prepare.save_prepared`).
    """

    def __init__(
        self,
        prepared: Prepared,
        plan: Plan,
        server: Callable[[], JobServer] | None = None,
        folder: Path | None = None,
    ) -> None:
        self.prepared = prepared
        self.plan = plan
        self._server = server if folder is not None else None
        self.folder = folder
        self._started: JobServer | None = None

    @property
    def count(self) -> int:
        """How many retrainings run at once: 2 with a job server, else 1."""
        return 2 if self._server is not None else 1

    def warm(self) -> None:
        """Have the job server import the training stack now, while this process works (its
        children then start at once)."""
        if self._server is not None and self._started is None:
            self._started = self._server()
            self._started.preload([RETRAINING_JOB.partition(":")[0]])

    def map(self, jobs: Sequence[Retraining], seconds: Callable[[], float | None]) -> list[Fitted]:
        """Every retraining of ``jobs``, in order; ``seconds()``, asked as each starts, is
        its time limit (None: none)."""
        results: list[Fitted | None] = [None] * len(jobs)
        lock = threading.Lock()
        queue = list(range(len(jobs)))

        def take() -> int | None:
            with lock:
                return queue.pop(0) if queue else None

        helper = None
        if self._server is not None and len(jobs) > 1:
            self.warm()
            helper = threading.Thread(
                target=self._job_lane, args=(jobs, seconds, take, results), daemon=True
            )
            helper.start()
        while (i := take()) is not None:
            results[i] = retrain(self.prepared, self.plan, jobs[i], seconds())
        if helper is not None:
            helper.join()
        for i, found in enumerate(results):  # those the job lane gave back
            if found is None:
                results[i] = retrain(self.prepared, self.plan, jobs[i], seconds())
        return [r for r in results if r is not None]

    def _job_lane(
        self,
        jobs: Sequence[Retraining],
        seconds: Callable[[], float | None],
        take: Callable[[], int | None],
        results: list[Fitted | None],
    ) -> None:
        """Take retrainings from the queue and run each as a job, until the queue is empty
        or a job fails (that one, and no other, is left for ``fit``'s process)."""
        assert self._started is not None and self.folder is not None
        plan = self.plan.to_dict()
        while (i := take()) is not None:
            limit = seconds()
            try:
                outcome = self._started.run(
                    RETRAINING_JOB,
                    (str(self.folder), plan, jobs[i].to_dict(), limit),
                    timeout_s=(math.inf if limit is None else limit) + JOB_GRACE_S,
                )
            except Exception as exc:  # the server is gone: the rest runs in fit's process
                _log.warning("a retraining job could not run: %s: %s", type(exc).__name__, exc)
                return
            if outcome.value is None:
                _log.warning("a retraining job ended without a result: %s", outcome)
                return
            results[i] = fitted_from(outcome.value)
