"""Recurrent networks (vanilla RNN, LSTM, GRU) over time steps.

With layout ``series_padded`` the input is ``(N, T, C+1)`` whose last channel is a 0/1
mask (1 on real steps, which come first); the network packs each sequence to its length
(``pack_padded_sequence``) so padding never reaches the cells, and the summary is the
last *real* step (or the mean over real steps).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from archselect.layouts import plugin_for
from archselect.models._registry import register_model

_CELLS: dict[str, Any] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
#: Mask values above this mark real steps (the mask is 0/1).
MASK_ON = 0.5


class RecurrentNet(nn.Module):
    """Recurrent encoder + linear head; the sequence summary is the last step or the mean."""

    def __init__(
        self,
        cell: str,
        n_channels: int,
        n_outputs: int,
        *,
        hidden: int,
        layers: int,
        bidirectional: bool,
        pool: str,
        dropout: float,
        masked: bool = False,
    ) -> None:
        super().__init__()
        self.pool = pool
        self.masked = masked
        self.rnn = _CELLS[cell](
            n_channels,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.masked:
            return self._forward_packed(x)
        out, _ = self.rnn(x)  # (N, T, C) -> (N, T, H*D)
        if self.pool == "mean":
            summary = out.mean(dim=1)  # (N, H*D)
        elif self.rnn.bidirectional:
            h = self.rnn.hidden_size
            # forward direction ends at the last step, backward at the first
            summary = torch.cat([out[:, -1, :h], out[:, 0, h:]], dim=1)  # (N, 2H)
        else:
            summary = out[:, -1]  # (N, H)
        return self.head(self.drop(summary))  # (N, n_outputs)

    def _forward_packed(self, x: torch.Tensor) -> torch.Tensor:
        values, mask = x[..., :-1], x[..., -1]  # (N, T, C), (N, T)
        lengths = (mask > MASK_ON).sum(dim=1).clamp(min=1)  # (N,)
        packed = nn.utils.rnn.pack_padded_sequence(
            values, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        out_packed, hidden = self.rnn(packed)
        if self.pool == "mean":
            out, _ = nn.utils.rnn.pad_packed_sequence(
                out_packed, batch_first=True, total_length=x.shape[1]
            )  # (N, T, H*D), zeros after each length
            summary = out.sum(dim=1) / lengths[:, None].to(out.dtype)
        else:
            h_n = hidden[0] if isinstance(hidden, tuple) else hidden  # (L*D, N, H)
            # last layer: forward direction at the last real step, backward at the first
            d = 2 if self.rnn.bidirectional else 1
            summary = torch.cat([h_n[-d + i] for i in range(d)], dim=1)  # (N, H*D)
        return self.head(self.drop(summary))


def _along_time(h: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``h[n, index[n, t]]`` for every n, t: (N, T, F), (N, T') -> (N, T', F)."""
    return torch.gather(h, 1, index[:, :, None].expand(-1, -1, h.shape[2]))


class UnpackedMaskedRecurrent(nn.Module):
    """A masked :class:`RecurrentNet` computed without packing, so that it can be traced (ONNX).

    Each layer and direction runs as its own one-layer cell holding the same weights. The
    forward direction reads the real steps first, so padding never reaches them; the
    backward direction reads each sequence reversed *within its length*. The numbers are the
    packed forward's (in eval mode).
    """

    def __init__(self, net: RecurrentNet) -> None:
        super().__init__()
        rnn = net.rnn
        self.pool, self.drop, self.head = net.pool, net.drop, net.head
        self.hidden, self.layers = rnn.hidden_size, rnn.num_layers
        self.directions = 2 if rnn.bidirectional else 1
        extra = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
        names = ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if rnn.bias else ())
        cells = []
        for layer in range(self.layers):
            for d in range(self.directions):
                size_in = rnn.input_size if layer == 0 else self.hidden * self.directions
                cell = type(rnn)(size_in, self.hidden, batch_first=True, bias=rnn.bias, **extra)
                suffix = f"l{layer}" + ("_reverse" if d else "")
                for name in names:
                    getattr(cell, f"{name}_l0").data.copy_(getattr(rnn, f"{name}_{suffix}").data)
                cells.append(cell)
        self.cells = nn.ModuleList(cells)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values, mask = x[..., :-1], x[..., -1]  # (N, T, C), (N, T)
        lengths = (mask > MASK_ON).sum(dim=1).clamp(min=1)[:, None]  # (N, 1)
        steps = torch.arange(x.shape[1], device=x.device)[None, :]  # (1, T)
        real = steps < lengths  # (N, T)
        reverse = torch.where(real, lengths - 1 - steps, steps)  # (N, T), its own inverse
        keep = real.to(x.dtype)[:, :, None]  # (N, T, 1)
        h = values * keep
        for layer in range(self.layers):
            fwd = self.cells[layer * self.directions]
            outs = [fwd(h)[0]]  # (N, T, H)
            if self.directions == 2:
                bwd = self.cells[layer * self.directions + 1]
                outs.append(_along_time(bwd(_along_time(h, reverse))[0], reverse))
            h = torch.cat(outs, dim=2) * keep  # (N, T, H*D), zeros after each length
        if self.pool == "mean":
            summary = h.sum(dim=1) / lengths.to(h.dtype)  # (N, H*D)
        else:
            last = _along_time(h[..., : self.hidden], lengths - 1)[:, 0]  # (N, H)
            first = h[:, 0, self.hidden :]  # backward direction ends at step 0: (N, H) or empty
            summary = torch.cat([last, first], dim=1) if self.directions == 2 else last
        return self.head(self.drop(summary))  # (N, n_outputs)


def _builder(cell: str):  # type: ignore[no-untyped-def]
    def build(
        input_shape: tuple[int, ...],
        n_outputs: int,
        *,
        hidden: int = 64,
        layers: int = 1,
        bidirectional: bool = False,
        pool: str = "last",
        dropout: float = 0.0,
        layout: str = "series",
    ) -> nn.Module:
        _, c = input_shape
        masked = plugin_for(layout).masked
        return RecurrentNet(
            cell,
            c - 1 if masked else c,
            n_outputs,
            hidden=hidden,
            layers=layers,
            bidirectional=bidirectional,
            pool=pool,
            dropout=dropout,
            masked=masked,
        )

    build.__name__ = cell
    return build


for _cell in _CELLS:
    register_model(_cell, layouts=("series", "series_padded", "forecast"))(_builder(_cell))
