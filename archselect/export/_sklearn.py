"""A recommended non-deep reference as ``model/baseline.skops``: saved and loaded safely.

skops stores a scikit-learn estimator without pickle; loading refuses any type that is
neither among skops' trusted scikit-learn/numpy types nor in :data:`TRUSTED_TYPES` (the few
helper classes the references use), so a tampered file cannot run code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archselect.errors import RunDirError

__all__ = ["BASELINE_FILE", "TRUSTED_TYPES", "load_estimator", "save_estimator"]

BASELINE_FILE = "baseline.skops"
#: Types a reference's fitted estimator holds beyond skops' default trusted ones.
TRUSTED_TYPES = (
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    # MiniRocket (aeon): its kernels' dilations and biases are plain arrays
    "aeon.classification.convolution_based._minirocket.MiniRocketClassifier",
    "aeon.regression.convolution_based._minirocket.MiniRocketRegressor",
    "aeon.transformations.collection.convolution_based._minirocket.MiniRocket",
    "archselect.baselines._Series3D",
)


def save_estimator(estimator: Any, path: Path) -> None:
    """Write ``estimator`` to ``path`` with skops (atomically: a temporary file, renamed)."""
    import skops.io as sio

    tmp = path.with_name(path.name + ".tmp")
    sio.dump(estimator, tmp)
    tmp.replace(path)


def load_estimator(path: Path) -> Any:
    """Read an estimator written by :func:`save_estimator`, trusting only known types.

    Raises:
        RunDirError: The file is missing, damaged, or holds a type outside the allow-list.
    """
    import skops.io as sio

    try:
        untrusted = sio.get_untrusted_types(file=path)
    except FileNotFoundError as exc:
        raise RunDirError(f"{path.parent} lacks {path.name}; refit the model.") from exc
    except Exception as exc:
        raise RunDirError(
            f"{path} cannot be read ({type(exc).__name__}); it is damaged or not archselect's "
            "— refit."
        ) from exc
    unknown = [t for t in untrusted if t not in TRUSTED_TYPES]
    if unknown:
        raise RunDirError(
            f"{path} holds a type archselect does not trust ({unknown[0]}); it was edited or is "
            "not archselect's — refit the model."
        )
    try:
        return sio.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise RunDirError(
            f"{path} cannot be loaded safely ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); refit the model."
        ) from exc


def _order(pre: Any, width: int) -> Any:
    """Positions of the raw columns in the flattened model input (the layout's column order:
    images are read as ``(H, W, C)`` pixels and fed as ``(C, H, W)``; series as channel
    groups fed ``(T, C)``)."""
    from archselect.layouts import plugin_for

    return plugin_for(pre.layout).column_positions(tuple(pre.input_shape), width)


def export_baseline_onnx(estimator: Any, pre: Any, config: Any, out: Path) -> Path:
    """Write a reference as ONNX with its preprocessing inside (same inputs and outputs as a
    network's graph: ``x`` raw rows → ``proba`` and ``label``, or ``prediction``).

    Raises:
        UsageError: skl2onnx is missing, or the layout's input step cannot be in the graph.
    """
    import json

    import numpy as np

    from archselect.errors import UsageError
    from archselect.export import ONNX_FILE, onnx_input_columns
    from archselect.layouts import OnnxInput, onnx_input

    if onnx_input(pre.layout, pre.form) != OnnxInput.COLUMNS:  # one raw column per input
        raise UsageError(
            f"ONNX export of a reference model on {pre.layout} data is not supported yet; "
            f"use archselect predict (model/{BASELINE_FILE})."
        )
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType
    except ImportError as exc:
        raise UsageError(
            f"ONNX export of a reference model needs {exc.name}; install it with "
            "pip install 'archselect[onnx]'."
        ) from exc
    columns = onnx_input_columns(pre)
    width = len(columns)
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    options = {id(final): {"zipmap": False}} if pre.task == "classification" else None
    try:
        est = convert_sklearn(
            estimator,
            initial_types=[("features", FloatTensorType([None, width]))],
            options=options,
        )
    except Exception as exc:
        raise UsageError(
            f"Reference {config.family!r} cannot be exported to ONNX ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200] if str(exc) else ''}); use archselect predict."
        ) from exc
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
    graph = est.graph
    outputs = {o.name for o in graph.output}
    if pre.task == "classification":
        nodes_after = [
            helper.make_node("Identity", ["probabilities"], ["proba"]),
            helper.make_node("Cast", ["label"], ["label_index"], to=TensorProto.INT64),
        ]
        out_info = [
            helper.make_tensor_value_info("proba", TensorProto.FLOAT, [None, len(pre.classes)]),
            helper.make_tensor_value_info("label_index", TensorProto.INT64, [None]),
        ]
    else:
        value = next(iter(outputs))
        consts["target_std"] = np.asarray([pre.target_std], dtype=np.float32)
        consts["target_mean"] = np.asarray([pre.target_mean], dtype=np.float32)
        consts["flat"] = np.asarray([-1], dtype=np.int64)
        nodes_after = [
            helper.make_node("Mul", [value, "target_std"], ["unscaled"]),
            helper.make_node("Add", ["unscaled", "target_mean"], ["prediction_2d"]),
            helper.make_node("Reshape", ["prediction_2d", "flat"], ["prediction"]),
        ]
        out_info = [helper.make_tensor_value_info("prediction", TensorProto.FLOAT, [None])]
    merged = helper.make_graph(
        nodes + list(graph.node) + nodes_after,
        "archselect_reference",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, width])],
        out_info,
        initializer=list(graph.initializer)
        + [numpy_helper.from_array(v, name=k) for k, v in consts.items()],
    )
    model = helper.make_model(merged, opset_imports=list(est.opset_import))
    model.ir_version = est.ir_version
    if pre.task == "classification":  # name the class-index output "label", as networks do
        for node in model.graph.node:
            node.output[:] = ["label_raw" if o == "label" else o for o in node.output]
            node.input[:] = ["label_raw" if i == "label" else i for i in node.input]
        model.graph.node[-1].output[:] = ["label"]
        model.graph.output[1].name = "label"
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
    tmp = out.with_name(out.name + ".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(out)
    return out
