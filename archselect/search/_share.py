"""What a trial may spend: its allowance (an equal share of the search's core-seconds for
a family's first measurement; what is left of the window for later ones), the clock it is
counted on, the fidelity the allowance pays for, and, on a shared GPU, room to start."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import optuna
import torch

from archselect._common import signals as _signals
from archselect._common.budget import (
    LATER_TRIAL_SAFETY,
    MIN_LATER_S,
    MIN_LATER_SHARE,
    Fidelity,
    SearchWindow,
    choose_fidelity,
)
from archselect.core.records import DEADLINE_NOTE
from archselect.layouts import aggregate, resampled
from archselect.prepare import Prepared, Preprocessing
from archselect.train import TrainConfig, effective_config, probe_epoch_seconds, select_device

#: A trial starts on a shared GPU once it has this many times the largest measured peak
#: free, checked every GPU_ROOM_POLL_S seconds for at most GPU_ROOM_WAIT_S.
GPU_ROOM_SAFETY = 1.5


GPU_ROOM_POLL_S = 0.5


GPU_ROOM_WAIT_S = 120.0


def _family_has_finished(study: optuna.Study, family: str) -> bool:
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return any(t.params.get("family") == family for t in complete)


def search_deadline(window: SearchWindow, study: optuna.Study, prepared: Prepared) -> float:
    """The unix time after which no trial starts: the window's end.

    The search is no longer shortened to pay for the best trial's final refit: when the
    refit does not fit what is left, the final model is the best trial's own weights
    (:mod:`archselect.run._refit`), so the time goes to measuring the families.
    """
    return window.end


def wait_for_gpu_room(study: optuna.Study, *, most_s: float = GPU_ROOM_WAIT_S) -> float:
    """Several trial processes share a GPU (:func:`archselect.run.plan_workers`): wait until
    its free memory holds :data:`GPU_ROOM_SAFETY` times the largest peak memory a finished
    trial of the study measured on a GPU (none measured yet: go), at most ``most_s``
    seconds. Returns the seconds waited."""
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    peaks = [
        float(t.user_attrs.get("peak_memory_mb") or 0.0)
        for t in done
        if t.user_attrs.get("device") == "cuda"
    ]
    need_mb = GPU_ROOM_SAFETY * max(peaks, default=0.0)
    start = time.monotonic()
    while need_mb > 0 and time.monotonic() - start < most_s:
        free, _ = torch.cuda.mem_get_info()
        if free / 2**20 >= need_mb:
            break
        _signals.check()
        time.sleep(GPU_ROOM_POLL_S)
    return time.monotonic() - start


def share_clock() -> Callable[[], float]:
    """The clock a trial's share is counted on: CPU seconds of this process on the CPU (a
    one-thread trial's core-seconds, which other work on the machine does not change),
    wall seconds on a GPU (GPU-seconds)."""
    return time.process_time if select_device() == "cpu" else time.perf_counter


class _Allowance(NamedTuple):
    """What a trial may spend: ``seconds`` (None: no time budget) on ``clock``, whether it is
    its family's first measurement, and, when it must not start, why."""

    seconds: float | None
    first: bool
    clock: Callable[[], float]
    refused: str | None = None


def _allowance(
    window: SearchWindow | None, study: optuna.Study, family: str, prepared: Prepared
) -> _Allowance:
    """Seconds this trial may take, and whether it is its family's first measurement.

    A family's first trial gets its equal share of the search's core-seconds
    (``window.first_share_s``, counted on :func:`share_clock`), even when the round runs
    late, so every family is measured. A later one gets what is left of the window (wall
    time, less a safety margin), and does not start when that is below
    :data:`MIN_LATER_SHARE` of a first share (at least :data:`MIN_LATER_S`): a figure from
    a trial given one second is noise, stored as a measurement.
    """
    first = not _family_has_finished(study, family)
    if window is None:
        return _Allowance(None, first, time.perf_counter)
    if first:
        return _Allowance(window.first_share_s, first, share_clock())
    left = max(0.0, (search_deadline(window, study, prepared) - time.time()) * LATER_TRIAL_SAFETY)
    least = max(MIN_LATER_S, MIN_LATER_SHARE * window.first_share_s)
    refused = None
    if left <= 0:
        refused = f"{DEADLINE_NOTE} (before it started)"
    elif left < least:
        refused = f"not started: {left:.1f} s left of the search, below the {least:.0f} s a "
        refused += "measurement needs"
    return _Allowance(left, first, time.perf_counter, refused)


def _fidelity(
    prepared: Prepared,
    net: torch.nn.Module,
    config: TrainConfig,
    runs: int,
    allowance: _Allowance,
) -> Fidelity:
    """Probe the network's cost on the training rows (on the allowance's clock); choose
    what the allowance pays for."""
    if allowance.seconds is None:
        return Fidelity()
    x, y = prepared.x_train, prepared.y_train
    n_val, n_test = len(prepared.x_val), len(prepared.x_test)
    start = allowance.clock()
    epoch_s = probe_epoch_seconds(net, x, y, n_val, config, clock=allowance.clock)
    # a forward pass costs about a third of a training row's step: the validation pass of
    # each epoch, and the predictions on the validation and test rows after training
    per_row = epoch_s / max(1e-9, len(x) + n_val / 3.0)
    after_s = per_row * (n_val + n_test) / 3.0
    spent = allowance.clock() - start  # the probe is paid from the allowance too
    return choose_fidelity(
        epoch_s=epoch_s,
        full_epochs=effective_config(config, len(x)).epochs,
        runs=runs,
        n_rows=len(x),
        allowance_s=max(0.0, allowance.seconds - spent - after_s),
        steps=series_steps(prepared.preprocessing),
        fixed_s=per_row * n_val / 3.0,
    )


#: Layouts whose model input is a series ``(T, C)`` that the resolution fidelity may
#: shorten (wide and long-format series; not forecast windows, text or images).
RESAMPLED_LAYOUTS = ("series", "series_padded")


def series_steps(pre: Preprocessing) -> int | None:
    """The steps of a series layout's input (None where no resolution fidelity applies)."""
    if pre.layout not in RESAMPLED_LAYOUTS or len(pre.input_shape) != 2 or pre.resample > 1:
        return None
    return int(pre.input_shape[0])


_AT_RESOLUTION: dict[int, tuple[Prepared, Prepared]] = {}


def at_resolution(prepared: Prepared, k: int) -> Prepared:
    """``prepared`` at 1/``k`` of its resolution: every split piecewise-aggregated
    (:func:`archselect.layouts.aggregate`), the preprocessing saying so
    (:func:`archselect.layouts.resampled`), so the network built for it, its export and
    ``predict`` read the same shorter series. Kept per process for the last data set."""
    if k <= 1:
        return prepared
    cached = _AT_RESOLUTION.get(k)
    if cached is None or cached[0] is not prepared:
        pre = prepared.preprocessing
        shorter = dataclasses.replace(
            prepared,
            preprocessing=resampled(pre, k),
            x_train=aggregate(np.asarray(prepared.x_train), k, pre.layout),
            x_val=aggregate(np.asarray(prepared.x_val), k, pre.layout),
            x_test=aggregate(np.asarray(prepared.x_test), k, pre.layout),
        )
        if cached is not None and cached[0] is not prepared:
            _AT_RESOLUTION.clear()
        _AT_RESOLUTION[k] = cached = (prepared, shorter)
    return cached[1]


class _Limits(NamedTuple):
    """A trial's fidelity for each training run: an epoch cap and a time limit (on
    ``clock``); ``to_limit``: no cap, the run trains while its pace leaves time for another
    epoch (see :func:`archselect.train.train_network`)."""

    max_epochs: int | None
    time_limit_s: float | None
    clock: Callable[[], float] = time.perf_counter
    to_limit: bool = False


def _subsample(n: int, rows: int | None, seed: int) -> np.ndarray:
    """Sorted positions of ``rows`` of ``n`` training rows (all of them for None)."""
    if rows is None or rows >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=rows, replace=False))
