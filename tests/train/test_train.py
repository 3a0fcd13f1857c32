import itertools
import math

import numpy as np
import pytest
from torch import nn

import archselect.train._main as train
from archselect.train import TrainConfig, effective_config, train_network


def _data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64)


def test_training_learns_and_restores_best_epoch() -> None:
    x, y = _data()
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    r = train_network(net, x[:150], y[:150], x[150:], y[150:], TrainConfig(epochs=10, lr=0.01))
    assert r.val_metric > 0.85
    assert len(r.history_val) == r.epochs and max(r.history_val) == pytest.approx(r.val_metric)


def test_training_score_is_recorded_every_epoch() -> None:
    """history_train: the training score per epoch, in the metric's units, beside history_val."""
    x, y = _data()
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    r = train_network(
        net, x[:150], y[:150], x[150:], y[150:], TrainConfig(lr=0.01), fixed_epochs=4
    )
    assert len(r.history_train) == len(r.history_val) == 4
    # 150 rows, all scored; the last epoch's weights are kept, so the curve ends where
    # train_metric (every training row, after training) is
    assert r.history_train[-1] == pytest.approx(r.train_metric)
    assert r.history_train[-1] > r.history_train[0]
    xr = x[:, :3]
    yr = (xr @ np.array([1.0, -2.0, 0.5])).astype(np.float32)
    reg = train_network(
        nn.Linear(3, 1), xr, yr, xr, yr, TrainConfig(task="regression", lr=0.05), fixed_epochs=3
    )
    assert len(reg.history_train) == 3 and reg.history_train[-1] == pytest.approx(reg.train_metric)


def test_pruning_hook_can_stop_training() -> None:
    x, y = _data()
    seen: list[int] = []

    class Stop(Exception):
        pass

    def hook(epoch: int, value: float) -> None:
        seen.append(epoch)
        if epoch == 2:
            raise Stop

    with pytest.raises(Stop):
        train_network(nn.Linear(4, 2), x, y, x, y, TrainConfig(epochs=10), on_epoch=hook)
    assert seen == [0, 1, 2]


def test_nan_loss_raises_a_named_error() -> None:
    x, y = _data()
    x[0, 0] = np.nan
    with pytest.raises(FloatingPointError, match="loss became nan"):
        train_network(nn.Linear(4, 2), x, y, x, y, TrainConfig(epochs=3))


def test_small_data_gets_enough_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "MIN_STEPS", 400)
    cfg = effective_config(TrainConfig(batch_size=64, epochs=20), n_train=30)
    assert cfg.batch_size == train.MIN_BATCH
    assert cfg.epochs * math.ceil(30 / cfg.batch_size) >= 400
    big = effective_config(TrainConfig(batch_size=64, epochs=20), n_train=100_000)
    assert (big.batch_size, big.epochs) == (64, 20)


def test_regression_reports_rmse_in_target_units() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5])).astype(np.float32)
    r = train_network(
        nn.Linear(3, 1),
        x,
        y,
        x,
        y,
        TrainConfig(task="regression", epochs=30, lr=0.05),
        target_std=10.0,
    )
    assert r.metric == "rmse" and r.val_metric < 10.0


@pytest.mark.parametrize("n", [1, 2, 16, 17, 33, 40])
def test_training_batches_never_hold_a_single_row(n: int) -> None:
    """Batch norm cannot train on one row: a trailing one-row batch joins the previous one."""
    bounds = train.batch_bounds(n, 16)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert len(bounds) == 1 or min(e - s for s, e in bounds) > 1


def test_batch_norm_trains_when_rows_leave_one_over() -> None:
    x, y = _data(n=65 + 20)
    cfg = effective_config(TrainConfig(batch_size=64, epochs=2), n_train=65)
    assert 65 % cfg.batch_size == 1  # the case that once crashed batch norm
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    r = train_network(net, x[:65], y[:65], x[65:], y[65:], TrainConfig(batch_size=64, epochs=2))
    assert r.epochs >= 1 and all(np.isfinite(v) for v in r.history_val)


def test_peak_memory_counts_a_transient_allocation() -> None:
    """A 64 MiB block freed within the block still shows as peak growth (Linux: the
    kernel's reset peak mark; elsewhere the sampler may miss it, so only Linux asserts)."""
    import sys

    import numpy as np

    from archselect.train._measure import _PeakRSS, _reset_peak_rss

    with _PeakRSS() as rss:
        block = np.ones(64 * 2**20 // 8)
        del block
    if sys.platform.startswith("linux") and _reset_peak_rss():
        assert rss.peak_mb >= 60
    with _PeakRSS() as idle:
        pass
    assert idle.peak_mb < 16
