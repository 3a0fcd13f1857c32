"""Forecasting networks predict the change from the window's last value, not the level.

Windows are standardised with the training period's mean and scale, so a trending series
reaches levels in validation and test that training never saw: a network reading levels
must extrapolate. Anchoring on the last observed target value (channel 0) makes every
window look alike whatever its level; the network learns the path from there, and the
naive forecast is its starting point.
"""

from __future__ import annotations

import torch
from torch import nn


class LastValueAnchored(nn.Module):
    """``net`` on level-free windows; the window's last target value added back."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = x[:, -1:, :1]  # (N, 1, 1): the last target value of each window
        target = x[..., :1] - level  # (N, W, 1)
        out = self.net(torch.cat([target, x[..., 1:]], dim=2))  # (N, horizon)
        return out + level[:, 0]  # (N, horizon)
