"""Stage 8 — export: the chosen model as ``model/``, read back, and as ONNX.

Nothing here is a pickle. The package splits the stage by what is exported: ``_files`` (the
file names and the checked description, ``config.json`` + ``preprocessing.json``),
``_network`` (a network: ``weights.pt``, loaded with ``weights_only=True`` and rebuilt
through the model registry), ``_reference`` (a non-deep reference: ``baseline.skops``,
allow-listed types only), ``_ensemble`` (a weighted ensemble of such models, each in its own
folder), ``_onnx`` (the ONNX graphs, preprocessing inside) and ``_load`` (reading any of them
back, and ``export_onnx``).

Example:
    >>> from archselect.export import load_model
    >>> model = load_model("runs/digits/model")  # doctest: +SKIP
    >>> model.predict_frame(rows)  # doctest: +SKIP
"""

from __future__ import annotations

from archselect.export._ensemble import (
    ENSEMBLE_FILE,
    ENSEMBLE_KIND,
    EnsembleModel,
    load_ensemble,
    write_ensemble,
)
from archselect.export._files import (
    ANCHORED_FORECAST_FORMAT,
    BASELINE_FILE,
    CONFIG,
    EXPORT_FORMATS,
    INPUT_FORMS,
    LABEL_TYPES,
    MAX_ENSEMBLE,
    MODEL_FORMAT,
    ONNX_FILE,
    PREPROCESSING,
    REFERENCE_FILE,
    VIRTUAL_FILESYSTEMS,
    WEIGHTS,
    ModelConfig,
    check_finite,
    check_output_file,
    outputs_frame,
    read_description,
)
from archselect.export._forecast_reference import (
    ForecastReferenceModel,
    export_forecast_reference,
    load_forecast_reference,
)
from archselect.export._load import export_onnx, load_model, load_single
from archselect.export._network import ExportedModel, export_model, load_network
from archselect.export._onnx import PACKED_FAMILIES, RawInputModel, onnx_input_columns
from archselect.export._reference import (
    TRUSTED_TYPES,
    BaselineModel,
    export_baseline,
    load_estimator,
    load_reference,
    save_estimator,
)

__all__ = [
    "ANCHORED_FORECAST_FORMAT",
    "BASELINE_FILE",
    "CONFIG",
    "ENSEMBLE_FILE",
    "ENSEMBLE_KIND",
    "EXPORT_FORMATS",
    "INPUT_FORMS",
    "LABEL_TYPES",
    "MAX_ENSEMBLE",
    "MODEL_FORMAT",
    "ONNX_FILE",
    "PACKED_FAMILIES",
    "PREPROCESSING",
    "REFERENCE_FILE",
    "TRUSTED_TYPES",
    "VIRTUAL_FILESYSTEMS",
    "WEIGHTS",
    "BaselineModel",
    "EnsembleModel",
    "ExportedModel",
    "ForecastReferenceModel",
    "ModelConfig",
    "RawInputModel",
    "check_finite",
    "check_output_file",
    "export_baseline",
    "export_forecast_reference",
    "export_model",
    "export_onnx",
    "load_ensemble",
    "load_estimator",
    "load_forecast_reference",
    "load_model",
    "load_network",
    "load_reference",
    "load_single",
    "onnx_input_columns",
    "outputs_frame",
    "read_description",
    "save_estimator",
    "write_ensemble",
]
