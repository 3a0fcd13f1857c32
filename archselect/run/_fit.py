"""The pipeline driver: ``fit`` runs every stage and writes the run directory; ``Run`` reads it.

This module is not a stage: it is the one place that calls them in order
(load → profile → prepare → plan → search → select → report → export). The final model's
refit and export are in :mod:`archselect.run._refit`; ``Run`` and ``load`` in
:mod:`archselect.run._view` (re-exported here).
"""

from __future__ import annotations

import dataclasses
import logging
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archselect._common import budget as _budget
from archselect._common import signals as _signals
from archselect._common.budget import BASELINE_FRACTION, Clock, search_window
from archselect._common.version import RUN_FORMAT, __version__
from archselect.core.stored import DataPreview, RunProfile, RunRecommendation
from archselect.errors import UsageError
from archselect.load import Table, load_table
from archselect.plan import Plan, make_plan
from archselect.prepare import Prepared, prepare
from archselect.profile import Profile, data_preview, profile_table
from archselect.run._ensemble import add_ensemble, export_ensemble
from archselect.run._refit import (
    REPORT_RESERVE_S,
    FinalModel,
    _refit_final,
    export_network,
    export_reference,
    plan_refit,
)
from archselect.run._view import Run, load
from archselect.run._workers import plan_workers, run_local_workers
from archselect.rundir import (
    MODEL,
    OWN_FILES,
    OWN_MODEL_FILES,
    PLAN,
    PROFILE,
    RECOMMENDATION,
    REPORT,
    STUDY_DB,
    TRIAL_COLUMNS,
    TRIALS,
    RunInfo,
    RunPlan,
    default_run_dir,
    guard_run_dir,
    read_trials_csv,
    remove_own_files,
    write_trials_csv,
)
from archselect.search import (
    RECIPE_FORMAT,
    STUDY_NAME,
    SearchResult,
    StudyRecipe,
    TrialRecord,
    close_storage,
    collect_result,
    finish_search,
    mask_url,
    open_study,
    param_importances,
    prepare_study,
    resume_conflicts,
    run_trials,
    set_window,
    storage_url,
)
from archselect.select import ENSEMBLE, Recommendation, select
from archselect.train import (
    select_device,
    torch_threads,
)

__all__ = [
    "MODEL",
    "OWN_FILES",
    "OWN_MODEL_FILES",
    "PLAN",
    "PROFILE",
    "RECOMMENDATION",
    "REPORT",
    "STUDY_DB",
    "TRIALS",
    "TRIAL_COLUMNS",
    "FinalModel",
    "Run",
    "RunInfo",
    "RunPlan",
    "fit",
    "load",
    "plan_refit",
    "read_trials_csv",
    "write_trials_csv",
]

TrialHook = Callable[[TrialRecord], None]
#: Seeds feed numpy, scikit-learn and torch, which all accept 0 … 2**32 - 1.
MAX_SEED = 2**32 - 1


def check_run_options(*, seed: int, max_failures: int | None) -> None:
    """Refuse option values the stages cannot use, before any work starts.

    Example:
        >>> check_run_options(seed=0, max_failures=None)
    """
    if not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed must be between 0 and {MAX_SEED}, not {seed}.")
    if max_failures is not None and max_failures < 1:
        raise UsageError(
            f"--max-failures must be at least 1, not {max_failures}; leave it out for no limit."
        )


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


#: Where Linux names the CPU, and where the NVIDIA driver names each GPU (no CUDA context).
_CPUINFO = Path("/proc/cpuinfo")
_NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``, else :func:`platform.processor`), or ``""``."""
    try:
        for line in _CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_model(*, in_process: bool) -> str:
    """The GPU model when trials can use one (CUDA visible to torch), else ``""``.

    Read from the NVIDIA driver's ``/proc`` entries, which opens no CUDA context in this
    process; failing that, from torch only when trials run in this process (they open one).
    """
    import torch

    if not torch.cuda.is_available():
        return ""
    names: list[str] = []
    for info in sorted(_NVIDIA_GPUS.glob("*/information")):
        try:
            text = info.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model" and value.strip() and value.strip() not in names:
                names.append(value.strip())
    if names:
        return ", ".join(names)
    return torch.cuda.get_device_name(0) if in_process else ""


def _versions() -> dict[str, str]:
    import optuna
    import pytorch_lightning
    import sklearn
    import torch

    return {
        "python": platform.python_version(),
        "archselect": __version__,
        "torch": torch.__version__,
        "pytorch_lightning": pytorch_lightning.__version__,
        "optuna": optuna.__version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }


def _guard_resume(
    run_dir: Path, storage: str | None, study_name: str, profile: Profile, plan: Plan, force: bool
) -> None:
    """Refuse to resume a study begun with other settings (another target, task, input,
    metric or family list), before any file of that run is touched. ``force`` starts the
    run over when its study is the run directory's own SQLite file."""
    if storage is None and not (run_dir / STUDY_DB).exists():
        return
    conflicts = resume_conflicts(storage_url(run_dir, storage), study_name, profile, plan)
    if not conflicts:
        return
    if force and storage is None:
        remove_own_files(run_dir)
        return
    where = f"study {study_name!r} in --storage" if storage else str(run_dir)
    fix = (
        "pass another --study name or --out"
        if storage
        else "pass --force to start it over, or choose another --out"
    )
    raise UsageError(
        f"{where} holds a search begun with other settings ({'; '.join(conflicts)}), which "
        f"this run cannot resume; rerun with the settings that began it, or {fix}."
    )


def _preview(table: Table, profile: Profile, seed: int) -> DataPreview | None:
    """The report's data sample; a failure here costs the picture, never the run."""
    try:
        return data_preview(table, profile, seed=seed)
    except Exception as exc:
        _log.warning("data preview skipped: %s: %s", type(exc).__name__, exc)
        return None


def fit(
    data: str | Path | pd.DataFrame,
    *,
    target: str | None = None,
    out: str | Path | None = None,
    trials: int | None = None,
    timeout: float | None = None,
    seed: int = 0,
    storage: str | None = None,
    study_name: str = STUDY_NAME,
    families: tuple[str, ...] | None = None,
    objectives: tuple[str, ...] | None = None,
    pruning: bool = True,
    task: str | None = None,
    modality: str | None = None,
    shape: str | None = None,
    layout: str | None = None,
    id_col: str | None = None,
    time_col: str | None = None,
    space_files: tuple[str | Path, ...] = (),
    force: bool = False,
    max_failures: int | None = None,
    on_trial: TrialHook | None = None,
    command: str | None = None,
    tokenizer: str | None = None,
    horizon: int | None = None,
    window: int | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    jobs: int | None = None,
    devices: str | None = None,
    trials_per_device: int = 1,
) -> Run:
    """Profile the data, search every fitting family, pick one, write the run directory.

    Rerunning with the same ``out`` resumes the study: finished trials are kept and count
    against ``trials``.

    Args:
        data: CSV path or DataFrame (target column included).
        target: Target column; detected when omitted.
        out: Run directory (default ``runs/<data file stem>``).
        trials: Trial budget. timeout: Seconds budget of the search: no trial starts after
            it, and trials still training then stop (a family's first result is let
            finish). With neither, a default of a few minutes (see
            :data:`archselect.plan.DEFAULT_TIMEOUT_S`).
        seed: One seed for the split, the sampler and training.
        storage: Optuna storage URL (default: SQLite ``RUN_DIR/study.db``).
        families: Restrict the search to these families.
        objectives: ``("accuracy", "latency")`` for a multi-objective study whose Pareto
            front is recorded in ``recommendation.json`` (default: the metric alone).
        pruning: Median pruning of unpromising trials (default on).
        task, modality, shape, layout: Override what the profiler detects (see
            :func:`archselect.profile_table`).
        id_col, time_col: Long format: the sequence id and step-order columns.
        force: Replace a run on different data in ``out`` (only archselect's files).
        tokenizer: ``word`` or ``char`` for text data (chosen from the texts when omitted).
        horizon: Forecast horizon in steps. window: Forecast input window in steps.
        on_plan: Called with the plan before the search starts (e.g. to size a progress bar).
        max_failures: Stop after this many failed trials.
        on_trial: Called with each finished trial (in-process trials only).
        jobs: Trial processes on CPU (default: measured best, see
            :func:`archselect.run._workers.plan_workers`).
        devices: GPU indices to use, e.g. ``"0,1"`` (default: every visible GPU).
        trials_per_device: Trial processes per GPU (pack small models).

    Returns:
        The :class:`Run`.

    Example:
        >>> import archselect  # doctest: +SKIP
        >>> run = archselect.fit("datasets/digits.csv", trials=4)  # doctest: +SKIP
        >>> run.recommendation.family  # doctest: +SKIP
        'cnn2d'
    """
    check_run_options(seed=seed, max_failures=max_failures)
    clock = Clock(timeout, started_unix=_budget.COMMAND_START_UNIX)
    _budget.COMMAND_START_UNIX = None  # a later fit in this process starts its own clock
    with clock.phase("load"), _signals.interruptible():
        table = load_table(data, target=target)
    run_dir = Path(out) if out is not None else default_run_dir(table)
    guard_run_dir(run_dir, table, force)
    with clock.phase("profile"), _signals.interruptible():
        profile = profile_table(
            table,
            target=target,
            task=task,
            modality=modality,
            shape=shape,
            layout=layout,
            id_col=id_col,
            time_col=time_col,
            seed=seed,
            tokenizer=tokenizer,
            horizon=horizon,
            window=window,
        )
    workers = plan_workers(
        jobs=jobs,
        devices=devices,
        trials_per_device=trials_per_device,
        n_trials=trials,
        timeout_s=timeout,
    )
    if workers and table.facts.path is None and jobs is not None:
        raise UsageError(
            "parallel trial processes read the data from a file; save the frame as CSV and "
            "pass its path, or use jobs=1."
        )
    if table.facts.path is None:
        workers = ()
    with clock.phase("prepare"), _signals.interruptible():
        prepared = prepare(table, profile, seed=seed)
    plan = make_plan(
        profile,
        families=families,
        n_trials=trials,
        timeout_s=timeout,
        seed=seed,
        space_files=space_files,
        objectives=objectives,
        pruning=pruning,
    )
    clock.budget_s = plan.timeout_s  # the default budget bounds the whole command too
    _guard_resume(run_dir, storage, study_name, profile, plan, force)
    run_dir.mkdir(parents=True, exist_ok=True)
    url = storage_url(run_dir, storage)
    info = RunInfo(
        format_version=RUN_FORMAT,
        archselect_version=__version__,
        command=mask_url(command or "archselect.fit(...)"),
        seed=seed,
        storage=mask_url(url),
        study_name=study_name,
        data_path=table.facts.path,
        data_sha256=table.facts.sha256,
        data_size_bytes=table.facts.size_bytes,
        versions=_versions(),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        cpu_model=cpu_model(),
        gpu_model=gpu_model(in_process=not workers),
        processes=max(1, len(workers)),
    )
    stored_profile = RunProfile(
        **{f.name: getattr(profile, f.name) for f in dataclasses.fields(profile)},
        preview=_preview(table, profile, seed),
    )
    stored_profile.save(run_dir / PROFILE)
    stored_plan = RunPlan(
        **{f.name: getattr(plan, f.name) for f in dataclasses.fields(plan)}, run=info
    )
    stored_plan.save(run_dir / PLAN)
    if on_plan is not None:
        on_plan(plan)
    recipe = StudyRecipe(
        format_version=RECIPE_FORMAT,
        data_path=str(Path(table.facts.path).resolve()) if table.facts.path else None,
        data_sha256=table.facts.sha256,
        seed=seed,
        profile=profile,
        plan=plan,
    )
    interrupted: BaseException | None = None
    try:
        with clock.phase("baselines"):
            left = clock.left()
            study = prepare_study(
                prepared,
                plan,
                storage=url,
                study_name=study_name,
                recipe=recipe,
                baseline_deadline=None
                if left is None or clock.budget_s is None
                else clock.unix(clock.elapsed() + BASELINE_FRACTION * clock.budget_s),
            )
        span = search_window(
            clock, n_families=len(plan.family_names), workers=max(1, len(workers))
        )
        set_window(study, span)
        # CPU work in this process runs with the trials' threads: a second OpenMP thread
        # gains little on small networks and loses much when anything else runs.
        cpu_threads = IN_PROCESS_CPU_THREADS if select_device() == "cpu" else None
        with clock.phase("search"):
            if workers:
                run_local_workers(url, study_name, workers, max_failures=max_failures)
            else:
                with torch_threads(cpu_threads):
                    run_trials(study, prepared, plan, on_trial=on_trial, max_failures=max_failures)
        left = clock.left()
        with clock.phase("length latency"), torch_threads(cpu_threads):
            result = finish_search(
                study,
                prepared,
                plan,
                deadline=None
                if left is None
                else clock.unix(clock.elapsed() + LENGTH_LATENCY_SHARE * left),
            )
        close_storage(study)
        _signals.check()
    except KeyboardInterrupt as exc:  # write what finished, then re-raise
        interrupted = exc
        study = open_study(url, plan, study_name=study_name, enqueue=False)
        result = collect_result(study, plan)
        close_storage(study)
    write_trials_csv(result, run_dir / TRIALS)
    selected = add_ensemble(select(result, plan, profile), result, plan, prepared)
    rec = RunRecommendation(
        **{f.name: getattr(selected, f.name) for f in dataclasses.fields(selected)},
        importances=param_importances(url, study_name=study_name, seed=seed),
        budget_s=clock.budget_s,
        first_result_s=first_results(result, clock),
    )
    if prepared.preprocessing.forecast is not None:
        rec = dataclasses.replace(rec, forecast_plot=forecast_plot_data(prepared, result, rec))
    if rec.kind == ENSEMBLE and interrupted is None:
        with clock.phase("final model"):
            left = clock.left()
            rec = export_ensemble(
                run_dir,
                prepared,
                plan,
                rec,
                result,
                seed,
                refit=_refit_final,
                model_dir=MODEL,
                time_left=None if left is None else max(0.0, left - REPORT_RESERVE_S),
            )
    elif rec.kind == "baseline" and rec.recommended is not None and interrupted is None:
        with clock.phase("final model"):
            rec = export_reference(run_dir, prepared, profile, plan, rec, seed, result, clock)
    elif rec.family is not None and interrupted is None:
        try:
            rec = export_network(run_dir, prepared, profile, plan, rec, result, seed, clock)
        except KeyboardInterrupt as exc:  # no model; the report is still written
            interrupted = exc
    rec = dataclasses.replace(rec, phase_seconds=_phases(clock, result))
    rec.save(run_dir / RECOMMENDATION)
    from archselect.report import render_report

    with clock.phase("report"):
        render_report(run_dir)
    dataclasses.replace(rec, phase_seconds=_phases(clock, result)).save(run_dir / RECOMMENDATION)
    if interrupted is not None:
        raise interrupted
    _signals.check()  # a signal during the export or the report: written whole, then stop
    return Run(run_dir)


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
    prepared: Prepared, result: SearchResult, rec: Recommendation
) -> dict[str, Any]:
    """The test period's truth and each family's best (and each baseline's) forecast."""
    spec = prepared.preprocessing.forecast
    assert spec is not None
    plot = prepared.plot  # several series: the one with most test windows
    start = plot.first_step if plot is not None else prepared.split.test[0] + spec.window
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
    end = min(len(prepared.series), start + length)
    context = max(0, start - FORECAST_PLOT_CONTEXT * spec.window)
    return {
        "time_column": spec.time_column,
        "frequency": spec.frequency,
        "horizon": spec.horizon,
        "times": list(prepared.times[start:end]),
        "truth": list(prepared.series[start:end]),
        "history_times": list(prepared.times[context:start]),
        "history": list(prepared.series[context:start]),
        "forecasts": {k: v[: end - start] for k, v in forecasts.items()},
        "baselines": [b.name for b in result.baselines if b.test_forecast],
        "note": (
            f"windows of {spec.window} steps, each forecasting {spec.horizon} steps, laid end "
            "to end over the test period (each block starts from true history)"
            + (f"; shown: {plot.reason}" if plot is not None else "")
        ),
        "series": plot.to_dict() if plot is not None else None,
        "id_column": spec.id_column,
    }
