"""Recurrent networks (vanilla RNN, LSTM, GRU) over time steps."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from archselect.models._registry import register_model

_CELLS: dict[str, Any] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


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
    ) -> None:
        super().__init__()
        self.pool = pool
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
    ) -> nn.Module:
        _, c = input_shape
        return RecurrentNet(
            cell,
            c,
            n_outputs,
            hidden=hidden,
            layers=layers,
            bidirectional=bidirectional,
            pool=pool,
            dropout=dropout,
        )

    build.__name__ = cell
    return build


for _cell in _CELLS:
    register_model(_cell, layouts=("series",))(_builder(_cell))
