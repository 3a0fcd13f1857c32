"""An exported non-deep reference: ``baseline.skops``, saved and loaded safely.

skops stores a scikit-learn estimator without pickle; loading refuses any type that is
neither among skops' trusted scikit-learn/numpy types nor in :data:`TRUSTED_TYPES` (the few
helper classes the references use), so a tampered file cannot run code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archselect._common.faults import write_atomic
from archselect.baselines import EXPORTABLE_BASELINES, baseline_inputs, baseline_outputs
from archselect.errors import RunDirError
from archselect.export._files import (
    BASELINE_FILE,
    CONFIG,
    ONNX_FILE,
    PREPROCESSING,
    REFERENCE_FILE,
    WEIGHTS,
    ModelConfig,
    outputs_frame,
)
from archselect.layouts import Preprocessing, transform

__all__ = [
    "TRUSTED_TYPES",
    "BaselineModel",
    "export_baseline",
    "load_estimator",
    "load_reference",
    "save_estimator",
]

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

    write_atomic(path, lambda tmp: sio.dump(estimator, tmp))


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
        out = self.predict_array(transform(pre, frame))
        return outputs_frame(pre, frame, out, proba=self.config.task == "classification")


def export_baseline(
    model_dir: Path, estimator: Any, preprocessing: Preprocessing, config: ModelConfig
) -> None:
    """Write ``baseline.skops``, ``config.json`` (``kind`` = ``baseline``) and
    ``preprocessing.json`` into ``model_dir``; a network's ``weights.pt`` there is removed."""
    model_dir.mkdir(parents=True, exist_ok=True)
    save_estimator(estimator, model_dir / BASELINE_FILE)
    (model_dir / WEIGHTS).unlink(missing_ok=True)
    (model_dir / REFERENCE_FILE).unlink(missing_ok=True)
    (model_dir / ONNX_FILE).unlink(missing_ok=True)
    config.save(model_dir / CONFIG)
    preprocessing.save(model_dir / PREPROCESSING)


def load_reference(model_dir: Path, config: ModelConfig, pre: Preprocessing) -> BaselineModel:
    """Load the reference described by ``config`` (already read and checked).

    Raises:
        RunDirError: An unknown reference, or a missing, damaged or untrusted estimator file.
    """
    if config.family not in EXPORTABLE_BASELINES:
        raise RunDirError(
            f"{model_dir} names an unknown reference model {config.family!r}; it was "
            "damaged or edited — refit the model."
        )
    estimator = load_estimator(model_dir / BASELINE_FILE)
    return BaselineModel(estimator=estimator, preprocessing=pre, config=config)
