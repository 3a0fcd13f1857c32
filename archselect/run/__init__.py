"""The driver: ``fit`` runs the stages in order and writes the run directory; ``Run`` reads it.

Not a stage. :mod:`._fit` calls load → profile → prepare → plan → search → select →
report → export; :mod:`._refit` trains and exports the final model; :mod:`._ensemble` adds
and exports the ensemble of the best trials; :mod:`._view` holds :class:`Run` (a run read
back, its model and ``predict``); :mod:`._workers` runs trials in worker processes and
``archselect worker``.
"""

from __future__ import annotations

from archselect.run._fit import fit, fit_with
from archselect.run._view import Run, load
from archselect.run._workers import (
    CPU_PARALLEL_PROCESSES,
    JOBS_ENV,
    LocalWorkers,
    WorkerSpec,
    cpu_cores,
    gpu_count,
    plan_workers,
    run_fit_worker,
    run_local_workers,
    run_worker,
    worker_command,
)

__all__ = [
    "CPU_PARALLEL_PROCESSES",
    "JOBS_ENV",
    "LocalWorkers",
    "Run",
    "WorkerSpec",
    "cpu_cores",
    "fit",
    "fit_with",
    "gpu_count",
    "load",
    "plan_workers",
    "run_fit_worker",
    "run_local_workers",
    "run_worker",
    "worker_command",
]
