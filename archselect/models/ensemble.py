"""A mean of independently trained copies of one network (the final model on small data).

On a few hundred rows one training run is a noisy draw: the same configuration trained with
another seed can land several points of accuracy away. Averaging a few seeds removes most
of that variance at a small cost (the data is small).
"""

from __future__ import annotations

import torch
from torch import nn


class MeanEnsemble(nn.Module):
    """Average of ``members``: class probabilities (returned as log-probabilities, so argmax
    and softmax downstream read them as logits) or regression outputs."""

    def __init__(self, members: list[nn.Module], task: str) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.classification = task == "classification"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # float64: the vectorised float32 exp/log round by position in the batch, so a row's
        # probabilities would move by one float32 step with the row order
        outs = torch.stack([m(x) for m in self.members]).double()  # (M, N, K)
        if self.classification:
            mean = torch.softmax(outs, dim=2).mean(dim=0)  # (N, K)
            return torch.log(mean).float()
        return outs.mean(dim=0).float()  # (N, K)
