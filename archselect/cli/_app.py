"""Command line: ``archselect fit | worker | profile | predict | report | export``.

Exit codes: 0 ok, 1 internal error, 2 bad input (one sentence, no traceback),
3 no model written (no trial finished: trials.csv and the report say why),
130 interrupted by SIGINT (Ctrl-C), 143 stopped by SIGTERM. ``--json`` prints only JSON
on stdout; logs go to stderr.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from archselect import _signals
from archselect._errors import ArchSelectError, UsageError
from archselect._secrets import install_log_filter, redact, remember_url
from archselect._version import __version__

__all__ = ["cli", "main", "parse_duration"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_NO_MODEL = 0, 1, 2, 3
#: Commands that run trials (an interrupt keeps the finished ones).
SEARCH_COMMANDS = ("fit", "worker")
#: Longest study name Optuna's storages hold (its ``studies.study_name`` column).
MAX_STUDY_NAME = 512
_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$"
)


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``1h30m`` → seconds.

    Example:
        >>> parse_duration("1h30m")
        5400.0
    """
    if text and text.strip().startswith("-"):
        raise UsageError(f"--timeout {text!r} must be longer than zero; write e.g. 90s or 15m.")
    m = _DURATION.match(text or "")
    if not text or not text.strip() or not m or not any(m.groups()):
        raise UsageError(f"--timeout {text!r} is not a duration; write e.g. 90s, 15m or 1h30m.")
    h, mnt, s = (float(g) if g else 0.0 for g in m.groups())
    seconds = h * 3600 + mnt * 60 + s
    if seconds <= 0:
        raise UsageError(f"--timeout {text!r} must be longer than zero; write e.g. 90s or 15m.")
    return seconds


def _check_study_name(name: str) -> None:
    if not name.strip() or len(name) > MAX_STUDY_NAME:
        raise UsageError(
            f"--study must be 1 to {MAX_STUDY_NAME} characters, not {len(name)}; "
            "choose a shorter name."
        )


def _split_list(text: str | None, option: str) -> tuple[str, ...] | None:
    """``"a, b"`` -> ``("a", "b")``; None stays None; a list of nothing is refused."""
    if text is None:
        return None
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    if not items:
        raise UsageError(f"{option} {text!r} names nothing; write e.g. {option} mlp,lstm.")
    return items


def _check_devices(devices: str | None) -> None:
    """``--devices`` must name GPUs this machine has (never a silent run on the CPU)."""
    if devices is None:
        return
    from archselect._parallel import gpu_count

    found = gpu_count()
    names = [d.strip() for d in devices.split(",") if d.strip()]
    missing = [d for d in names if d.isdigit() and int(d) >= found]
    if missing:
        have = f"GPUs 0-{found - 1}" if found else "no CUDA GPU"
        raise UsageError(
            f"--devices {devices} names GPU {missing[0]} but this machine has {have}; "
            "name a visible GPU, or leave out --devices to run on the CPU."
        )


def _print_traceback() -> None:
    click.echo(redact(traceback.format_exc()), err=True, nl=False)


def _handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().find_root().params.get("debug", False)
        _signals.install()
        install_log_filter()
        if kwargs.get("storage"):
            remember_url(kwargs["storage"])  # before anything records or prints it
        try:
            return fn(*args, **kwargs)
        except ArchSelectError as exc:
            if debug:
                _print_traceback()
            click.echo(f"error: {redact(str(exc))}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            if fn.__name__ in SEARCH_COMMANDS:
                what = (
                    "finished trials are kept and the report is written from them; rerun the "
                    "same command to resume."
                )
            else:
                what = f"{fn.__name__} stopped before it finished; rerun it."
            click.echo(f"interrupted ({_signals.signal_name()}): {what}", err=True)
            sys.exit(_signals.exit_code())
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if debug:
                _print_traceback()
            click.echo(
                f"internal error: {type(exc).__name__}: {redact(str(exc))} (rerun with --debug "
                "for the traceback, and report it)",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="archselect")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def cli(debug: bool) -> None:
    """archselect: measure whether a CNN, an RNN/LSTM/GRU, a 1-D CNN or no deep model
    fits your data, and by how much.

    \b
    Examples:
      archselect fit datasets/digits.csv --trials 12
      archselect profile datasets/gunpoint_train.csv --json
      archselect predict runs/digits new_rows.csv -o predictions.csv
      archselect report runs/digits
      archselect export runs/digits --format onnx

    \b
    Exit codes:
      0    ok
      1    internal error (a bug: rerun with --debug and report it)
      2    bad input (one sentence naming the problem and the fix)
      3    fit wrote no model: no trial finished (trials.csv and the report say why)
      130  interrupted (finished trials are kept; rerun to resume)
    """


_common_data_options = [
    click.option(
        "--target",
        help="Target column (default: a column named label/target/class/y, else the last column).",
    ),
    click.option(
        "--task",
        type=click.Choice(["classification", "regression"]),
        help="Override the detected task.",
    ),
    click.option(
        "--modality",
        type=click.Choice(["spatial", "sequential", "tabular"]),
        help="Override the detected modality.",
    ),
    click.option("--shape", help="Image shape HxW or HxWxC, e.g. 28x28x1 (implies spatial)."),
    click.option(
        "--layout",
        type=click.Choice(["image", "series", "series_padded", "table", "text", "forecast"]),
        help="Override the detected tensor layout (series_padded: long format).",
    ),
    click.option(
        "--id-col",
        help="Long format: the column naming each sequence (one label per id), or each "
        "dated series of a forecast (one global model).",
    ),
    click.option(
        "--time-col", help="Long format: the column ordering the steps within a sequence."
    ),
    click.option(
        "--tokenizer",
        type=click.Choice(["word", "char"]),
        help="Text tokens (default: char when most texts have no spaces, else word).",
    ),
    click.option(
        "--horizon", type=int, help="Forecast horizon in time steps (default by frequency)."
    ),
    click.option("--window", type=int, help="Forecast input window in time steps."),
]


def _data_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_common_data_options):
        fn = option(fn)
    return fn


def _parallel_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--jobs",
            type=int,
            help="Single-threaded trial processes on CPU (default: one per core for "
            "large budgets, measured faster; else 1).",
        ),
        click.option(
            "--devices",
            help="GPU indices to run trials on, one process per GPU, e.g. 0,1 (default: all).",
        ),
        click.option(
            "--trials-per-device",
            type=int,
            default=1,
            show_default=True,
            help="Trial processes per GPU (pack small models).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


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
    trials_per_device: int,
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
    import archselect
    from archselect._progress import TrialProgress
    from archselect._run import check_run_options

    if trials is not None and trials < 1:
        raise UsageError(f"--trials must be a positive number of trials, not {trials}.")
    check_run_options(seed=seed, max_failures=max_failures)
    timeout = parse_duration(timeout_text) if timeout_text is not None else None
    fams = _split_list(families, "--families")
    objs = _split_list(objectives, "--objectives")
    _check_study_name(study_name)
    _check_devices(devices)

    progress = None if quiet else TrialProgress()
    try:
        run = archselect.fit(
            data,
            target=target,
            out=out,
            trials=trials,
            timeout=timeout,
            seed=seed,
            storage=storage,
            families=fams,
            objectives=objs,
            pruning=pruning,
            task=task,
            modality=modality,
            shape=shape,
            layout=layout,
            id_col=id_col,
            time_col=time_col,
            tokenizer=tokenizer,
            horizon=horizon,
            window=window,
            space_files=tuple(spaces),
            force=force,
            max_failures=max_failures,
            on_trial=progress.trial if progress else None,
            on_plan=progress.start if progress else None,
            command=redact(" ".join(["archselect", *sys.argv[1:]]))
            if sys.argv[1:]
            else "archselect fit",
            study_name=study_name,
            jobs=jobs,
            devices=devices,
            trials_per_device=trials_per_device,
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
        click.echo(rec.headline)
        for reason in rec.reasons:
            click.echo(f"  - {reason}")
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
    required=True,
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
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No per-trial lines on stderr.")
@_handle_errors
def worker(
    storage: str,
    study_name: str,
    data: Path | None,
    threads: int | None,
    max_failures: int | None,
    index: int | None,
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
    from archselect._parallel import run_worker

    _check_study_name(study_name)
    if max_failures is not None and max_failures < 1:
        raise UsageError(f"--max-failures must be at least 1, not {max_failures}.")
    if threads is not None and threads < 1:
        raise UsageError(f"--threads must be at least 1, not {threads}.")
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


@cli.command()
@click.argument("data", type=click.Path(path_type=Path))
@_data_options
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON on stdout.")
@_handle_errors
def profile(
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
    as_json: bool,
) -> None:
    """Say what DATA holds (image, sequence or table), with the evidence.

    \b
    Example:
      archselect profile datasets/digits.csv --json
    """
    from archselect.load import load_table
    from archselect.profile import profile_table

    prof = profile_table(
        load_table(data, target=target),
        target=target,
        task=task,
        modality=modality,
        shape=shape,
        layout=layout,
        id_col=id_col,
        time_col=time_col,
        tokenizer=tokenizer,
        horizon=horizon,
        window=window,
    )
    if as_json:
        _emit_json(prof.to_dict())
        return
    click.echo(
        f"modality: {prof.modality} ({prof.layout}, from {prof.form}), "
        f"confidence {prof.confidence:.2f}"
    )
    click.echo(f"task: {prof.task}; target: {prof.target} ({prof.target_rule})")
    click.echo(f"input shape: {prof.input_shape}; rows: {prof.n_rows}")
    click.echo(f"why: {prof.decision}")
    for note in prof.notes:
        click.echo(f"note: {note}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write predictions to this CSV (default: stdout).",
)
@_handle_errors
def predict(run_dir: Path, data: Path, output: Path | None) -> None:
    """Predict every row of DATA with the model of RUN_DIR (a target column is ignored).

    For a forecasting run, DATA is the history and the output holds the next H time
    steps after its last time (columns: the time column, prediction); with several series
    (an id column), the next H steps of every series, ids unseen in training included
    (columns: the id, the time column, prediction).

    \b
    Example:
      archselect predict runs/gunpoint_train datasets/gunpoint_test.csv -o pred.csv
    """
    import archselect
    from archselect.export import check_output_file

    if output is not None:
        check_output_file(output, "-o", input_path=data)
    result = archselect.load(run_dir).predict(data)
    if output is None:
        click.echo(result.to_csv(index=False), nl=False)
    else:
        try:
            result.to_csv(output, index=False)
        except OSError as exc:
            raise UsageError(
                f"-o {output} cannot be written ({exc.strerror or exc}); choose another path."
            ) from None
        click.echo(f"{len(result)} predictions written to {output}", err=True)


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@_handle_errors
def report(run_dir: Path) -> None:
    """Re-render RUN_DIR/report.html from the run directory alone.

    \b
    Example:
      archselect report runs/digits
    """
    import archselect
    from archselect.report import render_report

    archselect.load(run_dir)
    click.echo(str(render_report(run_dir)))


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["onnx"]),
    default="onnx",
    show_default=True,
    help="Export format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output file (default RUN_DIR/model/model.onnx).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@_handle_errors
def export(run_dir: Path, fmt: str, output: Path | None, as_json: bool) -> None:
    """Write RUN_DIR's model as ONNX with its preprocessing inside (needs only onnxruntime).

    The model takes float32 rows of the training feature columns, in order (missing values
    allowed: they are imputed inside); text (categorical) columns must be one-hot encoded
    first, as listed in the model's input_columns metadata.

    \b
    Example:
      archselect export runs/digits --format onnx
      archselect export runs/digits -o digits.onnx --json
    """
    import archselect
    from archselect.export import export_onnx

    run = archselect.load(run_dir)
    path = export_onnx(run.run_dir / "model", output)
    if as_json:
        _emit_json({"format": fmt, "path": str(path), "family": run.model.config.family})
        return
    click.echo(str(path))


def _time_line(phases: dict[str, float] | None, budget_s: float | None) -> str | None:
    """Where the time went, in one line: each phase of the command, then the total.

    Example:
        >>> _time_line({"load": 0.5, "search": 80.0, "trials: mlp": 70.0, "total": 95.2}, 120.0)
        'time: load 0.5 s, search 80.0 s; total 95.2 s of a 120 s budget'
    """
    if not phases:
        return None
    parts = [
        f"{k} {v:.1f} s" for k, v in phases.items() if k != "total" and not k.startswith("trials:")
    ]
    total = phases.get("total")
    end = "" if total is None else f"; total {total:.1f} s"
    if total is not None and budget_s:
        end += f" of a {budget_s:g} s budget"
    return "time: " + ", ".join(parts) + end


def main() -> None:
    _signals.install()
    from archselect import _budget

    _budget.mark_command_start()
    cli(prog_name="archselect")
