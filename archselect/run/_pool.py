"""The processes of one ``fit``: trial workers and the reference jobs' server, started at
the first second.

Not a stage. On the CPU a run uses every core from t = 0 (:func:`open_pool`): ``fit`` is
one trial process (it runs the reference models as killable jobs first, then trials), and
one worker per other core starts at once and imports torch, Lightning and Optuna while
``fit`` loads, profiles and prepares the data; the reference jobs' server
(:class:`archselect._common.jobs.JobServer`) imports scikit-learn meanwhile. The workers then
receive the study and the prepared arrays once (memory-mapped ``.npy`` files in the run
directory's work folder, :data:`archselect.rundir.WORK`), never re-preparing the data. On
several GPUs every trial process is a worker pinned to its device, and ``fit`` runs only
the references.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from archselect._common.jobs import JobServer
from archselect.baselines import JOB_PRELOAD
from archselect.run._workers import LocalWorkers, WorkerSpec

__all__ = ["ARRAYS", "WEIGHTS", "Pool", "open_pool", "remove_work"]

#: The work folder's sub-folders holding the prepared arrays, and the weights of each
#: family's best trial (under a ``--timeout``).
ARRAYS = "arrays"
WEIGHTS = "weights"


@dataclass
class Pool:
    """A run's processes: ``workers`` (started, waiting for their orders), the reference
    job ``server``, and whether the ``fit`` process trains trials too."""

    specs: tuple[WorkerSpec, ...]
    workers: LocalWorkers
    server: JobServer | None
    fit_trains: bool

    @property
    def processes(self) -> int:
        """Trial processes: the workers, and ``fit`` where it trains."""
        return len(self.workers.specs) + int(self.fit_trains)

    def job_server(self) -> JobServer:
        """The reference jobs' server, started now if it was not at t = 0."""
        if self.server is None:
            self.server = JobServer(JOB_PRELOAD).start()
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        self.workers.close()


@contextlib.contextmanager
def open_pool(  # type: ignore[no-untyped-def]
    specs: tuple[WorkerSpec, ...], *, max_failures: int | None = None, budgeted: bool = False
):
    """Start the run's processes now (see the module docstring); end them on leaving.

    ``specs`` are every trial process (:func:`archselect.run.plan_workers`): on the CPU the
    first is ``fit`` itself; with GPUs all are workers. ``()``: ``fit`` alone trains.
    ``budgeted`` (a ``--timeout``): the reference jobs' server starts now too (else only if
    the data is large enough to need one: :meth:`Pool.job_server`).
    """
    on_gpu = any(s.device is not None for s in specs)
    started = specs if on_gpu else specs[1:]
    pool = Pool(
        specs=specs,
        workers=LocalWorkers(started, max_failures=max_failures),
        server=JobServer(JOB_PRELOAD) if budgeted else None,
        fit_trains=not on_gpu,
    )
    try:
        pool.workers.start()
        if pool.server is not None:
            pool.server.start()
        yield pool
    finally:
        pool.close()


def remove_work(folder: Path) -> None:
    """Remove the run's work folder (the prepared arrays, the trials' weights)."""
    shutil.rmtree(folder, ignore_errors=True)
