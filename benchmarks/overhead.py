"""Training-path overhead: archselect's ``train_network`` (Lightning) vs a bare PyTorch loop.

Both train the same freshly seeded model on the same data for the same number of epochs
and do the same work per epoch: shuffled mini-batches, AdamW, a per-step cosine schedule,
gradient clipping, a validation pass with the accuracy and a copy of the best weights.
Each round runs both back to back, in alternating order, so a burst of machine load hits
both runs of a round alike; the ratio printed is the median of the rounds' ratios (the
ratio of the median times is printed beside it). Target: ratio <= 1.10.

    python benchmarks/overhead.py [--repeats 9] [--epochs 10]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archselect.models import create_model
from archselect.train import GRAD_CLIP, TrainConfig, effective_config, train_network

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.10
SEED = 0


def _data(case: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]:
    if case == "digits-mlp":
        frame = pd.read_csv(ROOT / "datasets" / "digits.csv")
        x = frame.drop(columns="label").to_numpy(np.float32) / 16.0
        y = frame["label"].to_numpy(np.int64)
        shape: tuple[int, ...] = (64,)
    else:  # GunPoint-sized series, repeated to 400 rows so epochs have several batches
        frame = pd.read_csv(ROOT / "datasets" / "gunpoint_train.csv")
        x = np.tile(frame.drop(columns="label").to_numpy(np.float32), (8, 1))[:, :, None]
        y = np.tile(frame["label"].to_numpy(np.int64) - 1, 8)
        shape = (x.shape[1], 1)
    n_val = len(x) // 5
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val], shape


def _model(case: str, shape: tuple[int, ...]) -> nn.Module:
    torch.manual_seed(SEED)
    family = "mlp" if case == "digits-mlp" else "cnn1d"
    return create_model(family, input_shape=shape, n_outputs=10)


def bare_loop(net: nn.Module, x, y, xv, yv, cfg: TrainConfig, epochs: int) -> float:  # type: ignore[no-untyped-def]
    """The same training as ``train_network`` in plain PyTorch; returns the best accuracy."""
    torch.manual_seed(cfg.seed)
    xt, yt, xvt, yvt = map(torch.from_numpy, (x, y, xv, yv))
    steps = math.ceil(len(xt) / cfg.batch_size)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps * epochs)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(cfg.seed)
    best, best_state = -1.0, None
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(xt), generator=gen)
        for i in range(steps):
            idx = order[i * cfg.batch_size : (i + 1) * cfg.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), GRAD_CLIP)
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            acc = float((net(xvt).argmax(1) == yvt).float().mean())
        if acc > best:
            best, best_state = acc, {k: v.detach().clone() for k, v in net.state_dict().items()}
    assert best_state is not None
    net.load_state_dict(best_state)
    return best


def run_case(case: str, repeats: int, epochs: int) -> float:
    x, y, xv, yv, shape = _data(case)
    cfg = effective_config(TrainConfig(epochs=epochs, batch_size=64, seed=SEED), len(x))
    times: dict[str, list[float]] = {"archselect": [], "bare": []}
    cpu: dict[str, list[float]] = {"archselect": [], "bare": []}
    accs: dict[str, float] = {}
    for r in range(repeats + 1):  # the first round warms both paths up and is not counted
        # each round runs both paths back to back, in alternating order (AB, BA, ...)
        for path in ("archselect", "bare") if r % 2 else ("bare", "archselect"):
            net = _model(case, shape)
            t0, c0 = time.perf_counter(), time.process_time()
            if path == "archselect":
                res = train_network(net, x, y, xv, yv, cfg, device="cpu", fixed_epochs=epochs)
                accs[path] = res.val_metric
            else:
                accs[path] = bare_loop(net, x, y, xv, yv, cfg, epochs)
            if r:
                times[path].append(time.perf_counter() - t0)
                cpu[path].append(time.process_time() - c0)
    a, b = statistics.median(times["archselect"]), statistics.median(times["bare"])
    # the median of the rounds' own ratios: a burst of load slows both runs of a round alike
    ratio = statistics.median(
        ta / tb for ta, tb in zip(times["archselect"], times["bare"], strict=True)
    )
    cpu_ratio = statistics.median(
        ca / cb for ca, cb in zip(cpu["archselect"], cpu["bare"], strict=True)
    )
    print(
        f"{case:<13} epochs {epochs:3d}  rows {len(x):5d}  batch {cfg.batch_size:3d}  "
        f"archselect {a:7.3f}s  bare {b:7.3f}s  ratio {ratio:5.3f} (CPU time {cpu_ratio:5.3f}, "
        f"ratio of medians {a / b:5.3f})  "
        f"(val acc {accs['archselect']:.3f} / {accs['bare']:.3f})  "
        f"{'OK' if ratio <= TARGET_RATIO else 'ABOVE TARGET'} (target <= {TARGET_RATIO:.2f})"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--cases", default="digits-mlp,gunpoint-cnn1d")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of "
        f"{args.repeats} rounds of both paths back to back"
    )
    ratios = [run_case(c, args.repeats, args.epochs) for c in args.cases.split(",")]
    print(f"worst ratio {max(ratios):.3f} (target <= {TARGET_RATIO:.2f})")


if __name__ == "__main__":
    main()
