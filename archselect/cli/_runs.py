"""``archselect profile | predict | report | export``: the commands that read data or a run."""

from __future__ import annotations

from pathlib import Path

import click

from archselect._common.faults import describe_write_fault, write_atomic
from archselect.cli._app import _data_options, _emit_json, _handle_errors, cli
from archselect.errors import UsageError

__all__ = ["export", "predict", "profile", "report"]


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
    from archselect.load import check_named_columns, load_table
    from archselect.profile import profile_table

    check_named_columns(data, {"Target": target, "--id-col": id_col, "--time-col": time_col})
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
    from archselect.load import check_named_columns
    from archselect.rundir import check_output_file, check_run_dir

    check_run_dir(run_dir)  # the paths first, before torch is imported
    if output is not None:
        check_output_file(output, "-o", input_path=data, run_dir=run_dir)
    check_named_columns(data, {})  # the data file exists and is a regular file
    import archselect

    result = archselect.load(run_dir).predict(data)
    for note in result.attrs.get("notes", ()):
        click.echo(f"note: {note}", err=True)
    if output is None:
        click.echo(result.to_csv(index=False), nl=False)
    else:
        try:  # atomically: a failed write leaves the old file (or none), no half of one
            write_atomic(output, lambda tmp: result.to_csv(tmp, index=False))
        except OSError as exc:
            fault = describe_write_fault(exc, output, advice=" or choose another -o")
            raise UsageError(
                fault
                or f"-o {output} cannot be written ({exc.strerror or exc}); choose another path."
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
