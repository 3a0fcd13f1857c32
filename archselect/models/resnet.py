"""Small residual CNN for images: a stem, residual stages (two 3x3 convs + skip), GAP head."""

from __future__ import annotations

import torch
from torch import nn

from archselect.models._registry import register_model

#: Downsample (stride 2) at a new stage only while both sides are at least this long.
MIN_SIDE_TO_DOWNSAMPLE = 4


class _BasicBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus identity (or 1x1 projection) skip, then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(),
            nn.Dropout2d(dropout),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))  # (N, c_out, H/stride, W/stride)


@register_model("resnet_small", layouts=("image",))
def resnet_small(
    input_shape: tuple[int, ...],
    n_outputs: int,
    *,
    stages: int = 2,
    blocks_per_stage: int = 1,
    width: int = 32,
    dropout: float = 0.1,
) -> nn.Module:
    """ResNet-style network sized for small images (8x8 to 64x64).

    Each stage doubles the width and halves the sides (while they are long enough).

    Example:
        >>> import torch
        >>> resnet_small((1, 8, 8), 3)(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 3])
    """
    c, h, w = input_shape
    layers: list[nn.Module] = [
        nn.Conv2d(c, width, 3, padding=1, bias=False),  # (N, width, H, W)
        nn.BatchNorm2d(width),
        nn.ReLU(),
    ]
    c = width
    for s in range(stages):
        c_out = width * 2**s
        down = s > 0 and min(h, w) >= MIN_SIDE_TO_DOWNSAMPLE
        for b in range(blocks_per_stage):
            stride = 2 if down and b == 0 else 1
            layers.append(_BasicBlock(c, c_out, stride, dropout))
            c = c_out
        if down:
            h, w = (h + 1) // 2, (w + 1) // 2
    return nn.Sequential(
        *layers,
        nn.AdaptiveAvgPool2d(1),  # (N, c, 1, 1)
        nn.Flatten(),  # (N, c)
        nn.Linear(c, n_outputs),
    )
