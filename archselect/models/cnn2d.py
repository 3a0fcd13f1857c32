"""2-D CNN: conv blocks (conv, norm, ReLU, pool), then global average pooling."""

from __future__ import annotations

from torch import nn

from archselect.models._registry import register_model

#: Pool only while both sides are at least this long.
MIN_SIDE_TO_POOL = 4


def _conv_block(c_in: int, c_out: int, kernel: int, batch_norm: bool, pool: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)]
    layers += [nn.BatchNorm2d(c_out)] if batch_norm else []
    layers += [nn.ReLU()]
    layers += [nn.MaxPool2d(2)] if pool else []
    return nn.Sequential(*layers)


@register_model("cnn2d", layouts=("image",))
def cnn2d(
    input_shape: tuple[int, ...],
    n_outputs: int,
    *,
    blocks: int = 2,
    width: int = 32,
    kernel: int = 3,
    batch_norm: bool = True,
    dropout: float = 0.2,
) -> nn.Module:
    c, h, w = input_shape
    layers: list[nn.Module] = []
    for i in range(blocks):
        c_out = width * 2**i
        pool = min(h, w) >= MIN_SIDE_TO_POOL
        layers.append(_conv_block(c, c_out, kernel, batch_norm, pool))  # (N, c_out, h', w')
        c, h, w = c_out, (h // 2 if pool else h), (w // 2 if pool else w)
    return nn.Sequential(
        *layers,
        nn.AdaptiveAvgPool2d(1),  # (N, c, 1, 1)
        nn.Flatten(),  # (N, c)
        nn.Dropout(dropout),
        nn.Linear(c, n_outputs),
    )
