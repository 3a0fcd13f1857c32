"""What a training run measures besides its score: peak memory, latency, torch threads."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import numpy as np
import psutil
import torch
from torch import nn

__all__ = ["measure_latency", "torch_threads"]

#: Batch sizes at which latency per sample is measured, and repetitions.
LATENCY_BATCHES = (1, 256)
LATENCY_REPEATS = 5
#: … but no new one after LATENCY_MAX_S seconds per batch size, once LATENCY_MIN_REPEATS ran.
LATENCY_MIN_REPEATS = 3
LATENCY_MAX_S = 1.0
#: Interval of the resident-memory sampler on CPU (seconds).
MEMORY_SAMPLE_S = 0.02


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
