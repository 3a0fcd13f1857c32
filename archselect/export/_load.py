"""Reading an exported model back (a network, a reference or an ensemble of them), and
writing it as ONNX."""

from __future__ import annotations

from pathlib import Path

from archselect.baselines_forecast import STATS_REFERENCES
from archselect.errors import RunDirError, UsageError
from archselect.export._ensemble import ENSEMBLE_KIND, EnsembleModel, load_ensemble
from archselect.export._files import ONNX_FILE, check_output_file, read_description
from archselect.export._forecast_reference import (
    ForecastReferenceModel,
    load_forecast_reference,
)
from archselect.export._network import ExportedModel, load_network
from archselect.export._onnx import write_network_onnx, write_reference_onnx
from archselect.export._reference import BaselineModel, load_reference
from archselect.layouts import onnx_input
from archselect.rundir import MODEL

__all__ = ["export_onnx", "load_model", "load_single"]


def load_single(
    model_dir: str | Path,
) -> ExportedModel | BaselineModel | ForecastReferenceModel:
    """Load the single model (a network or a reference, not an ensemble) in ``model_dir``.

    Raises:
        RunDirError: Files are missing, malformed, from a newer format, or tampered with.
    """
    model_dir = Path(model_dir)
    config, pre = read_description(model_dir)
    forecast_reference = config.family in STATS_REFERENCES and pre.forecast is not None
    if config.kind == "baseline" and forecast_reference:
        return load_forecast_reference(model_dir, config, pre)
    if config.kind == "baseline":
        return load_reference(model_dir, config, pre)
    if config.kind != "family":
        raise RunDirError(
            f"{model_dir} holds a damaged model description (kind {config.kind!r}; family, "
            "baseline or ensemble expected); refit it."
        )
    return load_network(model_dir, config, pre)


def _load_member(model_dir: Path) -> ExportedModel | BaselineModel:
    """An ensemble member: a network or a reference read from features (a forecast forms no
    ensemble).

    Raises:
        RunDirError: The member is a statistical forecast reference (a damaged ensemble).
    """
    member = load_single(model_dir)
    if isinstance(member, ForecastReferenceModel):
        raise RunDirError(
            f"{model_dir} holds a forecast reference inside an ensemble, which archselect never "
            "writes; refit the model."
        )
    return member


def load_model(
    model_dir: str | Path,
) -> ExportedModel | BaselineModel | ForecastReferenceModel | EnsembleModel:
    """Rebuild the exported network and load its weights safely (``weights_only=True``), load
    the exported reference (skops, allow-listed types only), or the ensemble of such models.

    Raises:
        RunDirError: Files are missing, malformed, from a newer format, or tampered with.
    """
    model_dir = Path(model_dir)
    config, pre = read_description(model_dir)
    if config.kind == ENSEMBLE_KIND:  # members are exported single models themselves
        return load_ensemble(model_dir, config, pre, load_member=_load_member)
    return load_single(model_dir)


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
    try:
        import onnx  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            "ONNX export needs the onnx extra; install it with pip install 'archselect[onnx]'."
        ) from exc
    model = load_model(model_dir)
    if isinstance(model, ForecastReferenceModel):
        raise UsageError(
            f"ONNX export of the statistical forecast reference {model.config.family} is not "
            "supported: it forecasts from a whole history, not from a tensor; use archselect "
            "predict."
        )
    if not isinstance(model, (ExportedModel, BaselineModel)):
        raise UsageError(
            "ONNX export of an ensemble is not supported yet; use archselect predict, or "
            "export a member's folder under model/members/."
        )
    pre = model.preprocessing
    out = Path(path) if path is not None else Path(model_dir) / ONNX_FILE
    check_output_file(
        out, "-o", run_dir=Path(model_dir).parent, may_replace=(f"{MODEL}/{ONNX_FILE}",)
    )
    if isinstance(model, BaselineModel):
        return write_reference_onnx(model.estimator, pre, model.config, out)
    if onnx_input(pre.layout, pre.form) is None:
        raise UsageError(
            f"ONNX export of {pre.layout} runs is not supported yet: its input step "
            "(tokenising text or cutting forecast windows) cannot run inside the graph; use "
            "archselect predict."
        )
    return write_network_onnx(model.net, pre, model.config.family, out)
