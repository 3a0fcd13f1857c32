"""An exported network: ``weights.pt`` (a state_dict) rebuilt through the model registry.

Weights load with ``torch.load(weights_only=True)``; the architecture comes from
``config.json`` (family and builder parameters), checked before anything is built.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from archselect._common.faults import write_atomic
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
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    write_atomic(model_dir / WEIGHTS, lambda tmp: torch.save(state, tmp))
    config.save(model_dir / CONFIG)
    preprocessing.save(model_dir / PREPROCESSING)


def _build(config: ModelConfig, pre: Preprocessing) -> nn.Module:
    """The network ``config`` describes (``ensemble`` members averaged), freshly initialised."""
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
    return members[0] if config.ensemble == 1 else MeanEnsemble(members, config.task)


def _read_weights(model_dir: Path) -> dict[str, torch.Tensor]:
    """``weights.pt`` as a table of tensors, read with ``weights_only=True``.

    Raises:
        RunDirError: The file is missing, or is not a table of tensors written by archselect
            (torch's own message is never quoted: it advises ``weights_only=False``).
    """
    path = model_dir / WEIGHTS
    if not path.is_file():
        raise RunDirError(f"{model_dir} lacks {WEIGHTS}; refit the model.")
    not_ours = RunDirError(
        f"{path} is not a weights file written by archselect (damaged, truncated or "
        "replaced), so it cannot be loaded safely; refit the model."
    )
    try:
        with warnings.catch_warnings():  # torch's pickle-protocol warning is not for the user
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise not_ours from exc
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise not_ours
    return state


def _check_against_weights(
    model_dir: Path, config: ModelConfig, pre: Preprocessing, state: dict[str, torch.Tensor]
) -> None:
    """Refuse a description whose network would not have exactly the weights' tensors,
    before any memory is spent on it: no whole-number parameter may exceed the number of
    weights, and the network is built on the meta device (shapes, no storage) to compare
    every tensor's shape. An edited ``"width": 1000000000`` would otherwise allocate and
    initialise tens of GB before ``load_state_dict`` noticed.

    Raises:
        RunDirError: The description and the weights do not belong together.
    """
    n_weights = sum(int(v.numel()) for v in state.values())
    for name, value in config.params.items():
        if isinstance(value, int) and not isinstance(value, bool) and value > n_weights:
            raise RunDirError(
                f"{model_dir / CONFIG} sets {name} = {value}, more than the {n_weights:,} "
                f"weights in {WEIGHTS} hold; it was edited or damaged — refit the model."
            )
    try:
        with torch.device("meta"):
            expected = {k: tuple(v.shape) for k, v in _build(config, pre).state_dict().items()}
    except Exception as exc:
        raise RunDirError(
            f"{model_dir / CONFIG} describes a network that cannot be built "
            f"({type(exc).__name__}); it was edited or damaged — refit the model."
        ) from exc
    found = {k: tuple(v.shape) for k, v in state.items()}
    if expected != found:
        key = next((k for k in expected if expected[k] != found.get(k)), None)
        key = key if key is not None else sorted(set(found) - set(expected))[0]
        raise RunDirError(
            f"{model_dir / CONFIG} does not match {WEIGHTS} (tensor {key}: shape "
            f"{expected.get(key)} in the description, {found.get(key)} in the weights); it "
            "was edited or damaged — refit the model."
        )


def load_network(model_dir: Path, config: ModelConfig, pre: Preprocessing) -> ExportedModel:
    """Rebuild the network described by ``config`` (already read and checked) and load its
    weights safely: the weights are read first (``weights_only=True``), the description is
    checked against their shapes, and only then is the network built.

    Raises:
        RunDirError: ``weights.pt`` is missing, damaged, or does not fit the description.
    """
    if not isinstance(config.ensemble, int) or not 1 <= config.ensemble <= MAX_ENSEMBLE:
        raise RunDirError(
            f"{model_dir} holds a damaged model description (ensemble of {config.ensemble!r} "
            f"networks; 1 to {MAX_ENSEMBLE} expected); refit it."
        )
    state = _read_weights(model_dir)
    _check_against_weights(model_dir, config, pre, state)
    try:
        net = _build(config, pre)
        net.load_state_dict(state)
    except Exception as exc:
        raise RunDirError(
            f"{model_dir / WEIGHTS} does not fit {CONFIG} ({type(exc).__name__}); it is "
            "damaged or not archselect's — refit the model."
        ) from exc
    net.eval()
    return ExportedModel(net=net, preprocessing=pre, config=config)
