"""An exported network: ``weights.pt`` (a state_dict) rebuilt through the model registry.

Weights load with ``torch.load(weights_only=True)``; the architecture comes from
``config.json`` (family and builder parameters), checked before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from archselect.errors import RunDirError
from archselect.export._files import (
    BASELINE_FILE,
    CONFIG,
    MAX_ENSEMBLE,
    PREPROCESSING,
    REFERENCE_FILE,
    WEIGHTS,
    ModelConfig,
    check_finite,
    forecast_frame,
)
from archselect.layouts import Preprocessing, samples, transform
from archselect.models import create_model
from archselect.models.ensemble import MeanEnsemble
from archselect.train import predict_outputs

__all__ = ["ExportedModel", "export_model", "load_network"]


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
        x = transform(pre, frame)
        out = predict_outputs(self.net, x)
        check_finite(out)
        rows = samples(pre, frame)  # one per row, or one per id in long format
        result = pd.DataFrame({"prediction": pre.decode_output(out)}, index=rows.index)
        if pre.id_column is not None:
            result.insert(0, pre.id_column, rows[pre.id_column])
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
        check_finite(out)
        values = [
            self.preprocessing.decode_forecast(s, out[i : i + 1])
            for i, (s, _) in enumerate(series)
        ]
        return forecast_frame(spec, [s for s, _ in series], np.concatenate(values))

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """Raw outputs for already-prepared input of shape ``(N, *input_shape)``."""
        return predict_outputs(self.net, x if x.dtype.kind in "iu" else x.astype(np.float32))


def export_model(
    model_dir: Path, net: nn.Module, preprocessing: Preprocessing, config: ModelConfig
) -> None:
    """Write ``weights.pt``, ``config.json`` and ``preprocessing.json`` into ``model_dir``."""
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / BASELINE_FILE).unlink(missing_ok=True)
    (model_dir / REFERENCE_FILE).unlink(missing_ok=True)
    tmp = model_dir / (WEIGHTS + ".tmp")
    torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, tmp)
    tmp.replace(model_dir / WEIGHTS)
    config.save(model_dir / CONFIG)
    preprocessing.save(model_dir / PREPROCESSING)


def load_network(model_dir: Path, config: ModelConfig, pre: Preprocessing) -> ExportedModel:
    """Rebuild the network described by ``config`` (already read and checked) and load its
    weights safely.

    Raises:
        RunDirError: ``weights.pt`` is missing, damaged, or does not fit the description.
    """
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
