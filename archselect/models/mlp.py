"""Multilayer perceptron on the flattened input: the no-structure control."""

from __future__ import annotations

import math

from torch import nn

from archselect.models._registry import register_model


def _block(n_in: int, n_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU(), nn.Dropout(dropout)
    )


@register_model("mlp", layouts=("image", "series", "series_padded", "table", "forecast"))
def mlp(
    input_shape: tuple[int, ...],
    n_outputs: int,
    *,
    layers: int = 2,
    width: int = 128,
    dropout: float = 0.1,
) -> nn.Module:
    n_in = math.prod(input_shape)
    blocks = [_block(n_in if i == 0 else width, width, dropout) for i in range(layers)]
    # (N, *input_shape) -> (N, F) -> (N, width) -> (N, n_outputs)
    return nn.Sequential(nn.Flatten(), *blocks, nn.Linear(width, n_outputs))
