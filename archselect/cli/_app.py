"""The ``archselect`` command group, its shared options, checks and error handling.

The commands live in :mod:`archselect.cli._search` (``fit``, ``worker``) and
:mod:`archselect.cli._runs` (``profile``, ``predict``, ``report``, ``export``).
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

from archselect._common import signals as _signals
from archselect._common.faults import describe_write_fault
from archselect._common.secrets import install_log_filter, redact, remember_url
from archselect._common.version import __version__
from archselect.errors import ArchSelectError, UsageError

__all__ = ["EXIT_NO_MODEL", "cli", "parse_duration"]

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_NO_MODEL = 0, 1, 2, 3
#: Commands that run trials (an interrupt keeps the finished ones).
SEARCH_COMMANDS = ("fit", "worker")
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


def _print_traceback() -> None:
    click.echo(redact(traceback.format_exc()), err=True, nl=False)


#: What else a user may do about a full disk, by command (besides freeing space).
_FAULT_ADVICE = {"fit": " or choose another --out", "predict": " or choose another -o"}
_FAULT_ADVICE["export"] = _FAULT_ADVICE["predict"]


def _write_fault(command: str, kwargs: dict[str, Any], exc: Exception) -> str | None:
    """The sentence for a write fault behind ``exc`` (None: not one), naming the file, or
    the folder the command writes when the fault does not say which file."""
    where = kwargs.get("output") or kwargs.get("out") or kwargs.get("run_dir")
    if where is None and kwargs.get("data") is not None:  # fit's default run directory
        where = Path("runs") / Path(kwargs["data"]).name.split(".")[0]
    sentence = describe_write_fault(exc, where, advice=_FAULT_ADVICE.get(command, ""))
    if sentence is not None and command in SEARCH_COMMANDS:
        sentence = sentence.removesuffix(".") + " (finished trials are kept)."
    return sentence


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
            fault = _write_fault(fn.__name__, kwargs, exc)
            if fault is not None:  # a full disk or a file-size limit: bad luck, not a bug
                click.echo(f"error: {redact(fault)}", err=True)
                sys.exit(EXIT_BAD_INPUT)
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
            help="Single-threaded trial processes on CPU, this one included (default: one "
            "per core, or $ARCHSELECT_JOBS).",
        ),
        click.option(
            "--devices",
            help="GPU indices to run trials on, one process per GPU, e.g. 0,1 (default: all).",
        ),
        click.option(
            "--trials-per-device",
            type=int,
            help="Trial processes per GPU (default: up to 4, fewer with fewer cores; each "
            "trial starts when the GPU has room for the largest one measured).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


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
