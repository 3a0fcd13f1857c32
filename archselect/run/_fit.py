"""The pipeline driver: ``fit`` runs every stage, in four phases, and writes the run directory.

This module is not a stage: it is the one place that calls them in order. The phases are
functions of plain values, each handing the next a frozen record:

1. :func:`start` — load, profile, prepare and plan; guard and open the run directory
   (``profile.json``, ``plan.json``) → :class:`Started`;
2. :func:`search` — the references and the trials, under the ``--timeout`` window →
   :class:`Searched`;
3. :func:`final_model` — select, the ensemble candidate, the exported model →
   the stored recommendation;
4. :func:`write` — ``recommendation.json`` and ``report.html``.

The final model's refit and export are in :mod:`archselect.run._refit`; ``Run`` and ``load``
in :mod:`archselect.run._view`; the worker processes in :mod:`archselect.run._workers`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from archselect._common import budget as _budget
from archselect._common import signals as _signals
from archselect._common.budget import Clock
from archselect._common.version import RUN_FORMAT, __version__
from archselect.core.options import FitOptions, for_python
from archselect.core.stored import DataPreview, RunProfile, RunRecommendation
from archselect.errors import ArchSelectError, UsageError
from archselect.load import Table, load_table
from archselect.plan import Plan, make_plan
from archselect.prepare import Prepared, cross_folds, prepare
from archselect.profile import Profile, data_preview, profile_table
from archselect.run._controls import controls_reserve, run_controls
from archselect.run._ensemble import add_ensemble, export_ensemble
from archselect.run._lanes import Lanes
from archselect.run._machine import cpu_model, gpu_model, versions
from archselect.run._pool import ARRAYS, Pool, open_pool, remove_work
from archselect.run._reference_export import export_reference
from archselect.run._references import begin_search
from archselect.run._refit import (
    REPORT_RESERVE_S,
    export_network,
    final_need,
    refit_or_own,
)
from archselect.run._view import Run
from archselect.run._workers import WorkerSpec, plan_workers
from archselect.rundir import (
    MODEL,
    PLAN,
    PROFILE,
    RECOMMENDATION,
    STUDY_DB,
    TRIALS,
    WORK,
    RunInfo,
    RunPlan,
    default_run_dir,
    guard_run_dir,
    remove_own_files,
    write_trials_csv,
)
from archselect.search import (
    SearchResult,
    TrialRecord,
    chance_level,
    close_storage,
    collect_result,
    finish_search,
    mask_url,
    open_study,
    param_importances,
    resume_conflicts,
    run_trials,
    storage_url,
)
from archselect.select import ENSEMBLE, select
from archselect.train import select_device, torch_threads

__all__ = [
    "Searched",
    "Started",
    "final_model",
    "first_results",
    "fit",
    "fit_with",
    "forecast_plot_data",
    "search",
    "start",
    "write",
]

TrialHook = Callable[[TrialRecord], None]
PlanHook = Callable[[Plan], None]

_log = logging.getLogger(__name__)

#: The forecast plot shows this many input windows of history before the test period.
FORECAST_PLOT_CONTEXT = 2
#: Torch threads of trials run in this process on CPU: one, as in each worker process.
#: Measured on 2 cores with other work running (load 9): an LSTM epoch over 120 sequences
#: of 427 steps took 48 s with two OpenMP threads and 8 s with one; convolutions gained
#: nothing from the second thread. One thread also keeps a trial's arithmetic the same
#: whether it runs here or in a worker.
IN_PROCESS_CPU_THREADS = 1
#: Under ``--timeout``, the length-latency figures may use this share of the time left
#: after the search (the rest pays for the final model and the report).
LENGTH_LATENCY_SHARE = 0.25


@dataclass(frozen=True)
class Started:
    """Phase 1's output: the data read, profiled, prepared and planned; the run directory
    guarded and begun (``profile.json``, ``plan.json``)."""

    table: Table
    profile: Profile
    prepared: Prepared
    plan: Plan
    run_dir: Path
    #: The study's storage URL (``RUN_DIR/study.db`` unless ``--storage``).
    url: str
    #: Trial processes to start (empty: trials run in this process).
    workers: tuple[WorkerSpec, ...]


@dataclass(frozen=True)
class Searched:
    """Phase 2's output: every trial and reference, and the stop signal that ended the
    search early (None: it ran to its end)."""

    result: SearchResult
    interrupted: KeyboardInterrupt | None = None


def fit(
    data: str | Path | pd.DataFrame,
    *,
    on_trial: TrialHook | None = None,
    on_plan: PlanHook | None = None,
    **options: Any,
) -> Run:
    """Profile the data, search every fitting family, pick one, write the run directory.

    Rerunning with the same ``out`` resumes the study: finished trials are kept and count
    against ``trials``.

    Args:
        data: CSV path or DataFrame (target column included).
        on_trial: Called with each finished trial (in-process trials only).
        on_plan: Called with the plan before the search starts (e.g. to size a progress bar).
        **options: The fields of :class:`archselect.core.options.FitOptions`: ``target``,
            ``out`` (default ``runs/<data file stem>``), ``trials`` and ``timeout`` (the
            budget: trials, and seconds of the whole call; with neither, a default of a few
            minutes), ``seed`` (one seed for the split, the sampler and training),
            ``storage`` and ``study_name`` (an Optuna storage URL; default SQLite
            ``RUN_DIR/study.db``), ``families``, ``objectives`` (``("accuracy",
            "latency")`` for a Pareto front), ``pruning``, the profile's overrides ``task``,
            ``modality``, ``shape``, ``layout``, ``id_col``, ``time_col``, ``tokenizer``,
            ``horizon``, ``window``, ``spaces`` (TOML files replacing the families' shipped
            search spaces), ``force``, ``max_failures``, ``jobs``, ``devices`` and
            ``trials_per_device``.

    Returns:
        The :class:`Run`.

    Raises:
        UsageError: An option that no stage can use, named as the keyword it was passed as.
        DataError: Data the stages cannot read.

    Example:
        >>> import archselect  # doctest: +SKIP
        >>> run = archselect.fit("datasets/digits.csv", trials=4)  # doctest: +SKIP
        >>> run.recommendation.family  # doctest: +SKIP
        'cnn2d'
    """
    try:
        try:
            opts = FitOptions.of(**options)
        except TypeError as exc:
            known = ", ".join(f.name for f in dataclasses.fields(FitOptions))
            raise UsageError(
                f"fit() got options it does not know ({exc}); the options are: {known}."
            ) from None
        return fit_with(data, opts, on_trial=on_trial, on_plan=on_plan)
    except ArchSelectError as exc:  # name the options as this caller wrote them
        exc.args = (for_python(str(exc)), *exc.args[1:])
        raise


def fit_with(
    data: str | Path | pd.DataFrame,
    opts: FitOptions,
    *,
    on_trial: TrialHook | None = None,
    on_plan: PlanHook | None = None,
) -> Run:
    """:func:`fit` with options already checked (:meth:`FitOptions.of`): the four phases.

    The run's processes start first (:func:`archselect.run._pool.open_pool`): the trial
    workers import torch while :func:`start` reads the data.
    """
    clock = Clock(opts.timeout, started_unix=_budget.COMMAND_START_UNIX)
    _budget.COMMAND_START_UNIX = None  # a later fit in this process starts its own clock
    specs = plan_workers(  # names of GPUs that are not there are refused before any work
        jobs=opts.jobs,
        devices=opts.devices,
        trials_per_device=opts.trials_per_device,
        n_trials=opts.trials,
        timeout_s=opts.timeout,
    )
    with open_pool(
        specs, max_failures=opts.max_failures, budgeted=opts.timeout is not None
    ) as pool:
        started = start(data, opts, clock, specs, on_plan=on_plan)
        # the search leaves time for the order control and the learning curves
        searched = search(
            started, opts, clock, pool, on_trial=on_trial, reserve_s=controls_reserve(clock)
        )
        # the workers have ended: the job server trains beside this process
        lanes = after_search(pool, started)
        own = functools.partial(
            final_need, started.run_dir, started.prepared, budget_s=clock.budget_s
        )
        controls, searched = run_controls(
            started.prepared, started.profile, started.plan, searched, clock, lanes, own
        )
        rec, interrupted = final_model(started, searched, clock, lanes)
    write(started, searched, controls.applied_to(rec), clock)
    remove_work(started.run_dir / WORK)
    if interrupted is not None:
        raise interrupted
    _signals.check()  # a signal during the export or the report: written whole, then stop
    return Run(started.run_dir)


# --- phase 1: start -----------------------------------------------------------------------


def start(
    data: str | Path | pd.DataFrame,
    opts: FitOptions,
    clock: Clock,
    workers: tuple[WorkerSpec, ...] = (),
    *,
    on_plan: PlanHook | None = None,
) -> Started:
    """Load, profile, prepare and plan; refuse a run directory or study this run may not
    use; write ``profile.json`` and ``plan.json``. ``workers``: the run's trial processes
    (:func:`archselect.run.plan_workers`), recorded in ``plan.json``."""
    with clock.phase("load"), _signals.interruptible():
        table = load_table(data, target=opts.target)
    run_dir = opts.out if opts.out is not None else default_run_dir(table)
    guard_run_dir(run_dir, table, opts.force)
    with clock.phase("profile"), _signals.interruptible():
        profile = _profile(table, opts)
    with clock.phase("prepare"), _signals.interruptible():
        prepared = prepare(table, profile, seed=opts.seed)
    plan = make_plan(
        profile,
        families=opts.families,
        n_trials=opts.trials,
        timeout_s=opts.timeout,
        seed=opts.seed,
        spaces=opts.spaces,
        objectives=opts.objectives,
        pruning=opts.pruning,
    )
    clock.budget_s = plan.timeout_s  # the default budget bounds the whole command too
    _guard_resume(run_dir, opts, profile, plan)
    run_dir.mkdir(parents=True, exist_ok=True)
    url = storage_url(run_dir, opts.storage)
    started = Started(table, profile, prepared, plan, run_dir, url, workers)
    _write_start(started, opts)
    if on_plan is not None:
        on_plan(plan)
    return started


def _profile(table: Table, opts: FitOptions) -> Profile:
    return profile_table(
        table,
        target=opts.target,
        task=opts.task,
        modality=opts.modality,
        shape=opts.shape,
        layout=opts.layout,
        id_col=opts.id_col,
        time_col=opts.time_col,
        seed=opts.seed,
        tokenizer=opts.tokenizer,
        horizon=opts.horizon,
        window=opts.window,
    )


def _guard_resume(run_dir: Path, opts: FitOptions, profile: Profile, plan: Plan) -> None:
    """Refuse to resume a study begun with other settings (another target, task, input,
    metric or family list), before any file of that run is touched. ``--force`` starts the
    run over when its study is the run directory's own SQLite file."""
    if opts.storage is None and not (run_dir / STUDY_DB).exists():
        return
    url = storage_url(run_dir, opts.storage)
    conflicts = resume_conflicts(url, opts.study_name, profile, plan)
    if not conflicts:
        return
    if opts.force and opts.storage is None:
        remove_own_files(run_dir)
        return
    where = f"study {opts.study_name!r} in --storage" if opts.storage else str(run_dir)
    fix = (
        "pass another --study or --out"
        if opts.storage
        else "pass --force to start it over, or choose another --out"
    )
    raise UsageError(
        f"{where} holds a search begun with other settings ({'; '.join(conflicts)}), which "
        f"this run cannot resume; rerun with the settings that began it, or {fix}."
    )


def _write_start(started: Started, opts: FitOptions) -> None:
    """``profile.json`` (with the report's data sample) and ``plan.json`` (with the run's
    command, seed, storage, data hash, versions and machine)."""
    table, profile, plan = started.table, started.profile, started.plan
    info = RunInfo(
        format_version=RUN_FORMAT,
        archselect_version=__version__,
        command=mask_url(opts.command or "archselect.fit(...)"),
        seed=opts.seed,
        storage=mask_url(started.url),
        study_name=opts.study_name,
        data_path=table.facts.path,
        data_sha256=table.facts.sha256,
        data_size_bytes=table.facts.size_bytes,
        versions=versions(),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        cpu_model=cpu_model(),
        gpu_model=gpu_model(in_process=not started.workers),
        processes=max(1, len(started.workers)),
    )
    stored = RunProfile(
        **{f.name: getattr(profile, f.name) for f in dataclasses.fields(profile)},
        preview=_preview(table, profile, opts.seed),
    )
    stored.save(started.run_dir / PROFILE)
    fields = {f.name: getattr(plan, f.name) for f in dataclasses.fields(plan)}
    chance = chance_level(started.prepared, folds=bool(cross_folds(started.prepared, opts.seed)))
    RunPlan(**fields, run=info, chance_metric=chance).save(started.run_dir / PLAN)


def _preview(table: Table, profile: Profile, seed: int) -> DataPreview | None:
    """The report's data sample; a failure here costs the picture, never the run."""
    try:
        return data_preview(table, profile, seed=seed)
    except Exception as exc:
        _log.warning("data preview skipped: %s: %s", type(exc).__name__, exc)
        return None


# --- phase 2: search ----------------------------------------------------------------------


def search(
    started: Started,
    opts: FitOptions,
    clock: Clock,
    pool: Pool,
    *,
    on_trial: TrialHook | None = None,
    reserve_s: float | None = None,
) -> Searched:
    """The study, its window and the prepared arrays handed to the workers (training from
    then on); the references as killable jobs beside them; then this process's own trials,
    and the workers' end; then the finalists' latency. A stop signal ends it with what
    finished (the workers stop too).

    ``reserve_s``: seconds of a ``--timeout`` kept after the search, for what runs between
    it and the final model (e.g. the order control and learning curves) and for the final
    model and the report (default: :data:`archselect._common.budget.RESERVE_FRACTION` of
    the budget)."""
    plan, url = started.plan, started.url
    # CPU work in this process runs with the trials' threads: a second OpenMP thread gains
    # little on small networks and loses much when anything else runs.
    cpu_threads = IN_PROCESS_CPU_THREADS if select_device() == "cpu" else None
    try:
        with clock.phase("baselines"):
            study = begin_search(started, opts, clock, pool, reserve_s=reserve_s)
        with clock.phase("search"):
            if pool.fit_trains:
                with torch_threads(cpu_threads):
                    run_trials(
                        study,
                        started.prepared,
                        plan,
                        on_trial=on_trial,
                        max_failures=opts.max_failures,
                    )
            pool.workers.wait()
        left = clock.left()
        with clock.phase("length latency"), torch_threads(cpu_threads):
            result = finish_search(
                study,
                started.prepared,
                plan,
                deadline=None
                if left is None
                else clock.unix(clock.elapsed() + LENGTH_LATENCY_SHARE * left),
            )
        close_storage(study)
        _signals.check()
    except KeyboardInterrupt as exc:  # what finished is kept; the caller re-raises
        pool.workers.stop(getattr(exc, "signum", signal.SIGINT))
        study = open_study(url, plan, study_name=opts.study_name, enqueue=False)
        result = collect_result(study, plan)
        close_storage(study)
        return Searched(result, interrupted=exc)
    return Searched(result)


# --- phase 3: the final model ---------------------------------------------------------------


def after_search(pool: Pool, started: Started) -> Lanes:
    """The lanes of the work after the search: on the CPU, this process and the run's job
    server beside it (:class:`archselect.run._lanes.Lanes`); on a GPU, this process."""
    if select_device() != "cpu":
        return Lanes()
    return Lanes(pool.job_server, started.run_dir / WORK / ARRAYS)


def final_model(
    started: Started, searched: Searched, clock: Clock, lanes: Lanes | None = None
) -> tuple[RunRecommendation, KeyboardInterrupt | None]:
    """Select the recommendation (the ensemble of the best trials is one more candidate),
    then export it: a network refit, a reference refit, or the ensemble. After a stop signal
    nothing is exported (the report is still written): the signal is returned with it."""
    prepared, plan, profile, run_dir = (
        started.prepared,
        started.plan,
        started.profile,
        started.run_dir,
    )
    result = searched.result
    write_trials_csv(result, run_dir / TRIALS)
    selected = add_ensemble(select(result, plan, profile), result, plan, prepared)
    rec = RunRecommendation(
        **{f.name: getattr(selected, f.name) for f in dataclasses.fields(selected)},
        importances=param_importances(started.url, study_name=result.study_name, seed=plan.seed),
        budget_s=clock.budget_s,
        first_result_s=first_results(result, clock),
    )
    if prepared.preprocessing.forecast is not None:
        rec = dataclasses.replace(rec, forecast_plot=forecast_plot_data(prepared, result, rec))
    if searched.interrupted is not None:
        return rec, searched.interrupted
    seed = plan.seed
    if rec.kind == ENSEMBLE:
        with clock.phase("final model"):
            left = clock.left()
            rec = export_ensemble(
                run_dir,
                prepared,
                plan,
                rec,
                result,
                seed,
                refit=functools.partial(refit_or_own, run_dir),
                model_dir=MODEL,
                time_left=None if left is None else max(0.0, left - REPORT_RESERVE_S),
            )
        return rec, None
    if rec.kind == "baseline" and rec.recommended is not None:
        with clock.phase("final model"):
            return export_reference(
                run_dir, prepared, profile, plan, rec, seed, result, clock
            ), None
    if rec.family is not None:
        try:
            exported = export_network(
                run_dir, prepared, profile, plan, rec, result, seed, clock, lanes
            )
            return exported, None
        except KeyboardInterrupt as exc:  # no model; the report is still written
            return rec, exc
    return rec, None


# --- phase 4: write ---------------------------------------------------------------------------


def write(started: Started, searched: Searched, rec: RunRecommendation, clock: Clock) -> None:
    """``recommendation.json`` (with where the time went) and ``report.html``."""
    from archselect.report import render_report

    path = started.run_dir / RECOMMENDATION
    dataclasses.replace(rec, phase_seconds=_phases(clock, searched.result)).save(path)
    with clock.phase("report"):
        render_report(started.run_dir)
    dataclasses.replace(rec, phase_seconds=_phases(clock, searched.result)).save(path)


def _phases(clock: Clock, result: SearchResult) -> dict[str, float]:
    """Seconds per phase of the command, and the trial seconds each family took."""
    phases = clock.summary()
    for t in result.trials:
        if t.duration_s is not None:
            key = f"trials: {t.family}"
            phases[key] = round(phases.get(key, 0.0) + t.duration_s, 2)
    return phases


def first_results(result: SearchResult, clock: Clock) -> dict[str, float]:
    """Seconds from the start of the command until each family's first measurement (a
    finished trial, or a pruned one such as a measured "too slow")."""
    out: dict[str, float] = {}
    for t in result.trials:
        if t.completed_unix is None or t.state not in ("COMPLETE", "PRUNED"):
            continue
        at = round(t.completed_unix - clock.unix(0.0), 2)
        if at >= 0:  # a trial of an earlier run of a resumed study is not this command's
            out[t.family] = min(out.get(t.family, at), at)
    return out


def forecast_plot_data(
    prepared: Prepared, result: SearchResult, rec: RunRecommendation
) -> dict[str, Any]:
    """The test period's truth and each family's best (and each baseline's) forecast."""
    spec = prepared.preprocessing.forecast
    assert spec is not None
    plot = prepared.plot  # several series: the one with most test windows
    start_at = plot.first_step if plot is not None else prepared.split.test[0] + spec.window
    trials = {t.number: t for t in result.trials}
    forecasts: dict[str, list[float]] = {}
    for fam in rec.families:
        best = trials.get(fam.best_trial) if fam.best_trial is not None else None
        if best is not None and best.test_forecast:
            forecasts[fam.family] = list(best.test_forecast)
    for b in result.baselines:
        if b.test_forecast:
            forecasts[b.name] = list(b.test_forecast)
    length = max((len(v) for v in forecasts.values()), default=0)
    end = min(len(prepared.series), start_at + length)
    context = max(0, start_at - FORECAST_PLOT_CONTEXT * spec.window)
    return {
        "time_column": spec.time_column,
        "frequency": spec.frequency,
        "horizon": spec.horizon,
        "times": list(prepared.times[start_at:end]),
        "truth": list(prepared.series[start_at:end]),
        "history_times": list(prepared.times[context:start_at]),
        "history": list(prepared.series[context:start_at]),
        "forecasts": {k: v[: end - start_at] for k, v in forecasts.items()},
        "baselines": [b.name for b in result.baselines if b.test_forecast],
        "note": (
            f"windows of {spec.window} steps, each forecasting {spec.horizon} steps, laid end "
            "to end over the test period (each block starts from true history)"
            + (f"; shown: {plot.reason}" if plot is not None else "")
        ),
        "series": plot.to_dict() if plot is not None else None,
        "id_column": spec.id_column,
    }
