"""Text families: an embedding front over token ids ``(N, T)`` int64 (0 = padding).

- ``lstm`` / ``gru`` / ``rnn``: embedding, then the recurrent encoder (bidirectional
  option; the summary is the last step — texts are padded at the front — or the mean
  over real tokens).
- ``cnn1d``: embedding, parallel convolutions of several widths, max over time (Kim 2014).
- ``mlp``: embedding bag (mean of the token embeddings), then an MLP.
"""

from __future__ import annotations

import torch
from torch import nn

from archselect.models._registry import register_model
from archselect.models.recurrent import _CELLS

__all__ = ["TextCNN", "TextRecurrent"]

PAD = 0


class TextRecurrent(nn.Module):
    """Embedding + recurrent encoder + linear head."""

    def __init__(
        self,
        cell: str,
        vocab_size: int,
        n_outputs: int,
        *,
        embed_dim: int,
        hidden: int,
        layers: int,
        bidirectional: bool,
        pool: str,
        dropout: float,
    ) -> None:
        super().__init__()
        self.pool = pool
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.rnn = _CELLS[cell](
            embed_dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), n_outputs)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = (tokens != PAD).unsqueeze(-1).float()  # (N, T, 1)
        out, _ = self.rnn(self.drop(self.embed(tokens)))  # (N, T) -> (N, T, E) -> (N, T, H*D)
        if self.pool == "mean":
            summary = (out * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (N, H*D)
        elif self.rnn.bidirectional:
            h = self.rnn.hidden_size
            # forward direction ends at the last token; backward ends at the first step
            summary = torch.cat([out[:, -1, :h], out[:, 0, h:]], dim=1)  # (N, 2H)
        else:
            summary = out[:, -1]  # (N, H): the last token (padding is at the front)
        return self.head(self.drop(summary))  # (N, n_outputs)


def _recurrent(cell: str):  # type: ignore[no-untyped-def]
    def build(
        input_shape: tuple[int, ...],
        n_outputs: int,
        *,
        vocab_size: int,
        embed_dim: int = 64,
        hidden: int = 64,
        layers: int = 1,
        bidirectional: bool = False,
        pool: str = "last",
        dropout: float = 0.0,
    ) -> nn.Module:
        return TextRecurrent(
            cell,
            vocab_size,
            n_outputs,
            embed_dim=embed_dim,
            hidden=hidden,
            layers=layers,
            bidirectional=bidirectional,
            pool=pool,
            dropout=dropout,
        )

    build.__name__ = f"text_{cell}"
    return build


for _cell in _CELLS:
    register_model(_cell, layouts=("text",))(_recurrent(_cell))


class TextCNN(nn.Module):
    """Embedding, one convolution per width, max over time, concatenation, linear head."""

    def __init__(
        self,
        vocab_size: int,
        n_outputs: int,
        *,
        embed_dim: int,
        width: int,
        kernels: tuple[int, ...],
        dropout: float,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, width, k, padding=k // 2) for k in kernels)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(width * len(kernels), n_outputs)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        e = self.embed(tokens).transpose(1, 2)  # (N, T) -> (N, E, T)
        pooled = [torch.relu(conv(e)).amax(dim=2) for conv in self.convs]  # each (N, width)
        return self.head(self.drop(torch.cat(pooled, dim=1)))  # (N, width*K) -> (N, n_outputs)


@register_model("cnn1d", layouts=("text",))
def text_cnn1d(
    input_shape: tuple[int, ...],
    n_outputs: int,
    *,
    vocab_size: int,
    embed_dim: int = 64,
    width: int = 64,
    kernels: str = "3,4,5",
    dropout: float = 0.3,
) -> nn.Module:
    sizes = tuple(int(k) for k in str(kernels).split(",") if k.strip())
    return TextCNN(
        vocab_size, n_outputs, embed_dim=embed_dim, width=width, kernels=sizes, dropout=dropout
    )


@register_model("mlp", layouts=("text",))
def text_mlp(
    input_shape: tuple[int, ...],
    n_outputs: int,
    *,
    vocab_size: int,
    embed_dim: int = 64,
    layers: int = 1,
    width: int = 128,
    dropout: float = 0.2,
) -> nn.Module:
    blocks: list[nn.Module] = []
    n_in = embed_dim
    for _ in range(layers):
        blocks += [nn.Linear(n_in, width), nn.ReLU(), nn.Dropout(dropout)]
        n_in = width
    return _BagMLP(
        nn.EmbeddingBag(vocab_size, embed_dim, mode="mean", padding_idx=PAD),
        nn.Sequential(*blocks, nn.Linear(n_in, n_outputs)),
    )


class _BagMLP(nn.Module):
    """Mean of the token embeddings (padding excluded), then an MLP."""

    def __init__(self, bag: nn.EmbeddingBag, mlp: nn.Sequential) -> None:
        super().__init__()
        self.bag, self.mlp = bag, mlp

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.bag(tokens))  # (N, T) -> (N, E) -> (N, n_outputs)
