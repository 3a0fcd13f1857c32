"""Temporal convolutional network: dilated causal residual blocks (Bai et al., 2018)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from archselect.models._registry import register_model


class _CausalConv(nn.Conv1d):
    """Conv1d padded on the left only, so step t sees steps <= t (output length = input)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int) -> None:
        super().__init__(c_in, c_out, kernel, dilation=dilation)
        self.left = (kernel - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left, 0)))  # (N, c_out, T)


class _TemporalBlock(nn.Module):
    """Two dilated causal convs (norm, ReLU, dropout) plus a residual (1x1 if widths differ)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _CausalConv(c_in, c_out, kernel, dilation),
            nn.BatchNorm1d(c_out),
            nn.ReLU(),
            nn.Dropout(dropout),
            _CausalConv(c_out, c_out, kernel, dilation),
            nn.BatchNorm1d(c_out),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.skip: nn.Module = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))  # (N, c_out, T)


class TCN(nn.Module):
    """Stack of temporal blocks with dilations 1, 2, 4, ...; pooled over time, linear head.

    ``pool="last"`` reads the last step (which, being causal, has seen the whole receptive
    field); ``pool="mean"`` averages every step.
    """

    def __init__(
        self,
        n_channels: int,
        n_outputs: int,
        *,
        levels: int,
        width: int,
        kernel: int,
        dropout: float,
        pool: str,
    ) -> None:
        super().__init__()
        blocks = []
        c = n_channels
        for i in range(levels):
            blocks.append(_TemporalBlock(c, width, kernel, 2**i, dropout))
            c = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = pool
        self.head = nn.Linear(width, n_outputs)
        #: Steps the last output sees: 1 + 2 (k - 1) (2^levels - 1).
        self.receptive_field = 1 + 2 * (kernel - 1) * (2**levels - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x.transpose(1, 2))  # (N, T, C) -> (N, C, T) -> (N, width, T)
        summary = h.mean(dim=2) if self.pool == "mean" else h[:, :, -1]  # (N, width)
        return self.head(summary)  # (N, n_outputs)


@register_model("tcn", layouts=("series", "forecast"))
def tcn(
    input_shape: tuple[int, ...],
    n_outputs: int,
    *,
    levels: int = 4,
    width: int = 64,
    kernel: int = 3,
    dropout: float = 0.1,
    pool: str = "mean",
) -> nn.Module:
    """Temporal convolutional network over ``(T, C)`` sequences.

    Example:
        >>> import torch
        >>> tcn((24, 2), 3)(torch.zeros(5, 24, 2)).shape
        torch.Size([5, 3])
    """
    _, c = input_shape
    return TCN(c, n_outputs, levels=levels, width=width, kernel=kernel, dropout=dropout, pool=pool)
