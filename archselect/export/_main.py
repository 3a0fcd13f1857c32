"""Stage 8 — export: the chosen model as ``model/`` (state_dict + JSON), and its loader.

Nothing here is a pickle: weights load with ``torch.load(weights_only=True)``; the
architecture is rebuilt from ``config.json`` through the model registry; the
preprocessing is plain JSON numbers. A recommended non-deep reference (``kind`` =
``baseline`` in ``config.json``) is stored with skops instead of weights
(:mod:`archselect.export._sklearn`, allow-listed types only).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from archselect._common.serde import JsonRecord
from archselect.baselines import EXPORTABLE_BASELINES, baseline_inputs, baseline_outputs
from archselect.errors import DataError, RunDirError
from archselect.export._onnx import (
    PACKED_FAMILIES,
    RawInputModel,
    onnx_input_columns,
    write_network_onnx,
)
from archselect.export._sklearn import BASELINE_FILE, load_estimator, save_estimator
from archselect.layouts import OnnxInput, onnx_input, plugin_for, registered_layouts
from archselect.models import create_model
from archselect.models.ensemble import MeanEnsemble
from archselect.prepare import Preprocessing
from archselect.train import predict_outputs

if TYPE_CHECKING:
    from archselect.export._ensemble import EnsembleModel

__all__ = [
    "EXPORT_FORMATS",
    "MODEL_FORMAT",
    "ONNX_FILE",
    "PACKED_FAMILIES",
    "BaselineModel",
    "ExportedModel",
    "ModelConfig",
    "RawInputModel",
    "export_baseline",
    "export_model",
    "export_onnx",
    "load_model",
    "onnx_input_columns",
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
#: Kernel file systems (top-level folders) no output may be written into.
VIRTUAL_FILESYSTEMS = ("proc", "sys", "dev")


def check_output_file(output: Path, option: str, *, input_path: Path | None = None) -> None:
    """Refuse an output path that cannot take a new file, or that is the input data.

    Raises:
        UsageError: ``output`` is a folder, not a regular file, the input itself (a hard or
            symbolic link included), or its folder is missing or not writable.
    """
    from archselect.errors import UsageError

    if output.is_dir():
        raise UsageError(f"{option} {output} is a directory; give a file name inside it.")
    if (
        input_path is not None
        and output.exists()
        and input_path.exists()
        and os.path.samefile(output, input_path)
    ):
        raise UsageError(f"{option} {output} would overwrite the input data; choose another file.")
    if output.exists() and not output.is_file():
        raise UsageError(f"{option} {output} is not a regular file; choose a file to write.")
    folder = output.parent
    if not folder.is_dir():
        raise UsageError(
            f"{option} {output}: the folder {folder} does not exist; create it or choose "
            "another path."
        )
    virtual = output.resolve().parts[1:2] in [(top,) for top in VIRTUAL_FILESYSTEMS]
    if virtual or not os.access(folder, os.W_OK):
        raise UsageError(
            f"{option} {output}: the folder {folder} is not writable; choose another path."
        )


def _check_finite(out: np.ndarray) -> None:
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
    #: ``family``: ``baseline.skops``).
    kind: str = "family"


@dataclass(frozen=True)
class ExportedModel:
    """A loaded model: network, preprocessing and config; ``predict`` on raw rows."""

    net: nn.Module
    preprocessing: Preprocessing
    config: ModelConfig

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One output row per input row, in order: ``prediction`` (+ ``proba_<class>``).

        For a forecast, ``frame`` is the history: the result holds the next ``horizon``
        time steps after its last time (columns: the time column, ``prediction``). With
        several series (an id column), every series of the history is forecast from its own
        last window, ``horizon`` rows per series in order of first appearance (columns: the
        id, the time column, ``prediction``); the model is global, so a series id never seen
        in training is forecast too.
        """
        if self.preprocessing.forecast is not None:
            return self._forecast_frame(frame)
        pre = self.preprocessing
        x = pre.transform(frame)
        out = predict_outputs(self.net, x)
        _check_finite(out)
        samples = pre.samples(frame)  # one per row, or one per id in long format
        result = pd.DataFrame({"prediction": pre.decode_output(out)}, index=samples.index)
        if pre.id_column is not None:
            result.insert(0, pre.id_column, samples[pre.id_column])
        if self.config.task == "classification":
            proba = torch.softmax(torch.from_numpy(out).double(), dim=1).numpy()  # see ensemble
            for j, cls in enumerate(self.preprocessing.classes):
                result[f"proba_{cls}"] = proba[:, j]
        return result

    def _forecast_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The next ``horizon`` steps after the last time of each series of the history."""
        spec = self.preprocessing.forecast
        assert spec is not None
        series = self.preprocessing.forecast_windows(frame)
        last = np.concatenate([x[-1:] for _, x in series])
        out = predict_outputs(self.net, last)
        _check_finite(out)
        values = self.preprocessing.decode_output(out)
        times = [spec.future_times(s.grid[-1]) for s, _ in series]
        columns: dict[str, Any] = {}
        if spec.id_column is not None:
            columns[spec.id_column] = np.repeat([s.series_id for s, _ in series], spec.horizon)
        columns[spec.time_column] = np.concatenate([t.to_numpy() for t in times])
        columns["prediction"] = values.reshape(-1)
        return pd.DataFrame(columns)

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """Raw outputs for already-prepared input of shape ``(N, *input_shape)``."""
        return predict_outputs(self.net, x if x.dtype.kind in "iu" else x.astype(np.float32))


@dataclass(frozen=True)
class BaselineModel:
    """A loaded non-deep reference: estimator, preprocessing and config, as
    :class:`ExportedModel` (same ``predict_frame`` columns)."""

    estimator: Any
    preprocessing: Preprocessing
    config: ModelConfig

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities ``(N, K)`` or scaled values ``(N, 1)`` for prepared input."""
        pre = self.preprocessing
        inputs = baseline_inputs(self.config.family, x, pre)
        return baseline_outputs(self.estimator, inputs, pre.task, len(pre.classes))

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One output row per input row, in order: ``prediction`` (+ ``proba_<class>``)."""
        pre = self.preprocessing
        out = self.predict_array(pre.transform(frame))
        return outputs_frame(pre, frame, out, proba=self.config.task == "classification")


def outputs_frame(
    pre: Preprocessing, frame: pd.DataFrame, out: np.ndarray, *, proba: bool
) -> pd.DataFrame:
    """One row per sample of ``frame``: its id (long format), ``prediction`` and, with
    ``proba``, ``proba_<class>`` from the class probabilities ``out`` ``(N, K)``."""
    samples = pre.samples(frame)
    result = pd.DataFrame({"prediction": pre.decode_output(out)}, index=samples.index)
    if pre.id_column is not None:
        result.insert(0, pre.id_column, samples[pre.id_column])
    if proba:
        for j, cls in enumerate(pre.classes):
            result[f"proba_{cls}"] = out[:, j]
    return result


def export_baseline(
    model_dir: Path, estimator: Any, preprocessing: Preprocessing, config: ModelConfig
) -> None:
    """Write ``baseline.skops``, ``config.json`` (``kind`` = ``baseline``) and
    ``preprocessing.json`` into ``model_dir``; a network's ``weights.pt`` there is removed."""
    model_dir.mkdir(parents=True, exist_ok=True)
    save_estimator(estimator, model_dir / BASELINE_FILE)
    (model_dir / WEIGHTS).unlink(missing_ok=True)
    (model_dir / ONNX_FILE).unlink(missing_ok=True)
    config.save(model_dir / CONFIG)
    preprocessing.save(model_dir / PREPROCESSING)


def export_model(
    model_dir: Path, net: nn.Module, preprocessing: Preprocessing, config: ModelConfig
) -> None:
    """Write ``weights.pt``, ``config.json`` and ``preprocessing.json`` into ``model_dir``."""
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / BASELINE_FILE).unlink(missing_ok=True)
    tmp = model_dir / (WEIGHTS + ".tmp")
    torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, tmp)
    tmp.replace(model_dir / WEIGHTS)
    config.save(model_dir / CONFIG)
    preprocessing.save(model_dir / PREPROCESSING)


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


def load_model(model_dir: str | Path) -> ExportedModel | BaselineModel | EnsembleModel:
    """Rebuild the exported network and load its weights safely (``weights_only=True``), or
    load the exported reference (skops, allow-listed types only).

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
    if config.kind == "ensemble":  # members are exported models themselves
        from archselect.export._ensemble import load_ensemble

        return load_ensemble(model_dir, config, pre)
    if config.kind == "baseline":
        if config.family not in EXPORTABLE_BASELINES:
            raise RunDirError(
                f"{model_dir} names an unknown reference model {config.family!r}; it was "
                "damaged or edited — refit the model."
            )
        estimator = load_estimator(model_dir / BASELINE_FILE)
        return BaselineModel(estimator=estimator, preprocessing=pre, config=config)
    if config.kind != "family":
        raise RunDirError(
            f"{model_dir} holds a damaged model description (kind {config.kind!r}; family, "
            "baseline or ensemble expected); refit it."
        )
    if not isinstance(config.ensemble, int) or not 1 <= config.ensemble <= MAX_ENSEMBLE:
        raise RunDirError(
            f"{model_dir} holds a damaged model description (ensemble of {config.ensemble!r} "
            f"networks; 1 to {MAX_ENSEMBLE} expected); refit it."
        )
    try:
        members = [
            create_model(
                config.family,
                input_shape=config.input_shape,
                n_outputs=config.n_outputs,
                layout=pre.layout,
                **pre.model_inputs(),
                **config.params,
            )
            for _ in range(config.ensemble)
        ]
        net = members[0] if config.ensemble == 1 else MeanEnsemble(members, config.task)
        state = torch.load(model_dir / WEIGHTS, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    except FileNotFoundError as exc:
        raise RunDirError(f"{model_dir} lacks {WEIGHTS}; refit the model.") from exc
    except Exception as exc:
        raise RunDirError(
            f"{model_dir / WEIGHTS} cannot be loaded safely ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}); it is damaged or not archselect's — refit."
        ) from exc
    net.eval()
    return ExportedModel(net=net, preprocessing=pre, config=config)


def export_onnx(model_dir: str | Path, path: str | Path | None = None) -> Path:
    """Write the exported model of ``model_dir`` as ONNX, preprocessing included.

    The graph takes the raw feature rows (float32, batch axis dynamic) and needs only
    onnxruntime; its metadata holds ``input_columns``, ``classes`` and ``task`` as JSON.
    Categorical (text) columns must be one-hot encoded by the caller, in the
    ``column=value`` order of ``input_columns``.

    Args:
        model_dir: The ``model/`` directory of a run.
        path: Output file (default ``model_dir/model.onnx``).

    Returns:
        The path written.

    Raises:
        RunDirError: The model is missing or damaged.
        UsageError: The ONNX packages are missing, or the family cannot be exported.

    Example:
        >>> export_onnx("runs/digits/model")  # doctest: +SKIP
        PosixPath('runs/digits/model/model.onnx')
    """
    from archselect.errors import UsageError

    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "ONNX export needs the onnx extra; install it with pip install 'archselect[onnx]'."
        ) from exc
    model = load_model(model_dir)
    if not isinstance(model, (ExportedModel, BaselineModel)):
        raise UsageError(
            "ONNX export of an ensemble is not supported yet; use archselect predict, or "
            "export a member's folder under model/members/."
        )
    pre = model.preprocessing
    out = Path(path) if path is not None else Path(model_dir) / ONNX_FILE
    check_output_file(out, "-o")
    if isinstance(model, BaselineModel):
        from archselect.export._sklearn import export_baseline_onnx

        return export_baseline_onnx(model.estimator, pre, model.config, out)
    if onnx_input(pre.layout, pre.form) is None:
        raise UsageError(
            f"ONNX export of {pre.layout} runs is not supported yet: its input step "
            "(tokenising text or cutting forecast windows) cannot run inside the graph; use "
            "archselect predict."
        )
    return write_network_onnx(model.net, pre, model.config.family, out)
