"""The search phase's beginning: the study, its window, the prepared arrays handed to the
workers, and the reference models as killable jobs beside the trials.

Not a stage: called by :func:`archselect.run._fit.search`. Each reference runs in a child
of the reference job server (:class:`archselect._common.jobs.JobServer`, started at t = 0
under a ``--timeout``), one after another on one core while the workers train, and is
stopped at its share of the references' time, or at the job memory cap, whatever its
solver is doing (on 64,000 rows MiniRocket's ridge head once ran 19 minutes and 13 GB).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadpoolctl import threadpool_limits

from archselect._common import signals as _signals
from archselect._common.budget import BASELINE_FRACTION, Clock, search_window
from archselect._common.jobs import JobServer, memory_cap_mb
from archselect.baselines import (
    BUDGET_SKIPPED,
    JOB_PRELOAD,
    JOB_PRELOAD_FOR,
    JOB_THREADS,
    MIN_FIT_S,
    BaselineResult,
    large_for_references,
    run_baselines,
)
from archselect.core.options import FitOptions
from archselect.prepare import Fold, save_prepared
from archselect.run._pool import ARRAYS, WEIGHTS, Pool
from archselect.rundir import WORK
from archselect.search import (
    ATTR_WEIGHTS,
    RECIPE_FORMAT,
    StudyRecipe,
    needs_baselines,
    prepare_study,
    record_baselines,
    set_window,
    study_folds,
)

if TYPE_CHECKING:
    from archselect.run._fit import Started

__all__ = ["BASELINE_JOB", "begin_search", "run_baseline_jobs"]

#: The function a reference job runs (in the job server's child; see
#: :func:`archselect.baselines.baseline_job`).
BASELINE_JOB = "archselect.baselines:baseline_job"
#: References whose fit is one solver call (no chunk to stop after): run after the others.
UNINTERRUPTIBLE = ("minirocket", "svm_rbf", "k_nearest_neighbours", "knn_euclidean")


def begin_search(
    started: Started, opts: FitOptions, clock: Clock, pool: Pool, *, reserve_s: float | None = None
) -> Any:
    """Create (or resume) the study with its recipe and window, hand the workers the study
    and the prepared arrays, then fit the references as killable jobs (one core; the
    workers train meanwhile), each stopped at its share of :data:`BASELINE_FRACTION` of the
    budget (without a budget, small data's references run here, one after another).
    ``reserve_s``: seconds of the budget kept after the search (default: the final model's
    and the report's share, :func:`archselect._common.budget.search_window`). Returns the
    study."""
    prepared, plan, table = started.prepared, started.plan, started.table
    if pool.server is not None:  # its extra imports run while the study is made
        pool.server.preload([m for n in plan.baselines for m in JOB_PRELOAD_FOR.get(n, ())])
    recipe = StudyRecipe(
        format_version=RECIPE_FORMAT,
        data_path=str(Path(table.facts.path).resolve()) if table.facts.path else None,
        data_sha256=table.facts.sha256,
        seed=opts.seed,
        profile=started.profile,
        plan=plan,
    )
    study = prepare_study(
        prepared,
        plan,
        storage=started.url,
        study_name=opts.study_name,
        recipe=recipe,
        baselines=False,
    )
    refs = needs_baselines(study)
    busy = BASELINE_FRACTION * clock.budget_s if refs and clock.budget_s is not None else 0.0
    window = search_window(
        clock,
        n_families=len(plan.family_names),
        workers=pool.processes,
        busy_s=busy,
        reserve=reserve_s,
    )
    set_window(study, window)
    arrays = save_prepared(prepared, started.run_dir / WORK / ARRAYS)
    if clock.budget_s is not None:  # each family's best trial keeps its weights there
        weights = started.run_dir / WORK / WEIGHTS
        weights.mkdir(parents=True, exist_ok=True)
        study.set_user_attr(ATTR_WEIGHTS, str(weights.resolve()))
    pool.workers.go(started.url, opts.study_name, arrays)
    if refs:
        deadline = None if clock.budget_s is None else clock.unix(clock.elapsed() + busy)
        folds = study_folds(study, prepared, plan)
        with _signals.interruptible():
            if deadline is None and not large_for_references(prepared):
                with threadpool_limits(JOB_THREADS if pool.processes > 1 else None):
                    found = run_baselines(prepared, plan.baselines, seed=plan.seed, folds=folds)
            else:
                found = run_baseline_jobs(
                    arrays,
                    plan.baselines,
                    seed=plan.seed,
                    folds=folds,
                    deadline=deadline,
                    server=pool.job_server(),
                )
        record_baselines(study, found)
    return study


def run_baseline_jobs(
    folder: Path,
    names: tuple[str, ...],
    *,
    seed: int = 0,
    folds: tuple[Fold, ...] = (),
    deadline: float | None = None,
    server: JobServer | None = None,
) -> list[BaselineResult]:
    """Each reference as a killable job (:class:`archselect._common.jobs.JobServer`; the
    caller's ``server``, started early, or one of its own) on the
    prepared arrays saved in ``folder`` (:func:`archselect.prepare.save_prepared`): one
    after another, each stopped at its share of the time to ``deadline`` (the time left,
    shared by the references left) or at the job memory cap, whatever its solver is doing;
    a stopped reference is recorded with a note saying where it was stopped."""
    own = server is None
    server = JobServer(JOB_PRELOAD) if server is None else server
    server.preload([m for name in names for m in JOB_PRELOAD_FOR.get(name, ())])
    try:
        return _jobs(server, folder, names, seed, folds, deadline)
    finally:
        if own:
            server.close()


def _jobs(
    server: JobServer,
    folder: Path,
    names: tuple[str, ...],
    seed: int,
    folds: tuple[Fold, ...],
    deadline: float | None,
) -> list[BaselineResult]:
    results: list[BaselineResult] = []
    cap = memory_cap_mb()
    # references that cannot stop early (one solver call) go last: they get the time the
    # others left, while an iterative one stops at its share anyway
    order = sorted(names, key=lambda n: n in UNINTERRUPTIBLE)
    for i, name in enumerate(order):
        if deadline is not None and time.time() >= deadline:
            results.append(_skipped(name, BUDGET_SKIPPED))
            continue
        share = (
            None
            if deadline is None
            else max(MIN_FIT_S, (deadline - time.time()) / (len(names) - i))
        )
        outcome = server.run(
            BASELINE_JOB,
            (str(folder), name, seed, [[f.train.tolist(), f.val.tolist()] for f in folds], share),
            timeout_s=math.inf if share is None else share,
            memory_mb=cap,
        )
        if outcome.value is not None:
            results.append(BaselineResult.from_dict(outcome.value))
        elif outcome.stopped == "deadline":
            note = (
                f"stopped at its {outcome.seconds:.0f} s deadline (its share of the --timeout "
                "budget for references)"
            )
            results.append(_skipped(name, note, outcome.seconds))
        elif outcome.stopped == "memory":
            note = f"stopped at the job memory cap ({cap} MiB resident)"
            results.append(_skipped(name, note, outcome.seconds))
        else:
            results.append(
                BaselineResult(
                    name=name,
                    val_metric=None,
                    test_metric=None,
                    train_time_s=outcome.seconds,
                    error=outcome.error,
                )
            )
    by_name = {r.name: r for r in results}
    return [by_name[n] for n in names]


def _skipped(name: str, note: str, seconds: float = 0.0) -> BaselineResult:
    return BaselineResult(
        name=name, val_metric=None, test_metric=None, train_time_s=seconds, note=note
    )
