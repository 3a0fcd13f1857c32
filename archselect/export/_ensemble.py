"""An exported ensemble of the best trials: its members, each a whole exported model, and
their weights.

``model/config.json`` says ``kind`` = ``ensemble``; ``model/ensemble.json`` lists the
members (a folder each under ``model/members/``, written by
:func:`archselect.export.export_model` or :func:`archselect.export.export_baseline`) with
their weights. Loading reads each member with :func:`archselect.export.load_model` (so each
is checked as any exported model is) and predicts the weighted mean of their class
probabilities (classification) or of their predictions in standardised units (regression;
``predict_frame`` answers in target units). Nothing is a pickle.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from archselect.errors import RunDirError
from archselect.export._files import (
    BASELINE_FILE,
    CONFIG,
    MAX_ENSEMBLE,
    ONNX_FILE,
    PREPROCESSING,
    REFERENCE_FILE,
    WEIGHTS,
    ModelConfig,
    outputs_frame,
)
from archselect.export._network import ExportedModel
from archselect.export._reference import BaselineModel
from archselect.layouts import Preprocessing, transform

__all__ = ["ENSEMBLE_FILE", "ENSEMBLE_KIND", "EnsembleModel", "load_ensemble", "write_ensemble"]

#: ``config.json``'s ``kind`` of an exported ensemble.
ENSEMBLE_KIND = "ensemble"
#: The members and weights of an exported ensemble.
ENSEMBLE_FILE = "ensemble.json"
#: The folder of the members' own model folders.
MEMBERS_DIR = "members"
#: Weights must sum to 1 within this (they are stored rounded).
WEIGHT_SUM_TOLERANCE = 1e-3
#: Files of a single exported model that an ensemble's folder must not keep.
_SINGLE_FILES = (WEIGHTS, ONNX_FILE, BASELINE_FILE, REFERENCE_FILE)


def _member_outputs(model: ExportedModel | BaselineModel, x: np.ndarray) -> np.ndarray:
    """A member's class probabilities ``(N, K)``, or its predictions ``(N, 1)`` in
    standardised units (regression), on prepared input."""
    out = model.predict_array(x)
    if model.config.task != "classification":
        return np.asarray(out, dtype=np.float64).reshape(len(out), -1)[:, :1]
    if isinstance(model, ExportedModel):  # a network answers logits
        return torch.softmax(torch.from_numpy(np.asarray(out)).double(), dim=1).numpy()
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class EnsembleModel:
    """A loaded ensemble: members, their weights, the shared preprocessing and the config;
    ``predict_frame`` answers as :class:`archselect.export.ExportedModel` does."""

    members: tuple[ExportedModel | BaselineModel, ...]
    weights: tuple[float, ...]
    preprocessing: Preprocessing
    config: ModelConfig

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """The weighted mean of the members' class probabilities ``(N, K)``, or of their
        predictions ``(N, 1)`` in standardised units (regression)."""
        classification = self.config.task == "classification"
        out = np.zeros((len(x), len(self.preprocessing.classes) if classification else 1))
        for model, w in zip(self.members, self.weights, strict=True):
            out += w * _member_outputs(model, x)
        return out

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One output row per input row, in order: ``prediction`` (target units for
        regression) and, for classification, ``proba_<class>``."""
        pre = self.preprocessing
        proba = self.config.task == "classification"
        return outputs_frame(pre, frame, self.predict_array(transform(pre, frame)), proba=proba)


def write_ensemble(
    model_dir: Path,
    members: list[tuple[dict[str, Any], Any]],
    config: ModelConfig,
    preprocessing: Preprocessing,
) -> None:
    """Write an ensemble into ``model_dir``: ``members`` are ``(description, writer)``
    pairs, ``writer(folder)`` exporting that member's model into its folder; the
    description (``name``, ``kind``, ``weight`` …) goes into :data:`ENSEMBLE_FILE`."""
    model_dir.mkdir(parents=True, exist_ok=True)
    for name in _SINGLE_FILES:
        (model_dir / name).unlink(missing_ok=True)
    shutil.rmtree(model_dir / MEMBERS_DIR, ignore_errors=True)
    listed = []
    for i, (desc, writer) in enumerate(members):
        folder = f"{MEMBERS_DIR}/{i}"
        writer(model_dir / folder)
        listed.append({**desc, "dir": folder})
    (model_dir / ENSEMBLE_FILE).write_text(
        json.dumps({"members": listed}, indent=2) + "\n", encoding="utf-8"
    )
    config.save(model_dir / CONFIG)
    preprocessing.save(model_dir / PREPROCESSING)


def _damaged(model_dir: Path, why: str) -> RunDirError:
    return RunDirError(
        f"{model_dir} holds a damaged ensemble description ({why}); refit the model."
    )


def load_ensemble(
    model_dir: Path,
    config: ModelConfig,
    pre: Preprocessing,
    *,
    load_member: Callable[[Path], ExportedModel | BaselineModel],
) -> EnsembleModel:
    """Load the ensemble in ``model_dir`` (its ``config.json`` already read and checked);
    ``load_member`` loads one member's folder (a single network or reference).

    Raises:
        RunDirError: The member list is missing, malformed, names a folder outside the
            model, or a member cannot be loaded.
    """
    try:
        listed = json.loads((model_dir / ENSEMBLE_FILE).read_text(encoding="utf-8"))["members"]
        folders = [str(m["dir"]) for m in listed]
        weights = [float(m["weight"]) for m in listed]
    except FileNotFoundError as exc:
        raise RunDirError(f"{model_dir} lacks {ENSEMBLE_FILE}; refit the model.") from exc
    except (json.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
        raise _damaged(model_dir, f"{type(exc).__name__}: {exc}") from exc
    if not 1 <= len(folders) <= MAX_ENSEMBLE:
        raise _damaged(model_dir, f"{len(folders)} members; 1 to {MAX_ENSEMBLE} expected")
    if not all(math.isfinite(w) and w >= 0 for w in weights) or not math.isclose(
        sum(weights), 1.0, abs_tol=WEIGHT_SUM_TOLERANCE
    ):
        raise _damaged(model_dir, "weights must be non-negative and sum to 1")
    root = model_dir.resolve()
    members = []
    for folder in folders:
        path = (model_dir / folder).resolve()
        if root not in path.parents:
            raise _damaged(model_dir, f"member folder {folder!r} lies outside the model")
        member = load_member(path)
        if member.config.task != config.task:
            raise _damaged(model_dir, f"member {folder!r} is not a single model of this task")
        members.append(member)
    total = sum(weights)
    return EnsembleModel(
        members=tuple(members),
        weights=tuple(w / total for w in weights),
        preprocessing=pre,
        config=config,
    )
