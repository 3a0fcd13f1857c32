"""``archselect fit`` and ``archselect worker``: the commands that run trials."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from archselect._common.secrets import redact
from archselect.cli._app import (
    EXIT_NO_MODEL,
    _data_options,
    _emit_json,
    _handle_errors,
    _parallel_options,
    _time_line,
    cli,
    parse_duration,
)
from archselect.core.options import check_study_name
from archselect.errors import UsageError

__all__ = ["echo_verdict", "fit", "worker"]


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@_data_options
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Run directory (default runs/<data file name>). Rerunning resumes it.",
)
@click.option("--trials", type=int, help="Trial budget (finished trials of a resumed run count).")
@click.option(
    "--timeout",
    "timeout_text",
    help="Search time budget, e.g. 90s, 15m, 1h: no trial starts after it, trials still "
    "training stop there (a family's first result is let finish), then the winner is "
    "retrained.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="One seed for the split, the sampler and training.",
)
@click.option(
    "--storage",
    envvar="ARCHSELECT_STORAGE",
    help="Optuna storage URL (default SQLite RUN_DIR/study.db); also $ARCHSELECT_STORAGE.",
)
@click.option("--families", help="Comma-separated families to try, e.g. cnn1d,lstm.")
@click.option(
    "--objectives",
    help="accuracy (default; rmse for regression) or accuracy,latency for a Pareto front.",
)
@click.option(
    "--space",
    "spaces",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A TOML search space replacing the shipped one of the family it names.",
)
@click.option("--max-failures", type=int, help="Stop after this many failed trials.")
@click.option(
    "--pruning/--no-pruning",
    default=True,
    show_default=True,
    help="Stop trials whose learning curve falls below their family's median.",
)
@click.option(
    "--study",
    "study_name",
    default="archselect",
    show_default=True,
    help="Study name inside --storage (workers join it by this name).",
)
@_parallel_options
@click.option(
    "--force",
    is_flag=True,
    help="Replace a run on other data, or begun with other settings, in --out (only "
    "archselect's own files are removed).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print only the recommendation as JSON on stdout (progress stays on stderr).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@_handle_errors
def fit(
    data: Path,
    target: str | None,
    task: str | None,
    modality: str | None,
    shape: str | None,
    layout: str | None,
    id_col: str | None,
    time_col: str | None,
    tokenizer: str | None,
    horizon: int | None,
    window: int | None,
    out: Path | None,
    trials: int | None,
    timeout_text: str | None,
    seed: int,
    storage: str | None,
    families: str | None,
    objectives: str | None,
    spaces: tuple[Path, ...],
    max_failures: int | None,
    pruning: bool,
    study_name: str,
    jobs: int | None,
    devices: str | None,
    trials_per_device: int | None,
    force: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Profile DATA, search every fitting family, recommend one, write the run directory.

    With no budget flag the search runs 4 trials per family, stopping after 5 minutes
    at most. Progress (trials done/planned, best so far by family, elapsed and remaining
    time) goes to stderr; --quiet silences it.

    \b
    Examples:
      archselect fit datasets/digits.csv --trials 12
      archselect fit series.csv --families cnn1d,lstm --timeout 15m --out runs/series
      archselect fit series.csv --objectives accuracy,latency --trials 30
      archselect fit data.csv --trials 40 --storage postgresql://user@host/db --json
    """
    from archselect.core.options import FitOptions
    from archselect.load import check_named_columns

    opts = FitOptions.of(
        target=target,
        out=out,
        trials=trials,
        timeout=parse_duration(timeout_text) if timeout_text is not None else None,
        seed=seed,
        storage=storage,
        study_name=study_name,
        families=families,
        objectives=objectives,
        pruning=pruning,
        task=task,
        modality=modality,
        shape=shape,
        layout=layout,
        id_col=id_col,
        time_col=time_col,
        spaces=tuple(spaces),
        force=force,
        max_failures=max_failures,
        tokenizer=tokenizer,
        horizon=horizon,
        window=window,
        jobs=jobs,
        devices=devices,
        trials_per_device=trials_per_device,
        command=redact(" ".join(["archselect", *sys.argv[1:]]))
        if sys.argv[1:]
        else "archselect fit",
    )  # every value checked before torch is imported, and the columns named from the header
    check_named_columns(data, {"Target": target, "--id-col": id_col, "--time-col": time_col})
    from archselect.cli._progress import TrialProgress
    from archselect.run import fit_with

    progress = None if quiet else TrialProgress()
    try:
        run = fit_with(
            data,
            opts,
            on_trial=progress.trial if progress else None,
            on_plan=progress.start if progress else None,
        )
    finally:
        if progress is not None:
            progress.close()
    if not quiet:
        for note in run.profile.notes:
            click.echo(f"note: {note}", err=True)
    rec = run.recommendation
    if as_json:
        _emit_json(
            {
                "run_dir": str(run.run_dir),
                "report": str(run.report_path),
                "recommendation": rec.to_dict(),
            }
        )
    else:
        echo_verdict(rec, run.plan.layout)
        timing = _time_line(getattr(rec, "phase_seconds", None), getattr(rec, "budget_s", None))
        if timing:
            click.echo(timing)
        click.echo(f"report: {run.report_path}")
    if rec.recommended is None:
        click.echo(
            f"error: no model was written: no trial finished; see {run.run_dir / 'trials.csv'} "
            "for each trial's error.",
            err=True,
        )
        sys.exit(EXIT_NO_MODEL)


#: The first-screen lines the CLI prints under the headline (the rest is in the report).
CLI_LINES = ("Which model", "How sure", "Cost", "Still open", "Finding", "Order control")


def echo_verdict(rec: Any, layout: str | None) -> None:
    """The verdict as the report's first screen says it (:func:`archselect.core.verdict.describe`):
    the headline with the exported model's test figure, the short answers, then the reasons."""
    from archselect.core.verdict import describe

    text = describe(rec, layout=layout)
    click.echo(text.full_headline)
    for name, sentence in text.lines():
        if name in CLI_LINES:
            click.echo(f"{name.lower()}: {sentence}")
    for reason in text.reasons:
        click.echo(f"  - {reason}")


def _trial_printer(quiet: bool) -> Callable[[Any], None]:
    def on_trial(t: Any) -> None:
        if quiet:
            return
        value = "" if t.val_metric is None else f" val {t.val_metric:.4g}"
        why = f" ({t.error})" if t.error else ""
        secs = f" {t.duration_s:.1f}s" if t.duration_s is not None else ""
        click.echo(f"trial {t.number:3d} {t.family:<8} {t.state:<8}{value}{secs}{why}", err=True)

    return on_trial


@cli.command()
@click.option(
    "--storage",
    envvar="ARCHSELECT_STORAGE",
    help="Optuna storage URL of the study; better given as $ARCHSELECT_STORAGE, so the "
    "password stays off the command line.",
)
@click.option("--study", "study_name", default="archselect", show_default=True)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    help="Local copy of the study's data, when its recorded path does not exist here "
    "(verified by sha256).",
)
@click.option("--threads", type=int, help="Torch threads for this worker (default: torch's).")
@click.option("--max-failures", type=int, help="Stop after this many failed trials.")
@click.option("--index", type=int, hidden=True, help="Worker index (seeds its sampler).")
@click.option(
    "--from-fit",
    is_flag=True,
    hidden=True,
    help="Started by fit: the study and the prepared arrays arrive on standard input.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No per-trial lines on stderr.")
@_handle_errors
def worker(
    storage: str | None,
    study_name: str,
    data: Path | None,
    threads: int | None,
    max_failures: int | None,
    index: int | None,
    from_fit: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Join a study started by `fit --storage URL` and run its trials until the budget is spent.

    The study records the data path, its sha256, the profile and the plan: a worker needs
    only the storage URL and the study name. Data whose sha256 differs is refused (exit 2).

    \b
    Example:
      export ARCHSELECT_STORAGE=postgresql://me:secret@db.example/studies
      archselect worker --study gunpoint
    """
    if from_fit:  # started by fit at t = 0: its orders come on stdin, its lines go to stderr
        from archselect.run import run_fit_worker

        run_fit_worker(
            threads=threads,
            index=index,
            max_failures=max_failures,
            on_trial=_trial_printer(quiet),
        )
        return
    if storage is None:
        raise UsageError(
            "archselect worker needs the study's storage; pass --storage URL or set "
            "$ARCHSELECT_STORAGE."
        )
    check_study_name(study_name)  # the arguments first, before torch is imported
    if max_failures is not None and max_failures < 1:
        raise UsageError(f"--max-failures must be at least 1, not {max_failures}.")
    if threads is not None and threads < 1:
        raise UsageError(f"--threads must be at least 1, not {threads}.")
    from archselect.run import run_worker

    result = run_worker(
        storage,
        study_name,
        data=data,
        threads=threads,
        index=index,
        max_failures=max_failures,
        on_trial=_trial_printer(quiet),
    )
    states: dict[str, int] = {}
    for t in result.trials:
        states[t.state] = states.get(t.state, 0) + 1
    if as_json:
        _emit_json({"study": study_name, "storage": result.storage, "states": states})
    else:
        summary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items()))
        click.echo(f"study {study_name}: {summary}", err=True)
