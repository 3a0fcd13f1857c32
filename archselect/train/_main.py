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
from collections.abc import Callable
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
#: Mini-batches timed by :func:`probe_epoch_seconds` (after one warm-up batch) …
PROBE_BATCHES = 3
#: … but at most this share of an epoch's mini-batches (at least one).
PROBE_EPOCH_FRACTION = 0.25

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


def run_epochs(
    config: TrainConfig, *, fixed_epochs: int | None = None, max_epochs: int | None = None
) -> tuple[TrainConfig, int]:
    """The schedule's configuration and the epochs actually run.

    ``fixed_epochs`` (a refit): exactly that many epochs, no early stop, the schedule fitted
    to them. ``max_epochs`` (a low-fidelity trial): the run is *cut short* after that many
    epochs of the family's full schedule, which is not squeezed into the shorter run: a
    cosine decay fitted to 3 epochs has already ended the learning rate's useful range
    when a recurrent network's loss starts to fall (measured on MNIST-1D, 30 epochs of a
    GRU: 61 % with the schedule squeezed, 91 % with it cut short; ``/tmp/ff_findings``).

    Example:
        >>> cfg, n = run_epochs(TrainConfig(epochs=40), max_epochs=5)
        >>> cfg.epochs, n
        (40, 5)
        >>> cfg, n = run_epochs(TrainConfig(epochs=40), fixed_epochs=7)
        >>> cfg.epochs, cfg.patience > 10**6, n
        (7, True, 7)
    """
    if fixed_epochs is not None:
        config = TrainConfig(**{**config.__dict__, "epochs": fixed_epochs, "patience": 10**9})
        return config, fixed_epochs
    if max_epochs is not None and max_epochs < config.epochs:
        return config, max(1, max_epochs)
    return config, config.epochs


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
    limit_clock: Callable[[], float] = time.perf_counter,
    to_limit: bool = False,
) -> TrainResult:
    """Train ``net`` in place; on return it holds the weights of its best validation epoch.

    With ``fixed_epochs`` (a refit on train + validation rows), it trains exactly that many
    epochs with no early stop and keeps the last weights. ``max_epochs`` cuts the schedule
    short (a low-fidelity trial; see :func:`run_epochs`); ``time_limit_s`` ends training
    after the first epoch that passes it on ``limit_clock`` (wall time by default; a
    trial's core-second share passes ``time.process_time``), keeping the best epoch so far;
    with ``to_limit`` it ends instead after the last epoch that leaves time for another as
    long (a trial whose probe planned fewer epochs than its share pays for trains on).

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
    config, epochs = run_epochs(
        effective_config(config, len(x_train)), fixed_epochs=fixed_epochs, max_epochs=max_epochs
    )
    if time_limit_s is not None:
        on_epoch = _with_time_limit(
            on_epoch, limit_clock() + time_limit_s, limit_clock, ahead=to_limit
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
    elapsed, cpu, peak = _fit(module, epochs, device, config.seed, len(x_train))
    if module.best_state is not None and fixed_epochs is None:
        net.load_state_dict(module.best_state)
    net.to("cpu").eval()
    return TrainResult(
        metric=module.metric,
        val_metric=module.sign * module.best_score,
        train_metric=_train_metric(module, net, x_train, y_train, fixed_epochs is not None),
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


def _fit(
    module: FamilyModule, epochs: int, device: str, seed: int, n_train: int
) -> tuple[float, float, float]:
    """Run Lightning's loop for ``epochs``; returns wall seconds, CPU seconds and peak MiB."""
    train_dl = DataLoader(_EpochOrders(n_train, seed), batch_size=None, shuffle=False)
    trainer = make_trainer(epochs=epochs, device=device)
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
    return elapsed, cpu, peak


def _train_metric(
    module: FamilyModule, net: nn.Module, x: np.ndarray, y: np.ndarray, last: bool
) -> float:
    """The training score of the kept weights: the training curve's figure at the kept
    epoch (``last``: the final one), scored in place at that epoch's end on up to
    ``TRAIN_CURVE_ROWS`` rows; a separate pass over :data:`GAP_SAMPLE` rows only where no
    curve was recorded (it cost 0.7 s of a 7 s trial on MNIST-1D)."""
    curve = module.history_train
    at = len(curve) - 1 if last else module.best_epoch
    if curve and 0 <= at < len(curve):
        return float(curve[at])
    n_gap = min(GAP_SAMPLE, len(x))
    return score(module.config.task, predict_outputs(net, x[:n_gap]), y[:n_gap], module.target_std)


def _with_time_limit(
    on_epoch: EpochHook | None, until: float, clock: Callable[[], float], *, ahead: bool = False
) -> EpochHook:
    """``on_epoch``, then a stop once ``clock()`` has passed ``until`` (``ahead``: once
    another epoch as long as the last one would pass it).

    Example:
        >>> ticks = iter([0.0, 4.0, 8.0, 9.0])
        >>> hook = _with_time_limit(None, 10.0, lambda: next(ticks), ahead=True)
        >>> hook(0, 0.5), hook(1, 0.6)  # epochs of 4 s end at 4 and 8: 8 + 4 passes 10
        (False, True)
    """
    last = [clock()]

    def hook(epoch: int, value: float) -> bool:
        stop = bool(on_epoch(epoch, value)) if on_epoch is not None else False
        now = clock()
        took, last[0] = now - last[0], now
        return stop or now + (took if ahead else 0.0) >= until

    return hook


def probe_epoch_seconds(
    net: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    n_val: int,
    config: TrainConfig,
    *,
    batches: int = PROBE_BATCHES,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Estimated seconds of one training epoch over ``x_train`` plus its validation pass
    over ``n_val`` rows, from timing a few mini-batches on ``clock`` (wall time, or
    ``time.process_time`` for core-seconds). ``net`` is left as it was.

    At most ``batches`` mini-batches are timed after one warm-up, and never more than
    :data:`PROBE_EPOCH_FRACTION` of the epoch: on 60 rows of 1,460 steps the probe's four
    batches of 15 were the whole epoch, and cost more than the share it was to plan.

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
    most = max(1, min(batches, math.floor(len(bounds) * PROBE_EPOCH_FRACTION)))
    timed = bounds[: most + 1]
    elapsed, rows = 0.0, 0
    for i, (start, end) in enumerate(timed):
        x = _read_only_tensor(x_train[start:end])
        y = _read_only_tensor(y_train[start:end])
        t0 = clock()
        module._train_batch(x, y)
        if i > 0 or len(timed) == 1:  # the first batch warms up
            elapsed, rows = elapsed + clock() - t0, rows + end - start
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
