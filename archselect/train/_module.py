"""The one LightningModule (:class:`FamilyModule`) and the training configuration it reads.

Used by :mod:`archselect.train`, which runs it: one Lightning training step is one epoch,
fed the epoch's shuffled row order by :class:`_EpochOrders`, and
:meth:`FamilyModule.training_step` runs that epoch's mini-batches itself.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import Dataset

from archselect._common import signals as _signals
from archselect._common.serde import JsonRecord
from archselect.core.metrics import metric_direction, metric_for, score

__all__ = ["EpochHook", "FamilyModule", "TrainConfig", "batch_bounds"]

#: Stop when the validation score has not improved for this many epochs.
PATIENCE = 12
#: Gradients are clipped to this global norm (keeps recurrent nets stable).
GRAD_CLIP = 1.0
#: Rows evaluated at once when predicting.
PREDICT_BATCH = 1024
#: Training rows scored at the end of every epoch for the report's training curve (evenly
#: spaced over the training set; one eval-mode forward pass of at most this many rows).
TRAIN_CURVE_ROWS = 256

#: Called as ``hook(epoch, val_score)`` after each epoch; it may raise to abandon the run
#: (pruning) or return True to end it there, keeping the best epoch so far.
EpochHook = Callable[[int, float], "bool | None"]


class _StopForSignal(Exception):
    """Raised at an epoch end after a stop signal; :func:`train_network` turns it into
    :class:`archselect._common.signals.Interrupted` once Lightning has cleaned up."""


@dataclass(frozen=True)
class TrainConfig(JsonRecord):
    """Shared training parameters (one trial's draw from ``shared.toml``)."""

    task: str = "classification"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    epochs: int = 40
    schedule: str = "cosine"
    patience: int = PATIENCE
    seed: int = 0
    #: Override MIN_STEPS / MIN_PATIENCE_STEPS (a shared space's ``[fixed]`` table may set
    #: them, e.g. for quick smoke runs); None keeps the module's rule.
    min_steps: int | None = None
    min_patience_steps: int | None = None


class _EpochOrders(Dataset):  # type: ignore[type-arg]
    """One item per epoch: the order in which that epoch visits the training rows."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.gen = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return 1

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.randperm(self.n, generator=self.gen)


def _read_only_tensor(a: np.ndarray) -> torch.Tensor:
    """A tensor sharing ``a``'s memory; training only reads it, so a read-only array is fine."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(a)


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each training mini-batch over ``n`` rows.

    A one-row final batch breaks batch norm, so the batch before it takes that row.

    Example:
        >>> batch_bounds(5, 2)
        [(0, 2), (2, 5)]
    """
    bounds = [(i, min(n, i + batch_size)) for i in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


class FamilyModule(pl.LightningModule):
    """The one LightningModule: loss, optimiser, schedule, validation score, early stop.

    Args:
        net: Any ``nn.Module`` mapping a batch to logits (classification) or values.
        config: Shared training parameters.
        steps_per_epoch: Batches per epoch (for the schedules).
        on_epoch: Called as ``on_epoch(epoch, val_score)``; may raise to stop (pruning).
        target_std: Regression target scale, to report RMSE in target units.
        train_data: The training rows ``(x, y)``; each training step (one per epoch,
            fed the epoch's row order) runs their mini-batches of ``config.batch_size``.
        val_data: The validation rows ``(x, y)``; when given they are scored at the end of
            each training epoch, in place of Lightning's validation loop.
    """

    def __init__(
        self,
        net: nn.Module,
        config: TrainConfig,
        steps_per_epoch: int,
        on_epoch: EpochHook | None = None,
        target_std: float = 1.0,
        train_data: tuple[torch.Tensor, torch.Tensor] | None = None,
        val_data: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self._train_data = train_data
        self._val_data = val_data
        # the epoch's mini-batches (positions in its row order), the same every epoch
        self._bounds = batch_bounds(len(train_data[0]), config.batch_size) if train_data else []
        self.net = net
        self.config = config
        self.steps_per_epoch = steps_per_epoch
        self.on_epoch = on_epoch
        self.target_std = target_std
        self.metric = metric_for(config.task)
        self.sign = 1.0 if metric_direction(self.metric) == "maximize" else -1.0
        self.loss_fn: nn.Module = (
            nn.CrossEntropyLoss() if config.task == "classification" else nn.MSELoss()
        )
        self.history_val: list[float] = []
        self.history_loss: list[float] = []
        self.history_train: list[float] = []
        self._train_probe: tuple[torch.Tensor, torch.Tensor] | None = None
        if train_data is not None and len(train_data[0]):
            n = len(train_data[0])
            probe = torch.linspace(0, n - 1, min(n, TRAIN_CURVE_ROWS)).long()
            self._train_probe = (train_data[0][probe], train_data[1][probe])
        self.best_score = -math.inf
        self.best_val_loss = math.inf
        self.best_epoch = -1
        self.best_state: dict[str, torch.Tensor] | None = None
        # each step's loss and gradient norm, left on the device and stacked once per epoch
        # (no host sync and no extra kernel per step); reset by on_train_epoch_start
        self._step_losses: list[torch.Tensor] = []
        self._step_norms: list[torch.Tensor] = []
        self._val_out: list[torch.Tensor] = []
        self._val_y: list[torch.Tensor] = []
        self.automatic_optimization = False
        self._opt: torch.optim.Optimizer
        self._sched: Any = None
        self._params: list[nn.Parameter] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.config.task == "classification":
            return self.loss_fn(out, y)
        if y.ndim == 2:  # a forecast: every step of the horizon
            return self.loss_fn(out.reshape(y.shape), y)
        return self.loss_fn(out.reshape(len(y), -1)[:, 0], y)

    def _train_batch(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """One optimiser step on one mini-batch (zero, forward, backward, clip, step)."""
        opt = self._opt
        opt.zero_grad(set_to_none=True)
        loss = self._loss(self.net(x), y)
        loss.backward()  # fp32 on one device: no precision plugin or strategy to involve
        norm = nn.utils.clip_grad_norm_(self._params, GRAD_CLIP)
        opt.step()
        if self._sched is not None:
            self._sched.step()
        self._step_losses.append(loss.detach())
        self._step_norms.append(norm)
        return loss

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        """A whole epoch when ``train_data`` was given (``batch`` is the row order), else
        one mini-batch ``(x, y)``."""
        if self._train_data is None:
            x, y = batch
            return self._train_batch(x, y)
        x_all, y_all = self._train_data
        order = batch.cpu()
        device = self.device
        loss = torch.zeros(())
        for start, end in self._bounds:
            idx = order[start:end]
            loss = self._train_batch(
                x_all[idx].to(device, non_blocking=True), y_all[idx].to(device, non_blocking=True)
            )
        return loss

    def on_train_epoch_start(self) -> None:
        self._step_losses, self._step_norms = [], []

    def on_train_epoch_end(self) -> None:
        losses = torch.stack(self._step_losses) if self._step_losses else torch.zeros(1)
        norms = torch.stack(self._step_norms) if self._step_norms else torch.zeros(1)
        self._step_losses, self._step_norms = [], []
        # one host sync per epoch: the mean loss and whether any step's gradient norm was
        # non-finite while its loss was finite
        exploded = (~torch.isfinite(norms) & torch.isfinite(losses)).any()
        mean, exploded = torch.stack([losses.float().mean(), exploded.float()]).tolist()
        if exploded:
            raise FloatingPointError(
                f"gradients exploded (non-finite gradient norm under a finite loss) in epoch "
                f"{self.current_epoch + 1}; a lower learning rate may help"
            )
        mean_loss = float(mean)
        if not math.isfinite(mean_loss):
            raise FloatingPointError(
                f"training loss became {mean_loss} in epoch {self.current_epoch + 1}"
            )
        self.history_loss.append(mean_loss)
        if self._val_data is not None:
            self._validate_in_place()

    @torch.no_grad()
    def _validate_in_place(self) -> None:
        """Score the validation rows now (one Lightning validation loop less per epoch)."""
        was_training = self.net.training
        self.net.eval()
        if self._train_probe is not None:
            x_probe, y_probe = self._train_probe
            out = self.net(x_probe.to(self.device)).float().cpu().numpy()
            self.history_train.append(
                score(self.config.task, out, y_probe.numpy(), self.target_std)
            )
        x_all, y_all = self._val_data  # type: ignore[misc]
        for i in range(0, len(x_all), PREDICT_BATCH):
            self._val_out.append(self.net(x_all[i : i + PREDICT_BATCH].to(self.device)))
            self._val_y.append(y_all[i : i + PREDICT_BATCH].to(self.device))
        self.net.train(was_training)
        self.on_validation_epoch_end()

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        self._val_out.append(self.net(x))
        self._val_y.append(y)

    def on_validation_epoch_end(self) -> None:
        out, y = torch.cat(self._val_out), torch.cat(self._val_y)
        self._val_out, self._val_y = [], []
        val_loss = float(self._loss(out, y))
        value = score(
            self.config.task, out.float().cpu().numpy(), y.cpu().numpy(), self.target_std
        )
        if not math.isfinite(value):
            raise FloatingPointError(f"validation score became {value}")
        self.history_val.append(value)
        if _signals.received is not None:  # a safe point: stop here, never inside Lightning
            raise _StopForSignal
        epoch = self.current_epoch
        key = self.sign * value
        if key > self.best_score or (key == self.best_score and val_loss < self.best_val_loss):
            self.best_score, self.best_val_loss, self.best_epoch = key, val_loss, epoch
            self.best_state = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        elif epoch - self.best_epoch >= self.config.patience:
            self.trainer.should_stop = True
        if self.on_epoch is not None and self.on_epoch(epoch, value):
            self.trainer.should_stop = True

    def configure_optimizers(self) -> Any:
        """AdamW plus the schedule, stepped per batch by :meth:`training_step` itself."""
        self._params = [p for p in self.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(
            self._params, lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        total = max(1, self.steps_per_epoch * self.config.epochs)
        self._opt, self._sched = opt, None
        if self.config.schedule == "cosine":
            self._sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
        elif self.config.schedule == "onecycle":
            self._sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=self.config.lr, total_steps=total
            )
        return opt
