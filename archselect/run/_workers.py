"""Process orchestration: trial processes pinned to devices, and ``archselect worker``.

Not a stage: like :mod:`archselect.run._fit` it drives the stages. Parallelism is Optuna's
own: every process is a worker on the same study (SQLite, PostgreSQL or MySQL); a worker
claims queued trial slots one at a time (see :mod:`archselect.search`). On GPUs each
worker process sees exactly one device through ``CUDA_VISIBLE_DEVICES`` (a trial never
becomes a multi-GPU DDP run: the Trainer is built with ``devices=1``).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archselect._common.secrets import mask_url
from archselect.errors import DataError, UsageError
from archselect.load import load_table
from archselect.prepare import load_prepared, prepare
from archselect.search import (
    STUDY_NAME,
    SearchResult,
    TrialRecord,
    load_recipe,
    make_storage,
    run_search,
)

__all__ = [
    "CPU_PARALLEL_PROCESSES",
    "JOBS_ENV",
    "LocalWorkers",
    "WorkerSpec",
    "cpu_cores",
    "default_jobs",
    "gpu_count",
    "plan_workers",
    "run_fit_worker",
    "run_local_workers",
    "run_worker",
    "worker_command",
]

#: Measured by ``benchmarks/cpu_parallel.py`` (see README "Scaling out"): on CPU, one
#: single-threaded trial process per core gives more trials per minute than one process
#: using every core, because the small networks of a search do not keep several threads
#: busy. The ``fit`` process is one of them: it runs the references as jobs, then trials.
CPU_PARALLEL_PROCESSES = True
#: Trial processes packed on one GPU by default (see :func:`gpu_pack`).
GPU_PACK_MAX = 4
#: Environment variable holding the default number of trial processes (``--jobs``).
JOBS_ENV = "ARCHSELECT_JOBS"
#: Torch threads of each CPU trial process: one, as for trials run in the ``fit`` process
#: (``archselect.run._fit.IN_PROCESS_CPU_THREADS``), so a trial's arithmetic, and hence its
#: result, is the same with any ``--jobs`` (intra-op threads may sum in another order).
CPU_TRIAL_THREADS = 1
#: Environment variable through which a storage URL reaches worker processes (never argv).
STORAGE_ENV = "ARCHSELECT_STORAGE"
#: Seconds a worker gets to stop after SIGTERM before it is killed.
STOP_GRACE_S = 60.0
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerSpec:
    """One trial process: its index, the GPU it is pinned to (None on CPU), its threads."""

    index: int
    device: str | None
    threads: int


def cpu_cores() -> int:
    """Cores this process may use (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def gpu_count() -> int:
    """CUDA devices visible to this process (0 without CUDA)."""
    import torch

    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


def _parse_devices(devices: str) -> tuple[str, ...]:
    names = tuple(d.strip() for d in devices.split(",") if d.strip())
    if not names or not all(d.isdigit() for d in names):
        raise UsageError(
            f"--devices {devices!r} is not a list of GPU indices; write e.g. --devices 0,1."
        )
    return tuple(dict.fromkeys(names))


def _check_visible(devices: str, names: tuple[str, ...], found: int) -> None:
    """``--devices`` must name GPUs this machine has (never a silent run on the CPU)."""
    missing = [d for d in names if int(d) >= found]
    if missing:
        have = f"GPUs 0-{found - 1}" if found else "no CUDA GPU"
        raise UsageError(
            f"--devices {devices} names GPU {missing[0]} but this machine has {have}; "
            "name a visible GPU, or leave out --devices to run on the CPU."
        )


def plan_workers(
    *,
    jobs: int | None = None,
    devices: str | None = None,
    trials_per_device: int | None = None,
    n_trials: int | None = None,
    timeout_s: float | None = None,
    gpus: int | None = None,
    cores: int | None = None,
) -> tuple[WorkerSpec, ...]:
    """Decide how trials run: ``()`` means in this process; else one spec per worker process.

    GPUs (found, or named by ``devices``): ``trials_per_device`` processes per GPU, each
    pinned to it. CPU: ``jobs`` single-threaded processes (:data:`CPU_TRIAL_THREADS`, so
    results do not depend on ``jobs``), the ``fit`` process the first of them; without
    ``jobs``, :func:`default_jobs`.

    Example:
        >>> plan_workers(jobs=2, gpus=0, cores=4)
        (WorkerSpec(index=0, device=None, threads=1), WorkerSpec(index=1, device=None, threads=1))
        >>> len(plan_workers(gpus=0, cores=2, n_trials=4, jobs=None))  # doctest: +SKIP
        2
        >>> plan_workers(gpus=0, cores=4, jobs=1)
        ()
    """
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {jobs}.")
    if trials_per_device is not None and trials_per_device < 1:
        raise UsageError(f"--trials-per-device must be at least 1, not {trials_per_device}.")
    cores = cpu_cores() if cores is None else cores
    if devices is not None:
        names = _parse_devices(devices)
        _check_visible(devices, names, gpu_count() if gpus is None else gpus)
    else:
        found = gpu_count() if gpus is None else gpus
        names = tuple(str(i) for i in range(found))
    if names:
        pack = trials_per_device or gpu_pack(cores, len(names), n_trials)
        if len(names) == 1 and pack == 1 and devices is None:
            return ()  # the only GPU: this process uses it (devices=1, no DDP)
        per = max(1, cores // (len(names) * pack))
        return tuple(
            WorkerSpec(index=i, device=dev, threads=per)
            for i, dev in enumerate(d for d in names for _ in range(pack))
        )
    if jobs is None:
        jobs = default_jobs(cores, n_trials)
    if jobs == 1:
        return ()
    return tuple(WorkerSpec(index=i, device=None, threads=CPU_TRIAL_THREADS) for i in range(jobs))


def gpu_pack(cores: int, gpus: int, n_trials: int | None) -> int:
    """Trial processes per GPU without ``--trials-per-device``: up to :data:`GPU_PACK_MAX`,
    a core each, no more than the trials. They share the GPU by measured memory: each
    trial starts only once the GPU has room for the largest trial measured so far
    (:func:`archselect.search.wait_for_gpu_room`), so small networks train side by side and
    large ones one at a time.

    Example:
        >>> gpu_pack(16, 1, None), gpu_pack(2, 1, None), gpu_pack(16, 2, 4)
        (4, 2, 2)
    """
    pack = min(GPU_PACK_MAX, max(1, cores // max(1, gpus)))
    if n_trials is not None:
        pack = min(pack, max(1, n_trials // max(1, gpus)))
    return pack


def default_jobs(cores: int, n_trials: int | None) -> int:
    """Trial processes on the CPU without ``--jobs``: one per core (no more than the trial
    budget), from the first second of every run — short budgets and ``--trials`` runs too
    (``make demo``): the workers import torch while ``fit`` loads, profiles and prepares,
    and receive the prepared arrays memory-mapped, so a worker costs no time of the
    budget's. ``$ARCHSELECT_JOBS`` sets the default (the test suite runs in one process).

    Example:
        >>> jobs_for(2, 12), jobs_for(16, 3), jobs_for(2, None)
        (2, 3, 2)
    """
    env = os.environ.get(JOBS_ENV, "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise UsageError(
                f"${JOBS_ENV}={env!r} is not a whole number of processes; fix or unset it."
            ) from None
    return jobs_for(cores, n_trials)


def jobs_for(cores: int, n_trials: int | None) -> int:
    """:func:`default_jobs` without ``$ARCHSELECT_JOBS``: one process per core, no more
    than the trial budget."""
    if not CPU_PARALLEL_PROCESSES:
        return 1
    return max(1, min(cores, n_trials if n_trials is not None else cores))


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the worker gets SIGTERM when the process that started it dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def worker_command(
    study_name: str, spec: WorkerSpec, max_failures: int | None, *, from_fit: bool = False
) -> list[str]:
    """The command line of one local worker process (the storage URL travels in the env,
    or, ``from_fit``, on its standard input with the rest of its orders)."""
    cmd = [sys.executable, "-m", "archselect", "worker", "--study", study_name]
    cmd += ["--index", str(spec.index), "--threads", str(spec.threads)]
    if max_failures is not None:
        cmd += ["--max-failures", str(max_failures)]
    if from_fit:
        cmd += ["--from-fit"]
    return cmd


class LocalWorkers:
    """Trial processes on this machine, started before the data is read.

    :meth:`start` launches them at once (each imports torch, Lightning and Optuna, seconds
    of CPU, while ``fit`` loads, profiles and prepares); :meth:`go` hands them the study and
    the folder of prepared arrays (``archselect.prepare.save_prepared``) on their standard
    input, so nothing is prepared again and no secret is on a command line; :meth:`wait`
    waits for them, forwarding a stop signal once. :meth:`close` (also on leaving the
    ``with`` block) ends processes that never got their orders.
    """

    def __init__(self, specs: tuple[WorkerSpec, ...], *, max_failures: int | None = None) -> None:
        self.specs, self.max_failures = specs, max_failures
        self.procs: list[subprocess.Popen[bytes]] = []
        self._sent = False

    def __enter__(self) -> LocalWorkers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> LocalWorkers:
        for spec in self.specs:
            env = dict(os.environ)
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(spec.threads)
            if spec.device is not None:
                env["CUDA_VISIBLE_DEVICES"] = spec.device
            self.procs.append(
                subprocess.Popen(
                    worker_command(STUDY_NAME, spec, self.max_failures, from_fit=True),
                    env=env,
                    stdin=subprocess.PIPE,
                    start_new_session=True,  # a terminal Ctrl-C reaches them through us, once
                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                )
            )
        return self

    def go(self, storage: str, study_name: str, work: Path) -> None:
        """Send every worker its orders: the study and the prepared arrays' folder."""
        orders = json.dumps({"storage": storage, "study": study_name, "arrays": str(work)})
        for p in self.procs:
            with contextlib.suppress(OSError):  # one that died is reported by wait()
                assert p.stdin is not None
                p.stdin.write(orders.encode() + b"\n")
                p.stdin.close()
        self._sent = True

    def wait(self) -> list[int]:
        """Wait for every worker; return their exit codes. SIGINT/SIGTERM received here are
        forwarded once to every worker (each marks its running trial failed and stops);
        the interrupt is then re-raised."""
        try:
            codes = []
            for spec, p in zip(self.specs, self.procs, strict=True):
                codes.append(p.wait())
                if codes[-1] != 0:
                    sys.stderr.write(
                        f"worker {spec.index} exited with code {codes[-1]}; a trial it was "
                        "running is failed by heartbeat and retried by the other workers\n"
                    )
            return codes
        except KeyboardInterrupt as exc:
            self.stop(getattr(exc, "signum", signal.SIGINT))
            raise

    def stop(self, signum: int) -> None:
        """Forward ``signum`` to the workers still running; kill those that outlive
        :data:`STOP_GRACE_S`."""
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    p.send_signal(signum)
        deadline = time.monotonic() + STOP_GRACE_S
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()

    def close(self) -> None:
        """Workers that never got their orders are killed (they hold nothing: they were
        still importing or waiting); all are reaped."""
        for p in self.procs:
            if not self._sent and p.poll() is None:
                with contextlib.suppress(OSError):
                    assert p.stdin is not None
                    p.stdin.close()
                p.kill()
        deadline = time.monotonic() + STOP_GRACE_S
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def run_local_workers(
    storage: str,
    study_name: str,
    specs: tuple[WorkerSpec, ...],
    *,
    work: Path,
    max_failures: int | None = None,
) -> list[int]:
    """Start one worker process per spec, give them the study and ``work`` (the folder of
    prepared arrays) and wait for all; return their exit codes (see :class:`LocalWorkers`,
    which ``fit`` uses to start them earlier)."""
    with LocalWorkers(specs, max_failures=max_failures) as workers:
        workers.go(storage, study_name, work)
        return workers.wait()


def run_fit_worker(
    *,
    threads: int | None = None,
    index: int | None = None,
    max_failures: int | None = None,
    on_trial: Callable[[TrialRecord], None] | None = None,
) -> SearchResult | None:
    """A worker started by ``fit`` before the data was read (:class:`LocalWorkers`): read
    the orders on standard input (none: the fit ended first; return None), memory-map the
    prepared arrays, and run the study's trials like :func:`run_worker`."""
    line = sys.stdin.readline()
    if not line.strip():
        return None
    orders = json.loads(line)
    import optuna

    study = optuna.load_study(study_name=orders["study"], storage=make_storage(orders["storage"]))
    recipe = load_recipe(study)
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))
    seed = recipe.seed + 1 + (index if index is not None else os.getpid())
    return run_search(
        load_prepared(Path(orders["arrays"])),
        recipe.plan,
        storage=orders["storage"],
        study_name=orders["study"],
        worker=True,
        sampler_seed=seed,
        max_failures=max_failures,
        on_trial=on_trial,
    )


def run_worker(
    storage: str,
    study_name: str = STUDY_NAME,
    *,
    data: str | Path | None = None,
    threads: int | None = None,
    index: int | None = None,
    max_failures: int | None = None,
    on_trial: Callable[[TrialRecord], None] | None = None,
) -> SearchResult:
    """Join a study made by ``archselect fit --storage URL`` and run its trials until done.

    The study records the data location, its sha256, the profile and the plan, so the
    worker needs nothing else; ``data`` points to a local copy when the recorded path
    does not exist on this machine. A copy whose sha256 differs is refused.

    Raises:
        UsageError: No such study, or not an archselect study.
        DataError: The data is missing or differs from the study's.

    Example:
        >>> run_worker("postgresql://me@db/studies", "archselect")  # doctest: +SKIP
    """
    import optuna

    try:
        study = optuna.load_study(study_name=study_name, storage=make_storage(storage))
    except KeyError:
        raise UsageError(
            f"{mask_url(storage)} holds no study {study_name!r}; start it with "
            f"`archselect fit DATA --storage URL --study {study_name}`, or check --study."
        ) from None
    recipe = load_recipe(study)
    path = data if data is not None else recipe.data_path
    if path is None:
        raise DataError(
            f"study {study_name!r} was made from an in-memory frame; save it as CSV and pass "
            "--data PATH to the worker."
        )
    if not Path(path).exists():
        raise DataError(
            f"the study's data {path} does not exist on this machine; copy it here and pass "
            "--data PATH."
        )
    table = load_table(path, target=recipe.profile.target)
    if table.facts.sha256 != recipe.data_sha256:
        raise DataError(
            f"{path} has sha256 {table.facts.sha256[:12]}… but study {study_name!r} was made "
            f"from data with sha256 {recipe.data_sha256[:12]}…; give the worker the same file "
            "(--data PATH)."
        )
    if threads is not None:
        import torch

        torch.set_num_threads(max(1, threads))
    prepared = prepare(table, recipe.profile, seed=recipe.seed)
    # only a study without batches (a time budget) samples with the worker's own seed
    seed = recipe.seed + 1 + (index if index is not None else os.getpid())
    return run_search(
        prepared,
        recipe.plan,
        storage=storage,
        study_name=study_name,
        worker=True,
        sampler_seed=seed,
        max_failures=max_failures,
        on_trial=on_trial,
    )
