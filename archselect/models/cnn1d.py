"""1-D CNN (FCN-style) over time: conv blocks, then global average pooling."""

from __future__ import annotations

import torch
from torch import nn

from archselect.models._registry import register_model


class _ChannelsFirst(nn.Module):
    """(N, T, C) -> (N, C, T)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2)


def _conv_block(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2), nn.BatchNorm1d(c_out), nn.ReLU()
    )


@register_model("cnn1d", layouts=("series", "series_padded", "forecast"))
def cnn1d(
    input_shape: tuple[int, ...],
    n_outputs: int,
    *,
    blocks: int = 3,
    width: int = 64,
    kernel: int = 7,
    dropout: float = 0.1,
) -> nn.Module:
    _, c = input_shape
    widths = [width * min(2, 2**i) for i in range(blocks)]  # FCN: 1x, 2x, 2x
    layers: list[nn.Module] = [_ChannelsFirst()]
    for c_out in widths:
        layers.append(_conv_block(c, c_out, kernel))  # (N, c_out, T)
        c = c_out
    return nn.Sequential(
        *layers,
        nn.AdaptiveAvgPool1d(1),  # (N, c, 1)
        nn.Flatten(),  # (N, c)
        nn.Dropout(dropout),
        nn.Linear(c, n_outputs),
    )
