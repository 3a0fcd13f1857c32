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
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import psutil
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from archselect import _signals
from archselect._serde import JsonRecord
from archselect.core.metrics import (
    metric_direction,
    metric_for,
    per_sample_brier,
    per_sample_scores,
    score,
)

__all__ = [
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

#: Stop when the validation score has not improved for this many epochs.
PATIENCE = 12
#: Small data sets: batches hold at most a quarter of the training rows (at least
#: MIN_BATCH), and training runs at least MIN_STEPS optimiser steps, with patience of at
#: least MIN_PATIENCE_STEPS steps, so 50 rows get as many updates as 5,000.
MIN_BATCH = 8
MIN_STEPS = 400
MIN_PATIENCE_STEPS = 120
#: Gradients are clipped to this global norm (keeps recurrent nets stable).
GRAD_CLIP = 1.0
#: Rows evaluated at once when predicting.
PREDICT_BATCH = 1024
#: Training rows re-evaluated at the end to measure the train-validation gap.
GAP_SAMPLE = 2048
#: Training rows scored at the end of every epoch for the report's training curve (evenly
#: spaced over the training set; one eval-mode forward pass of at most this many rows).
TRAIN_CURVE_ROWS = 256
#: Batch sizes at which latency per sample is measured, and repetitions.
LATENCY_BATCHES = (1, 256)
LATENCY_REPEATS = 5
#: … but no new one after LATENCY_MAX_S seconds per batch size, once LATENCY_MIN_REPEATS ran.
LATENCY_MIN_REPEATS = 3
LATENCY_MAX_S = 1.0
#: Interval of the resident-memory sampler on CPU (seconds).
MEMORY_SAMPLE_S = 0.02

#: Called as ``hook(epoch, val_score)`` after each epoch; it may raise to abandon the run
#: (pruning) or return True to end it there, keeping the best epoch so far.
EpochHook = Callable[[int, float], "bool | None"]
#: Mini-batches timed by :func:`probe_epoch_seconds` (after one warm-up batch).
PROBE_BATCHES = 3

for _name in ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning"):
    logging.getLogger(_name).setLevel(logging.ERROR)
warnings.filterwarnings("ignore", message=".*does not have many workers.*")
warnings.filterwarnings("ignore", message=".*GPU available but not used.*")
warnings.filterwarnings("ignore", message=".*LeafSpec.*")
warnings.filterwarnings("ignore", message=".*no `val_dataloader`.*")


class _StopForSignal(Exception):
    """Raised at an epoch end after a stop signal; :func:`train_network` turns it into
    :class:`archselect._signals.Interrupted` once Lightning has cleaned up."""


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
    history_val: tuple[float, ...] = ()
    history_train_loss: tuple[float, ...] = ()
    #: Training score per epoch on up to ``TRAIN_CURVE_ROWS`` training rows (eval mode),
    #: next to ``history_val``: the learning curve's train–validation gap.
    history_train: tuple[float, ...] = ()

    @property
    def gap(self) -> float:
        """Train minus validation score (positive: overfitting), in the metric's direction."""
        sign = 1.0 if metric_direction(self.metric) == "maximize" else -1.0
        return sign * (self.train_metric - self.val_metric)


def select_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu`` (one device per trial, never DDP)."""
    return "cuda" if torch.cuda.is_available() else "cpu"


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


def seed_all(seed: int) -> None:
    """Seed Python, NumPy and torch: call before building a network, so that its initial
    weights, and not only its training, follow the run's seed."""
    pl.seed_everything(seed, workers=False, verbose=False)


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


#: Linux: writing "5" here resets the process's peak RSS (VmHWM in /proc/self/status).
_CLEAR_REFS = "/proc/self/clear_refs"
_STATUS = "/proc/self/status"


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark of this process; False where that is not possible."""
    try:
        with open(_CLEAR_REFS, "w") as fh:
            fh.write("5")
        return _kernel_peak_rss() is not None
    except OSError:
        return False


def _kernel_peak_rss() -> int | None:
    """The kernel's peak RSS of this process since the last reset (bytes), if it keeps one."""
    try:
        with open(_STATUS) as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class _PeakRSS:
    """Peak resident set size over a block; ``peak_mb`` is its growth over the start.

    On Linux the kernel's own peak mark is reset at the start and read at the end: exact,
    and nothing runs during training. Elsewhere a thread samples every MEMORY_SAMPLE_S.
    """

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.start = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.wait(MEMORY_SAMPLE_S):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> _PeakRSS:
        if not _reset_peak_rss():
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        kernel = _kernel_peak_rss() if self._thread is None else None
        self.peak = max(self.peak, kernel or 0, self.proc.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return (self.peak - self.start) / 2**20


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
    start = time.perf_counter()
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
    elapsed = time.perf_counter() - start
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
        history_val=tuple(module.history_val),
        history_train_loss=tuple(module.history_loss),
        history_train=tuple(module.history_train),
    )


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[int]:
    """Run the block with ``n`` torch threads (None: as it is), then restore the setting.

    Example:
        >>> with torch_threads(1) as n:
        ...     n
        1
    """
    before = torch.get_num_threads()
    if n is not None and n >= 1:
        torch.set_num_threads(n)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


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


@torch.no_grad()
def measure_latency(
    net: nn.Module,
    sample_shape: tuple[int, ...],
    *,
    batch_sizes: tuple[int, ...] = LATENCY_BATCHES,
    device: str = "cpu",
    example: np.ndarray | None = None,
) -> dict[int, float]:
    """Median inference time per sample, in milliseconds, at each batch size.

    ``example`` (one or more real input rows) is repeated to fill each batch; needed for
    integer inputs such as token ids. Without it the batch is random normal.
    """
    net.eval().to(device)
    result = {}
    for bs in batch_sizes:
        if example is not None:
            reps = -(-bs // len(example))
            x = torch.from_numpy(np.concatenate([example] * reps)[:bs]).to(device)
        else:
            x = torch.randn(bs, *sample_shape, device=device)
        start = time.perf_counter()
        net(x)  # warm-up
        times: list[float] = []
        for _ in range(LATENCY_REPEATS):
            if len(times) >= LATENCY_MIN_REPEATS and time.perf_counter() - start > LATENCY_MAX_S:
                break  # a long sequence at batch 256: three timings are enough
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            net(x)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        result[bs] = float(np.median(times) / bs * 1000.0)
    net.to("cpu")
    return result
