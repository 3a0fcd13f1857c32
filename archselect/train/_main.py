"""Training: one generic LightningModule around any plain ``nn.Module``.

No Optuna here: the search passes an ``on_epoch`` callable that may raise to prune.
The Trainer is configured once, in :func:`make_trainer`, for raw speed: no progress
bar, logger, checkpoint, model summary or sanity check; data are in-memory tensors
served a whole batch at a time (no per-sample collation, no worker processes).

One Lightning training step is one epoch: the loader yields the epoch's shuffled row
order and :meth:`FamilyModule.training_step` runs the mini-batches itself (manual
optimisation). Lightning's per-step machinery (hooks, closure, precision plugin) thus
runs once per epoch instead of once per mini-batch; on small models it otherwise costs
more than the step (``benchmarks/overhead.py`` measures the ratio to a bare loop).

The LightningModule and :class:`TrainConfig` live in :mod:`archselect.train._module`;
peak memory, latency and torch threads in :mod:`archselect.train._measure`.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader

from archselect._common import signals as _signals
from archselect._common.serde import JsonRecord
from archselect.core.metrics import (
    metric_direction,
    metric_for,
    per_sample_brier,
    per_sample_scores,
    score,
)
from archselect.train._measure import _PeakRSS, measure_latency, torch_threads
from archselect.train._module import (
    GRAD_CLIP,
    PREDICT_BATCH,
    EpochHook,
    FamilyModule,
    TrainConfig,
    _EpochOrders,
    _read_only_tensor,
    _StopForSignal,
    batch_bounds,
)

__all__ = [
    "GRAD_CLIP",
    "EpochHook",
    "FamilyModule",
    "TrainConfig",
    "TrainResult",
    "batch_bounds",
    "measure_latency",
    "metric_for",
    "per_sample_brier",
    "per_sample_scores",
    "predict_outputs",
    "probe_epoch_seconds",
    "seed_all",
    "select_device",
    "torch_threads",
    "train_network",
]

#: Small data sets: batches hold at most a quarter of the training rows (at least
#: MIN_BATCH), and training runs at least MIN_STEPS optimiser steps, with patience of at
#: least MIN_PATIENCE_STEPS steps, so 50 rows get as many updates as 5,000.
MIN_BATCH = 8
MIN_STEPS = 400
MIN_PATIENCE_STEPS = 120
#: Training rows re-evaluated at the end to measure the train-validation gap.
GAP_SAMPLE = 2048
#: Mini-batches timed by :func:`probe_epoch_seconds` (after one warm-up batch).
PROBE_BATCHES = 3

for _name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning"):
    logging.getLogger(_name).setLevel(logging.ERROR)
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*GPU available but not used.*")
warnings.filterwarnings("ignore", message=".*LeafSpec.*")
warnings.filterwarnings("ignore", message=".*no `val_dataloader`.*")


@dataclass(frozen=True)
class TrainResult(JsonRecord):
    """What one training run measured."""

    metric: str
    val_metric: float
    train_metric: float
    val_loss: float
    epochs: int
    best_epoch: int
    train_time_s: float
    n_params: int
    peak_memory_mb: float
    device: str
    #: CPU seconds the process spent in that time (the work, whatever else ran on the
    #: machine); with one torch thread it is the pace that load does not change.
    cpu_time_s: float | None = None
    history_val: tuple[float, ...] = ()
    history_train_loss: tuple[float, ...] = ()
    #: Training score per epoch on up to ``TRAIN_CURVE_ROWS`` training rows (eval mode;
    #: :mod:`archselect.train._module`), next to ``history_val``: the learning curve's
    #: train–validation gap.
    history_train: tuple[float, ...] = ()

    @property
    def gap(self) -> float:
        """Train minus validation score (positive: overfitting), in the metric's direction."""
        sign = 1.0 if metric_direction(self.metric) == "maximize" else -1.0
        return sign * (self.train_metric - self.val_metric)


def select_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu`` (one device per trial, never DDP)."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def seed_all(seed: int) -> None:
    """Seed Python, NumPy and torch: call before building a network, so that its initial
    weights, and not only its training, follow the run's seed."""
    pl.seed_everything(seed, workers=False, verbose=False)


def effective_config(config: TrainConfig, n_train: int) -> TrainConfig:
    """Adapt batch size, epochs and patience to the number of training rows."""
    batch = max(MIN_BATCH, min(config.batch_size, n_train // 4))
    steps = math.ceil(n_train / batch)
    min_steps = MIN_STEPS if config.min_steps is None else config.min_steps
    min_patience = (
        MIN_PATIENCE_STEPS if config.min_patience_steps is None else config.min_patience_steps
    )
    epochs = max(config.epochs, math.ceil(min_steps / steps))
    patience = max(config.patience, math.ceil(min_patience / steps))
    return TrainConfig(
        **{**config.__dict__, "batch_size": batch, "epochs": epochs, "patience": patience}
    )


def make_trainer(*, epochs: int, device: str, root_dir: str | None = None) -> pl.Trainer:
    """The one place the Lightning Trainer is configured."""
    return pl.Trainer(
        accelerator="gpu" if device == "cuda" else "cpu",
        devices=1,
        max_epochs=epochs,
        barebones=True,
        default_root_dir=root_dir or os.devnull,
        deterministic=False,
    )


def train_network(
    net: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    config: TrainConfig,
    *,
    on_epoch: EpochHook | None = None,
    device: str | None = None,
    target_std: float = 1.0,
    fixed_epochs: int | None = None,
    max_epochs: int | None = None,
    time_limit_s: float | None = None,
) -> TrainResult:
    """Train ``net`` in place; on return it holds the weights of its best validation epoch.

    With ``fixed_epochs`` (a refit on train + validation rows), it trains exactly that many
    epochs with no early stop and keeps the last weights. ``max_epochs`` caps the schedule
    (a low-fidelity trial: the learning-rate schedule is fitted to the shorter run);
    ``time_limit_s`` ends training after the first epoch that passes it, keeping the best
    epoch so far.

    Example:
        >>> import numpy as np
        >>> from torch import nn
        >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
        >>> y = (x[:, 0] > 0).astype("int64")
        >>> r = train_network(nn.Linear(4, 2), x, y, x, y, TrainConfig(epochs=3), fixed_epochs=3)
        >>> r.epochs
        3
    """
    device = device or select_device()
    seed_all(config.seed)
    config = effective_config(config, len(x_train))
    if fixed_epochs is not None:
        config = TrainConfig(**{**config.__dict__, "epochs": fixed_epochs, "patience": 10**9})
    elif max_epochs is not None and max_epochs < config.epochs:
        config = TrainConfig(**{**config.__dict__, "epochs": max(1, max_epochs)})
    if time_limit_s is not None:
        on_epoch = _with_time_limit(on_epoch, time.perf_counter() + time_limit_s)
    train_dl = DataLoader(
        _EpochOrders(len(x_train), config.seed), batch_size=None, shuffle=False, num_workers=0
    )
    module = FamilyModule(
        net,
        config,
        len(batch_bounds(len(x_train), config.batch_size)),
        on_epoch,
        target_std,
        train_data=(_read_only_tensor(x_train), _read_only_tensor(y_train)),
        val_data=(_read_only_tensor(x_val), _read_only_tensor(y_val)),
    )
    trainer = make_trainer(epochs=config.epochs, device=device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start, cpu_start = time.perf_counter(), time.process_time()
    with _PeakRSS() as rss:
        try:
            trainer.fit(module, train_dl)
        except (_StopForSignal, SystemExit) as exc:
            # a stop signal seen at an epoch end (or, from Lightning, a SIGTERMException or
            # its sys.exit after a keyboard interrupt): give the caller the interrupt back,
            # so the trial is marked failed
            raise _signals.Interrupted(_signals.received or signal.SIGINT) from exc
        finally:
            _signals.restore()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else rss.peak_mb
    if module.best_state is not None and fixed_epochs is None:
        net.load_state_dict(module.best_state)
    net.to("cpu").eval()
    n_gap = min(GAP_SAMPLE, len(x_train))
    train_out = predict_outputs(net, x_train[:n_gap])
    train_metric = score(config.task, train_out, y_train[:n_gap], target_std)
    return TrainResult(
        metric=module.metric,
        val_metric=module.sign * module.best_score,
        train_metric=train_metric,
        val_loss=module.best_val_loss,
        epochs=len(module.history_val),
        best_epoch=module.best_epoch + 1,
        train_time_s=elapsed,
        n_params=sum(p.numel() for p in net.parameters()),
        peak_memory_mb=max(0.0, peak),
        device=device,
        cpu_time_s=cpu,
        history_val=tuple(module.history_val),
        history_train_loss=tuple(module.history_loss),
        history_train=tuple(module.history_train),
    )


def _with_time_limit(on_epoch: EpochHook | None, until: float) -> EpochHook:
    """``on_epoch``, then a stop once ``time.perf_counter()`` has passed ``until``."""

    def hook(epoch: int, value: float) -> bool:
        stop = bool(on_epoch(epoch, value)) if on_epoch is not None else False
        return stop or time.perf_counter() >= until

    return hook


def probe_epoch_seconds(
    net: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    n_val: int,
    config: TrainConfig,
    *,
    batches: int = PROBE_BATCHES,
) -> float:
    """Estimated seconds of one training epoch over ``x_train`` plus its validation pass
    over ``n_val`` rows, from timing a few mini-batches. ``net`` is left as it was.

    Example:
        >>> import numpy as np
        >>> from torch import nn
        >>> x = np.zeros((64, 4), dtype="float32"); y = np.zeros(64, dtype="int64")
        >>> probe_epoch_seconds(nn.Linear(4, 2), x, y, 16, TrainConfig()) > 0
        True
    """
    config = effective_config(config, len(x_train))
    bounds = batch_bounds(len(x_train), config.batch_size)
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    module = FamilyModule(net, config, len(bounds))
    module._params = [p for p in net.parameters() if p.requires_grad]
    module._opt = torch.optim.SGD(module._params, lr=0.0)
    net.train()
    timed = bounds[: batches + 1]
    elapsed, rows = 0.0, 0
    for i, (start, end) in enumerate(timed):
        x = _read_only_tensor(x_train[start:end])
        y = _read_only_tensor(y_train[start:end])
        t0 = time.perf_counter()
        module._train_batch(x, y)
        if i > 0 or len(timed) == 1:  # the first batch warms up
            elapsed, rows = elapsed + time.perf_counter() - t0, rows + end - start
    net.load_state_dict(state)
    per_row = elapsed / max(1, rows)
    # a forward pass costs about a third of a training step
    return per_row * (len(x_train) + n_val / 3.0)


@torch.no_grad()
def predict_outputs(net: nn.Module, x: np.ndarray, *, device: str = "cpu") -> np.ndarray:
    """Raw network outputs (logits or scaled values) for ``x``, in batches, on ``device``."""
    net.eval().to(device)
    outs = []
    for i in range(0, len(x), PREDICT_BATCH):
        batch = torch.from_numpy(np.ascontiguousarray(x[i : i + PREDICT_BATCH])).to(device)
        outs.append(net(batch).float().cpu())
    if not outs:
        return np.zeros((0, 1), dtype=np.float32)
    return torch.cat(outs).numpy()
