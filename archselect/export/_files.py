"""The model directory's files and their description: names, ``config.json``
(:class:`ModelConfig`) with ``preprocessing.json``, read back and checked, and the guards on
output paths.

Nothing here is a pickle: the description is plain JSON, checked field by field before any
model is built from it (a damaged or hand-edited file is refused).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archselect._common.serde import JsonRecord
from archselect.errors import DataError, RunDirError
from archselect.layouts import OnnxInput, Preprocessing, plugin_for, registered_layouts, samples
from archselect.rundir import VIRTUAL_FILESYSTEMS, check_output_file

__all__ = [
    "ANCHORED_FORECAST_FORMAT",
    "BASELINE_FILE",
    "CONFIG",
    "EXPORT_FORMATS",
    "INPUT_FORMS",
    "LABEL_TYPES",
    "MAX_ENSEMBLE",
    "MODEL_FORMAT",
    "ONNX_FILE",
    "PREPROCESSING",
    "REFERENCE_FILE",
    "VIRTUAL_FILESYSTEMS",
    "WEIGHTS",
    "ModelConfig",
    "check_finite",
    "check_output_file",
    "forecast_frame",
    "outputs_frame",
    "read_description",
]

MODEL_FORMAT = 2
#: Format 2 wraps forecasters in LastValueAnchored; format-1 forecasters cannot be read.
ANCHORED_FORECAST_FORMAT = 2
#: Most networks an exported ensemble may hold (a damaged config.json cannot ask for more).
MAX_ENSEMBLE = 16
WEIGHTS = "weights.pt"
CONFIG = "config.json"
PREPROCESSING = "preprocessing.json"
ONNX_FILE = "model.onnx"
#: A reference model's fitted estimator (skops).
BASELINE_FILE = "baseline.skops"
#: A statistical forecast reference's fitted states (plain JSON).
REFERENCE_FILE = "reference.json"
#: Formats ``archselect export`` writes.
EXPORT_FORMATS = ("onnx",)
#: Values ``preprocessing.json`` may hold (anything else is a damaged or foreign file).
LABEL_TYPES = ("str", "int", "float")
INPUT_FORMS = (
    "table",
    "wide_pixels",
    "wide_groups",
    "wide_series",
    "long",
    "image_paths",
    "text",
    "dated_series",
    "dated_long",
)


def check_finite(out: np.ndarray) -> None:
    """Refuse to answer with NaN: rows whose output is not finite are named."""
    bad = ~np.isfinite(out.reshape(len(out), -1)).all(axis=1)
    if bad.any():
        rows = ", ".join(str(r + 1) for r in np.flatnonzero(bad)[:5])
        raise DataError(
            f"Sample(s) {rows} of the data give no finite prediction: their values lie far "
            "outside the range the model was trained on; check those rows."
        )


@dataclass(frozen=True)
class ModelConfig(JsonRecord):
    """How to rebuild the network: family, builder parameters and shapes."""

    family: str
    params: dict[str, Any]
    input_shape: tuple[int, ...]
    n_outputs: int
    task: str
    format_version: int = MODEL_FORMAT
    layout: str | None = None
    trained_on: str = "train+validation"
    #: How many refits with different seeds the exported model averages (1: a single net).
    ensemble: int = 1
    metrics: dict[str, float] = field(default_factory=dict)
    #: Why the model was trained with fewer seeds or epochs than planned (``--timeout``).
    note: str | None = None
    #: ``family`` (a network: ``weights.pt``) or ``baseline`` (the non-deep reference named
    #: ``family``: ``baseline.skops``, or ``reference.json`` for a statistical forecast).
    kind: str = "family"


def forecast_frame(spec: Any, series: list[Any], values: np.ndarray) -> pd.DataFrame:
    """Forecasts ``(S, horizon)`` of each series (:class:`~archselect.layouts.forecast.SeriesGrid`)
    as rows: the id (several series), the time column in the user's form, ``prediction``.

    ``spec`` is the :class:`~archselect.layouts.forecast.ForecastWindowing`.
    """
    columns: dict[str, Any] = {}
    if spec.id_column is not None:
        columns[spec.id_column] = np.repeat([s.series_id for s in series], spec.horizon)
    columns[spec.time_column] = np.concatenate(
        [spec.time_values(spec.future_times(s.grid[-1])) for s in series]
    )
    columns["prediction"] = np.asarray(values, dtype=np.float64).reshape(-1)
    return pd.DataFrame(columns)


def outputs_frame(
    pre: Preprocessing, frame: pd.DataFrame, out: np.ndarray, *, proba: bool
) -> pd.DataFrame:
    """One row per sample of ``frame``: its id (long format), ``prediction`` and, with
    ``proba``, ``proba_<class>`` from the class probabilities ``out`` ``(N, K)``."""
    rows = samples(pre, frame)
    result = pd.DataFrame({"prediction": pre.decode_output(out)}, index=rows.index)
    if pre.id_column is not None:
        result.insert(0, pre.id_column, rows[pre.id_column])
    if proba:
        for j, cls in enumerate(pre.classes):
            result[f"proba_{cls}"] = out[:, j]
    return result


#: JSON value types a builder parameter may have in ``config.json``.
_PARAM_TYPES = (bool, int, float, str, type(None))


def _mismatch(config: ModelConfig, pre: Preprocessing) -> str | None:
    """Why ``config.json`` and ``preprocessing.json`` cannot belong together (None if fine)."""
    if not isinstance(config.family, str) or not isinstance(config.params, dict):
        return "family must be a name and params an object"
    bad = [k for k, v in config.params.items() if not isinstance(v, _PARAM_TYPES)]
    if bad:
        return f"parameter {bad[0]!r} is not a plain number, text or flag"
    if tuple(config.input_shape) != tuple(pre.input_shape):
        return f"input shape {config.input_shape} vs {pre.input_shape}"
    if any(not isinstance(d, int) or d < 1 for d in pre.input_shape):
        return f"input shape {pre.input_shape} is not positive integers"
    if any(c not in pre.feature_columns for c in pre.categories):
        return "a categorical column is not a feature column"
    if len(pre.mean) != len(pre.std):
        return f"{len(pre.mean)} means for {len(pre.std)} scales"
    plugin = registered_layouts().get(pre.layout)
    if plugin is None:
        return f"layout {pre.layout!r} is unknown"
    if plugin.onnx_inputs.get(pre.form) == OnnxInput.COLUMNS:
        # one raw column per input (not text tokens or forecast windows): every length
        # follows from the feature columns
        n_numeric = len(pre.numeric_columns())
        width = n_numeric + sum(len(v) for v in pre.categories.values())
        if len(pre.impute) != n_numeric:
            return f"{len(pre.impute)} imputation values for {n_numeric} numeric columns"
        if len(pre.mean) != width:
            return f"{len(pre.mean)} means and {len(pre.std)} scales for {width} inputs"
        if int(np.prod(pre.input_shape)) != width:
            return f"input shape {pre.input_shape} does not hold {width} inputs"
    values = np.asarray([*pre.impute, *pre.mean, *pre.std], dtype=object)
    if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in values):
        return "imputation values, means and scales must be finite numbers"
    if any(v <= 0 for v in pre.std):
        return "scales must be positive"
    if config.task != pre.task:
        return f"task {config.task!r} vs {pre.task!r}"
    if pre.task == "classification" and len(pre.classes) != config.n_outputs:
        return f"{len(pre.classes)} classes for {config.n_outputs} outputs"
    return None


def _check_consistent(model_dir: Path, config: ModelConfig, pre: Preprocessing) -> None:
    try:
        why = _mismatch(config, pre)
    except (TypeError, ValueError) as exc:
        why = f"{type(exc).__name__}: {exc}"
    if why is not None:
        raise RunDirError(
            f"{model_dir} holds a model description that does not fit together ({why}); it "
            "was damaged or edited — refit the model."
        )


def _check_described(model_dir: Path, config: ModelConfig, pre: Preprocessing) -> None:
    """Refuse field values archselect never writes (a damaged or hand-edited description)."""
    fmt = config.format_version
    problems = []
    if isinstance(fmt, bool) or not isinstance(fmt, int):
        problems.append(f"{CONFIG} format_version {fmt!r} is not a whole number")
    if pre.label_type not in LABEL_TYPES:
        problems.append(f"{PREPROCESSING} label_type {pre.label_type!r} is unknown")
    if pre.form not in INPUT_FORMS:
        problems.append(f"{PREPROCESSING} form {pre.form!r} is unknown")
    if problems:
        raise RunDirError(
            f"{model_dir} holds a damaged model description ({problems[0]}); refit it."
        )


def read_description(model_dir: str | Path) -> tuple[ModelConfig, Preprocessing]:
    """``config.json`` and ``preprocessing.json`` of ``model_dir``, read and checked: known
    field values, parts that fit together, a format this archselect reads.

    Raises:
        RunDirError: Files are missing, malformed, from a newer format, or tampered with.
    """
    model_dir = Path(model_dir)
    try:
        config = ModelConfig.read(model_dir / CONFIG)
        pre = Preprocessing.read(model_dir / PREPROCESSING)
    except FileNotFoundError as exc:
        raise RunDirError(
            f"{model_dir} has no exported model ({Path(exc.filename).name} missing); "
            "run `archselect fit` to completion first."
        ) from exc
    except (json.JSONDecodeError, TypeError, KeyError, ValueError, AttributeError) as exc:
        raise RunDirError(
            f"{model_dir} holds a damaged model description ({exc}); refit it."
        ) from exc
    _check_described(model_dir, config, pre)
    _check_consistent(model_dir, config, pre)
    if config.format_version > MODEL_FORMAT:
        raise RunDirError(
            f"{model_dir} was written by a newer archselect (model format "
            f"{config.format_version} > {MODEL_FORMAT}); upgrade archselect to read it."
        )
    if plugin_for(pre.layout).forecast and config.format_version < ANCHORED_FORECAST_FORMAT:
        raise RunDirError(
            f"{model_dir} holds a forecaster from an older archselect (model format "
            f"{config.format_version}) whose network reads levels, not changes; refit it."
        )
    return config, pre
