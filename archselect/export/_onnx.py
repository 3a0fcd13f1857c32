"""The ONNX graph of an exported network or reference, with its fitted preprocessing inside.

:func:`archselect.export.export_onnx` loads and checks ``model/``; this module builds the
graph (a network through :class:`RawInputModel`; a reference through skl2onnx, with the
preprocessing as ONNX nodes in front) and writes it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from archselect._common.faults import write_atomic
from archselect.errors import UsageError
from archselect.export._files import BASELINE_FILE, ONNX_FILE
from archselect.layouts import OnnxInput, onnx_input, plugin_for
from archselect.models.ensemble import MeanEnsemble
from archselect.models.recurrent import RecurrentNet, UnpackedMaskedRecurrent
from archselect.prepare import Preprocessing

__all__ = [
    "PACKED_FAMILIES",
    "RawInputModel",
    "onnx_input_columns",
    "write_network_onnx",
    "write_reference_onnx",
]

_log = logging.getLogger(__name__)

#: ONNX operator set of the exported graph (supported by onnxruntime >= 1.17).
ONNX_OPSET = 18
#: Rows of the example batch the exporter traces (the batch axis stays dynamic).
TRACE_ROWS = 2
#: Families that pack variable-length sequences; packing cannot be traced, so their ONNX
#: graph computes the same numbers unpacked (``models.recurrent.UnpackedMaskedRecurrent``).
PACKED_FAMILIES = ("rnn", "lstm", "gru")


class RawInputModel(nn.Module):
    """Raw input → the model's outputs, with the fitted preprocessing inside.

    Inputs by the data's form (its layout's ``onnx_inputs``, :class:`OnnxInput`):

    * wide rows (tables, pixel columns, wide series): ``x`` float32 ``(N, F)``, the
      training feature columns in order (see :func:`onnx_input_columns`); NaN and
      infinities are imputed with the training medians, values standardised and reshaped
      (image ``(N, C, H, W)`` from row-major ``(H, W, C)`` pixels; series ``(N, T, C)``
      from channel groups);
    * long format (layout ``series_padded``): ``x`` float32 ``(N, T, C)`` raw values of the
      value columns, real steps first, anything after them, and ``lengths`` int64 ``(N,)``;
    * image files: ``x`` float32 ``(N, C, H, W)``, raw pixel values (0-255) resized to the
      training size.

    Outputs: classification ``proba`` ``(N, K)`` (softmax, in ``classes`` order) and
    ``label`` ``(N,)`` (class index); regression ``prediction`` ``(N,)`` in target units.
    """

    def __init__(self, net: nn.Module, pre: Preprocessing) -> None:
        super().__init__()
        self.net = net
        self.input_kind = onnx_input(pre.layout, pre.form)
        self.input_shape = tuple(pre.input_shape)
        order = plugin_for(pre.layout).columns
        # wide rows fill the arrival shape in file order; the permutation gives the input's
        self.arrival = None if order is None else order.arrival(self.input_shape)
        self.axes = () if order is None else tuple(a + 1 for a in order.axes)
        self.task = pre.task
        self.n_numeric = len(pre.numeric_columns())
        self.register_buffer("impute", torch.tensor(pre.impute, dtype=torch.float32))
        self.register_buffer("mean", torch.tensor(pre.mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(pre.std, dtype=torch.float32))
        self.target_mean = float(pre.target_mean)
        self.target_std = float(pre.target_std)

    def _wide(self, x: torch.Tensor) -> torch.Tensor:
        impute, mean, std = (
            self.get_buffer("impute"),
            self.get_buffer("mean"),
            self.get_buffer("std"),
        )
        num = x[:, : self.n_numeric]
        num = torch.where(torch.isfinite(num), num, impute)
        x = torch.cat([num, x[:, self.n_numeric :]], dim=1) if x.shape[1] > self.n_numeric else num
        x = (x - mean) / std
        if self.arrival is None:
            return x
        return x.reshape(-1, *self.arrival).permute(0, *self.axes)

    def _long(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        impute, mean, std = (
            self.get_buffer("impute"),
            self.get_buffer("mean"),
            self.get_buffer("std"),
        )
        t_max = self.input_shape[0]
        steps = torch.arange(t_max, device=x.device)
        mask = (steps[None, :] < lengths[:, None]).to(x.dtype)  # (N, T): 1 on real steps
        x = torch.where(torch.isfinite(x), x, impute)
        x = (x - mean) / std * mask[:, :, None]  # padding: zeros
        return torch.cat([x, mask[:, :, None]], dim=2)  # (N, T, C+1), mask last

    def _image(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self.get_buffer("mean"), self.get_buffer("std")
        return (x - mean[None, :, None, None]) / std[None, :, None, None]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> Any:
        if self.input_kind == OnnxInput.PADDED:
            assert lengths is not None
            x = self._long(x, lengths)
        elif self.input_kind == OnnxInput.IMAGES:
            x = self._image(x)
        else:
            x = self._wide(x)
        out = self.net(x)
        if self.task == "classification":
            return torch.softmax(out, dim=1), out.argmax(dim=1)
        return out[:, 0] * self.target_std + self.target_mean


def _traceable(net: nn.Module, pre: Preprocessing) -> nn.Module:
    """``net`` with packed recurrent parts in their unpacked form (same numbers, traceable)."""
    if isinstance(net, MeanEnsemble):
        return MeanEnsemble([_traceable(m, pre) for m in net.members], pre.task)
    if plugin_for(pre.layout).masked and isinstance(net, RecurrentNet):
        return UnpackedMaskedRecurrent(net)
    return net


def onnx_input_columns(pre: Preprocessing) -> list[str]:
    """Names of the ONNX input's columns: numeric features, then ``column=value`` one-hots.

    In long format these are the value columns (the channels of ``x``); for image files, the
    image column.
    """
    cols = pre.numeric_columns()
    for col, cats in pre.categories.items():
        cols += [f"{col}={cat}" for cat in cats]
    return cols


def _export_graph(
    wrapper: nn.Module,
    args: tuple[torch.Tensor, ...],
    tmp: Path,
    names: list[str],
    outputs: list[str],
    dynamic: tuple[dict[int, Any], ...],
) -> None:
    """Write the graph of ``wrapper`` to ``tmp``: with torch's TorchScript exporter where it
    works, else with the torch.export-based one.

    The TorchScript exporter maps recurrent layers to ONNX's own GRU/LSTM/RNN operators; the
    torch.export path decomposes them into one cell per time step, so its graph and its
    export time grow with the sequence length (a 24-step GRU: 0.3-1.3 s against 10-19 s
    on 2 cores, the same outputs to 1e-4). The second path stays for a torch that no longer
    ships the first, or a network it cannot script.
    """
    common: dict[str, Any] = {
        "input_names": names,
        "output_names": outputs,
        "opset_version": ONNX_OPSET,
        "verbose": False,
    }
    torchscript = {"dynamic_axes": {n: {0: "batch"} for n in names + outputs}, "dynamo": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(wrapper, args, str(tmp), **common, **torchscript)
            return
        except OSError:
            raise
        except Exception as exc:
            _log.debug("TorchScript ONNX export failed (%s); using torch.export", exc)
            tmp.unlink(missing_ok=True)
        torch.onnx.export(
            wrapper,
            args,
            str(tmp),
            **common,
            dynamic_shapes=dynamic,
            dynamo=True,
            external_data=False,
        )


def write_network_onnx(net: nn.Module, pre: Preprocessing, family: str, out: Path) -> Path:
    """Trace ``net`` with ``pre`` inside (:class:`RawInputModel`) and write it to ``out``.

    Raises:
        UsageError: The ONNX packages are missing, the family cannot be traced, or ``out``
            cannot be written.
    """
    import onnx

    wrapper = RawInputModel(_traceable(net, pre), pre).eval()
    batch = torch.export.Dim("batch")
    args: tuple[torch.Tensor, ...]
    names = ["x"]
    dynamic: tuple[dict[int, Any], ...] = ({0: batch},)
    kind = onnx_input(pre.layout, pre.form)
    if kind == OnnxInput.PADDED:
        t_max, width = pre.input_shape
        args = (torch.zeros(TRACE_ROWS, t_max, width - 1), torch.full((TRACE_ROWS,), t_max))
        names.append("lengths")
        dynamic = ({0: batch}, {0: batch})
    elif kind == OnnxInput.IMAGES:
        args = (torch.zeros(TRACE_ROWS, *pre.input_shape),)
    else:
        args = (torch.zeros(TRACE_ROWS, len(onnx_input_columns(pre))),)
    outputs = ["proba", "label"] if pre.task == "classification" else ["prediction"]
    tmp = out.with_name(out.name + ".tmp")
    try:
        _export_graph(wrapper, args, tmp, names, outputs, dynamic)
    except ImportError as exc:
        raise UsageError(
            f"ONNX export needs {exc.name}; install it with pip install 'archselect[onnx]'."
        ) from exc
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(
            f"-o {out} cannot be written ({exc.strerror or exc}); choose another path."
        ) from None
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(
            f"Family {family!r} cannot be exported to ONNX ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200]}); use model/weights.pt with archselect instead."
        ) from exc
    proto = onnx.load(str(tmp))
    onnx.helper.set_model_props(
        proto,
        {
            "input_columns": json.dumps(onnx_input_columns(pre)),
            "classes": json.dumps(list(pre.classes)),
            "task": pre.task,
            "family": family,
            "layout": pre.layout,
            "form": pre.form,
            "input_shape": json.dumps(list(pre.input_shape)),
        },
    )
    try:
        onnx.save(proto, str(tmp))
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UsageError(
            f"-o {out} cannot be written ({exc.strerror or exc}); choose another path."
        ) from None
    return out


def _order(pre: Any, width: int) -> Any:
    """Positions of the raw columns in the flattened model input (the layout's column order:
    images are read as ``(H, W, C)`` pixels and fed as ``(C, H, W)``; series as channel
    groups fed ``(T, C)``)."""
    return plugin_for(pre.layout).column_positions(tuple(pre.input_shape), width)


#: skl2onnx's words when it hands protobuf a Python bool for an int list (see
#: :func:`_hgb_flags_as_ints`).
_BOOL_IN_INT_LIST = "Expected an int, got a boolean"


@contextlib.contextmanager
def _hgb_flags_as_ints() -> Iterator[None]:
    """Convert HistGradientBoosting models with skl2onnx 1.20 under protobuf >= 7.

    skl2onnx (1.20, and its main branch when checked) gives every leaf of a
    HistGradientBoosting tree the missing-value flag ``False``, a Python bool, in the int
    list ``nodes_missing_value_tracks_true``; protobuf 7 refuses a bool there ("Expected an
    int, got a boolean"), so no HistGradientBoosting model converts (with protobuf 6 it
    does). For the length of one conversion, skl2onnx's function that fills those lists is
    wrapped so that the flags are ints: the same values, so the graph is the one protobuf 6
    would give. Used only after a conversion failed that way (see :func:`_convert`), and
    undone at once; tested for parity with ``archselect predict`` in tests/export.
    """
    from skl2onnx.operator_converters import random_forest

    name = "add_tree_to_attribute_pairs_hist_gradient_boosting"
    original = getattr(random_forest, name)

    def flags_as_ints(attr_pairs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        result = original(attr_pairs, *args, **kwargs)
        key = "nodes_missing_value_tracks_true"
        attr_pairs[key] = [int(v) for v in attr_pairs.get(key, [])]
        return result

    setattr(random_forest, name, flags_as_ints)
    try:
        yield
    finally:
        setattr(random_forest, name, original)


def _bool_in_int_list(exc: BaseException | None) -> bool:
    """Whether protobuf refused a bool in an int list somewhere in ``exc``'s chain."""
    while exc is not None:
        if _BOOL_IN_INT_LIST in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _convert(estimator: Any, pre: Any, family: str, width: int) -> Any:
    """The fitted reference as an ONNX model of ``width`` float inputs named ``features``.

    Raises:
        UsageError: skl2onnx cannot convert it (its own reason and versions named).
    """
    import skl2onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    kwargs = {
        "initial_types": [("features", FloatTensorType([None, width]))],
        "options": {id(final): {"zipmap": False}} if pre.task == "classification" else None,
    }
    try:
        try:
            return convert_sklearn(estimator, **kwargs)
        except (TypeError, ValueError) as exc:
            if not _bool_in_int_list(exc):
                raise
            with _hgb_flags_as_ints():
                return convert_sklearn(estimator, **kwargs)
    except Exception as exc:
        import onnx

        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise UsageError(
            f"Reference {family!r} cannot be exported to ONNX with skl2onnx "
            f"{skl2onnx.__version__} and onnx {onnx.__version__} ({type(exc).__name__}: "
            f"{reason}); use archselect predict (model/{BASELINE_FILE})."
        ) from exc


def _preprocessing_nodes(pre: Any, width: int) -> tuple[list[Any], dict[str, np.ndarray]]:
    """Nodes ``x`` → ``features``: impute non-finite values, standardise, reorder columns."""
    from onnx import helper

    n_numeric = len(pre.numeric_columns())
    impute = np.zeros(width, dtype=np.float32)
    impute[:n_numeric] = pre.impute
    consts = {
        "impute": impute,
        "mean": np.asarray(pre.mean, dtype=np.float32),
        "std": np.asarray(pre.std, dtype=np.float32),
        "order": _order(pre, width).astype(np.int64),
    }
    nodes = [
        helper.make_node("IsNaN", ["x"], ["is_nan"]),
        helper.make_node("IsInf", ["x"], ["is_inf"]),
        helper.make_node("Or", ["is_nan", "is_inf"], ["bad"]),
        helper.make_node("Where", ["bad", "impute", "x"], ["filled"]),
        helper.make_node("Sub", ["filled", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "std"], ["scaled"]),
        helper.make_node("Gather", ["scaled", "order"], ["features"], axis=1),
    ]
    return nodes, consts


def _output_nodes(
    pre: Any, graph: Any, consts: dict[str, np.ndarray]
) -> tuple[list[Any], list[Any]]:
    """Nodes after the estimator's graph, and the outputs: ``proba`` and ``label_index``
    (renamed ``label`` later), or ``prediction`` in target units."""
    from onnx import TensorProto, helper

    if pre.task == "classification":
        nodes = [
            helper.make_node("Identity", ["probabilities"], ["proba"]),
            helper.make_node("Cast", ["label"], ["label_index"], to=TensorProto.INT64),
        ]
        outputs = [
            helper.make_tensor_value_info("proba", TensorProto.FLOAT, [None, len(pre.classes)]),
            helper.make_tensor_value_info("label_index", TensorProto.INT64, [None]),
        ]
        return nodes, outputs
    value = next(iter(o.name for o in graph.output))
    consts["target_std"] = np.asarray([pre.target_std], dtype=np.float32)
    consts["target_mean"] = np.asarray([pre.target_mean], dtype=np.float32)
    consts["flat"] = np.asarray([-1], dtype=np.int64)
    nodes = [
        helper.make_node("Mul", [value, "target_std"], ["unscaled"]),
        helper.make_node("Add", ["unscaled", "target_mean"], ["prediction_2d"]),
        helper.make_node("Reshape", ["prediction_2d", "flat"], ["prediction"]),
    ]
    return nodes, [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, [None])]


def _name_label_output(model: Any) -> None:
    """Name the class-index output ``label``, as a network's graph does (skl2onnx's own
    ``label`` becomes ``label_raw``)."""
    for node in model.graph.node:
        node.output[:] = ["label_raw" if o == "label" else o for o in node.output]
        node.input[:] = ["label_raw" if i == "label" else i for i in node.input]
    model.graph.node[-1].output[:] = ["label"]
    model.graph.output[1].name = "label"


def write_reference_onnx(estimator: Any, pre: Any, config: Any, out: Path) -> Path:
    """Write a reference as ONNX with its preprocessing inside (same inputs and outputs as a
    network's graph: ``x`` raw rows → ``proba`` and ``label``, or ``prediction``).

    Raises:
        UsageError: skl2onnx is missing, cannot convert the reference, or the layout's
            input step cannot be in the graph.
    """
    if onnx_input(pre.layout, pre.form) != OnnxInput.COLUMNS:  # one raw column per input
        raise UsageError(
            f"ONNX export of a reference model on {pre.layout} data is not supported yet; "
            f"use archselect predict (model/{BASELINE_FILE})."
        )
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as exc:
        raise UsageError(
            f"ONNX export of a reference model needs {exc.name}; install it with "
            "pip install 'archselect[onnx]'."
        ) from exc
    columns = onnx_input_columns(pre)
    est = _convert(estimator, pre, config.family, len(columns))
    before, consts = _preprocessing_nodes(pre, len(columns))
    after, outputs = _output_nodes(pre, est.graph, consts)
    merged = helper.make_graph(
        before + list(est.graph.node) + after,
        "archselect_reference",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, len(columns)])],
        outputs,
        initializer=list(est.graph.initializer)
        + [numpy_helper.from_array(v, name=k) for k, v in consts.items()],
    )
    model = helper.make_model(merged, opset_imports=list(est.opset_import))
    model.ir_version = est.ir_version
    if pre.task == "classification":
        _name_label_output(model)
    onnx.checker.check_model(model)
    helper.set_model_props(
        model,
        {
            "input_columns": json.dumps(columns),
            "classes": json.dumps(list(pre.classes)),
            "task": pre.task,
            "family": config.family,
            "kind": "baseline",
            "layout": pre.layout,
            "form": pre.form,
            "input_shape": json.dumps(list(pre.input_shape)),
        },
    )
    out = out if out.suffix else out / ONNX_FILE
    return write_atomic(out, lambda tmp: onnx.save(model, str(tmp)))
