"""``Run``: a finished run read from its directory, with its model and a notebook view."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

import pandas as pd

from archselect.errors import UsageError
from archselect.export import (
    BaselineModel,
    EnsembleModel,
    ExportedModel,
    ForecastReferenceModel,
    load_model,
)
from archselect.load import load_table
from archselect.rundir import MODEL, RunDir, check_run_dir

__all__ = ["Run", "load"]


class Run(RunDir):
    """A finished (or interrupted) run, read from its directory.

    Example:
        >>> run = archselect.load("runs/digits")  # doctest: +SKIP
        >>> run.predict(frame)["prediction"]  # doctest: +SKIP
    """

    def __repr__(self) -> str:
        return f"Run({str(self.run_dir)!r})"

    def _repr_html_(self) -> str:
        """Jupyter: the report's verdict card and head-to-head table (no plotly, no script)."""
        from archselect.report import notebook_html

        return notebook_html(self.run_dir)

    @cached_property
    def model(self) -> ExportedModel | BaselineModel | ForecastReferenceModel | EnsembleModel:
        return load_model(self.run_dir / MODEL)

    def predict(self, data: str | Path | pd.DataFrame) -> pd.DataFrame:
        """Predict every row of ``data`` (a data file's path or a DataFrame); a target column
        is ignored.

        For a forecasting run, ``data`` is the history (time column, target, covariates):
        the result holds the next ``horizon`` steps after its last time, with their times.
        With several series (an id column), the next ``horizon`` steps of every series in
        the history, with their ids; the model is global, so an id never seen in training
        is forecast too. A statistical reference forecasts each series with its stored
        parameters, or fits them again where the history does not begin with the training
        series (``attrs["notes"]`` of the result says which).
        """
        if not isinstance(data, str | os.PathLike | pd.DataFrame):
            raise UsageError(
                f"Run.predict takes the path of a data file or a DataFrame, not a "
                f"{type(data).__name__}; wrap the rows as pd.DataFrame(rows, columns=[...]) "
                "with the training columns."
            )
        frame = load_table(data, target=self.profile.target, purpose="predict").frame
        return self.model.predict_frame(frame).reset_index(drop=True)


def load(run_dir: str | Path) -> Run:
    """Open a run directory written by :func:`fit` (checks it is one, and its format)."""
    run = Run(check_run_dir(run_dir))
    run.plan  # noqa: B018  (validates plan.json)
    return run
