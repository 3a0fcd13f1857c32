"""The ``--timeout`` budget: a clock over the whole command and the fidelity of each trial.

Not a stage, and free of torch and Optuna: :class:`Clock` times each phase of ``fit`` (load,
profile, baselines, search, final model, report) and says how much of the budget is left;
:func:`search_window` decides when the search must end so that the final model and the
report still fit; :func:`choose_fidelity` turns a probed cost into the cheapest measurement
a trial's share of the time can pay for (fewer epochs, then fewer training rows), or says
the family is too slow for this budget.

Example:
    >>> f = choose_fidelity(epoch_s=2.0, full_epochs=40, runs=1, n_rows=1000, allowance_s=21.0)
    >>> (f.epochs, f.rows, f.too_slow)
    (10, None, False)
    >>> choose_fidelity(epoch_s=2.0, full_epochs=40, runs=1, n_rows=1000, allowance_s=0.6).note()
    'too slow for this budget (probed 2 s per epoch, share 1 s)'
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

from archselect._common.serde import JsonRecord

__all__ = [
    "AFTER_REFIT_S",
    "Clock",
    "Fidelity",
    "SearchWindow",
    "choose_fidelity",
    "refit_epoch_seconds",
    "search_end",
    "search_window",
]

#: Share of the budget kept, after the search, for the final model, the length-latency
#: measurement and the report (at least MIN_RESERVE_S seconds).
RESERVE_FRACTION = 0.15
MIN_RESERVE_S = 5.0
#: Every planned family's first trial must have a result by this share of the search …
FIRST_ROUND_FRACTION = 0.5
#: … and by this share of the whole budget (the target is half of it; the rest is margin),
#: though the first round never gets less than MIN_FIRST_ROUND_FRACTION of the search.
FIRST_RESULT_FRACTION = 0.42
MIN_FIRST_ROUND_FRACTION = 0.25
#: Seconds a trial spends beyond its training runs (probe, predictions, latency timing),
#: taken from each first trial's share.
TRIAL_OVERHEAD_S = 1.5
#: The baselines stop starting new references after this share of the budget left.
BASELINE_FRACTION = 0.15
#: A reduced trial trains at least this many epochs where it can (else one) …
MIN_EPOCHS = 3
#: … on at least this many training rows (or all rows, when there are fewer) …
MIN_ROWS = 64
#: … and, on long series, at a resolution of at least this many steps (the mean of every
#: k steps, before fewer rows or one epoch are tried).
MIN_STEPS = 32
#: … and its training runs are charged this many seconds each on top of their epochs
#: (building the Trainer, predicting, timing latency).
RUN_OVERHEAD_S = 0.5
#: A later trial (not its family's first) plans for this share of the search time left, so
#: that a pace slower than probed (other work on the machine) still ends before the deadline,
#: where the trial would be lost.
LATER_TRIAL_SAFETY = 0.8
#: … and does not start when that is below this share of a first trial's share, nor below
#: MIN_LATER_S seconds: a trial given one second (136 rows, 3 epochs) measured noise.
MIN_LATER_SHARE = 0.25
MIN_LATER_S = 2.0
#: Phase name of the time before ``fit`` began (interpreter start and imports).
START_PHASE = "start"
#: Set by :func:`mark_command_start` when archselect runs as a command: the unix time its
#: process began, so that ``--timeout`` counts the interpreter start and imports too.
COMMAND_START_UNIX: float | None = None


def mark_command_start() -> None:
    """Record when this process began (the command line's ``--timeout`` starts there)."""
    global COMMAND_START_UNIX
    try:
        import psutil

        COMMAND_START_UNIX = psutil.Process().create_time()
    except Exception:  # no process table: the budget starts at fit instead
        COMMAND_START_UNIX = time.time()


class Clock:
    """Wall time since the command began, per phase, against an optional budget.

    Example:
        >>> c = Clock(60.0)
        >>> with c.phase("load"):
        ...     pass
        >>> list(c.phases), c.left() <= 60.0
        (['load'], True)
    """

    def __init__(self, budget_s: float | None, *, started_unix: float | None = None) -> None:
        self.budget_s = budget_s
        now, now_unix = time.monotonic(), time.time()
        before = 0.0 if started_unix is None else min(max(0.0, now_unix - started_unix), 3600.0)
        self._start = now - before
        self._start_unix = now_unix - before
        self.phases: dict[str, float] = {START_PHASE: before} if before else {}

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def left(self) -> float | None:
        """Seconds of the budget left (never negative); None without a budget."""
        if self.budget_s is None:
            return None
        return max(0.0, self.budget_s - self.elapsed())

    def unix(self, after_s: float) -> float:
        """The wall-clock time (``time.time()``) ``after_s`` seconds after the start."""
        return self._start_unix + after_s

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Add the time spent in the block to phase ``name``."""
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.monotonic() - t0

    def summary(self) -> dict[str, float]:
        """Seconds per phase, in the order they ran, plus ``total``."""
        out = {k: round(v, 2) for k, v in self.phases.items()}
        out["total"] = round(self.elapsed(), 2)
        return out


@dataclass(frozen=True)
class SearchWindow(JsonRecord):
    """When the search ends and how long each family's first trial may take (unix times).

    Stored in the study, so that every trial process, local or remote, reads the same one.
    """

    end: float
    first_round_end: float
    #: Seconds each family's first trial may take (its share of the first round).
    first_share_s: float
    workers: int = 1
    #: When the whole budget ends (None: not recorded). A later trial starts only while the
    #: time to it pays for the final refit of the best trial so far (see :func:`search_end`).
    budget_end: float | None = None


#: Seconds kept after the final model's refit for the length latency and the report.
AFTER_REFIT_S = MIN_RESERVE_S


def refit_epoch_seconds(pace: float, n_rows: int, n_val: int) -> float:
    """Seconds one refit epoch takes at a trial's measured pace (seconds per epoch per
    training row) on ``n_rows`` rows, its validation pass (``n_val`` rows, about a third of a
    training row's cost each) included."""
    return pace * (n_rows + n_val / 3.0)


def search_end(
    window: SearchWindow, best: tuple[float, int] | None, n_rows: int, n_val: int
) -> float:
    """When the search must stop starting trials: the window's end, or earlier, so that the
    final refit of the best trial so far (``best``: its pace and epochs) still trains every
    one of its epochs before the budget ends (an undertrained refit would be exported).

    Example:
        >>> w = SearchWindow(end=100.0, first_round_end=50.0, first_share_s=5.0,
        ...                  budget_end=120.0)
        >>> search_end(w, None, 1000, 300), search_end(w, (0.001, 10), 1000, 300)
        (100.0, 100.0)
        >>> search_end(w, (0.001, 20), 1000, 300)  # a 22 s refit: stop at 120 - 22 - 5
        93.0
    """
    if best is None or window.budget_end is None:
        return window.end
    pace, epochs = best
    refit = refit_epoch_seconds(pace, n_rows, n_val) * max(1, epochs)
    return min(window.end, window.budget_end - refit - AFTER_REFIT_S)


def search_window(
    clock: Clock,
    *,
    n_families: int,
    workers: int,
    reserve: float | None = None,
    busy_s: float = 0.0,
) -> SearchWindow | None:
    """The search's window in a budgeted command: it ends early enough that the final
    model, the length latency and the report fit (:data:`RESERVE_FRACTION`), and each
    family's first trial gets an equal share of the core-seconds of the first
    :data:`FIRST_ROUND_FRACTION` of it: its wall time times the ``workers`` (trial
    processes, one core each), less ``busy_s`` core-seconds that one of them spends on
    other work (the reference models). ``reserve``: seconds kept after the search
    (default: the rule above).

    Example:
        >>> w = search_window(Clock(100.0), n_families=4, workers=2)
        >>> round(w.end - w.first_round_end), round(w.first_share_s)
        (43, 19)
    """
    left = clock.left()
    if left is None or clock.budget_s is None:
        return None
    if reserve is None:
        reserve = max(MIN_RESERVE_S, RESERVE_FRACTION * clock.budget_s)
    span = max(0.0, left - reserve)
    now = clock.elapsed()
    # every family measured by FIRST_RESULT_FRACTION of the whole budget (the command's
    # start and the baselines included), yet never in less than MIN_FIRST_ROUND_FRACTION
    by_budget = FIRST_RESULT_FRACTION * clock.budget_s - now
    first = max(MIN_FIRST_ROUND_FRACTION * span, min(FIRST_ROUND_FRACTION * span, by_budget))
    cores = max(1, workers)
    # in core-seconds, never below half of them (references that run long are stopped)
    share = max(0.5 * first * cores, first * cores - busy_s) / max(1, n_families)
    # a trial spends time beyond its training runs (probe, predictions, latency)
    share = max(share / 2.0, share - TRIAL_OVERHEAD_S)
    return SearchWindow(
        end=clock.unix(now + span),
        first_round_end=clock.unix(now + first),
        first_share_s=min(first * cores, share),
        workers=max(1, workers),
        budget_end=clock.unix(clock.budget_s),
    )


def resolution(
    epoch_s: float,
    full_epochs: int,
    runs: int,
    allowance_s: float,
    min_epochs: int,
    steps: int | None,
) -> tuple[int, int] | None:
    """The mildest piecewise-aggregate factor ``k`` (2, 4, 8 …; the series never shorter
    than :data:`MIN_STEPS`) at which ``min_epochs`` epochs fit ``allowance_s`` on the
    validation split, and the epochs it pays for; None when none does (or no ``steps``).
    An epoch's cost is taken to shrink with the steps (convolutions and recurrent cells
    both do work per step).

    Example:
        >>> resolution(8.0, 40, 1, 10.0, 3, 1460)  # 2 s per epoch at 1/4: 4 epochs
        (4, 4)
        >>> resolution(8.0, 40, 1, 10.0, 3, 40) is None  # 40 steps: no shorter than 32
        True
    """
    if not steps or epoch_s <= 0:
        return None
    per_run = allowance_s - RUN_OVERHEAD_S
    k = 2
    while -(-steps // k) >= MIN_STEPS and per_run > 0:
        epochs = min(full_epochs, math.floor(per_run / (epoch_s / k)))
        if epochs >= min(min_epochs, full_epochs):
            return k, epochs
        k *= 2
    return None


@dataclass(frozen=True)
class Fidelity(JsonRecord):
    """How much of a full trial its time allowance pays for.

    ``epochs``: the most epochs each training run may take (None: the family's own
    schedule); ``single_split``: scored on the validation split alone instead of every
    cross-validation fold; ``rows``: training rows per run (None: all); ``too_slow``: not
    even one epoch on :data:`MIN_ROWS` rows fits.
    """

    epochs: int | None = None
    rows: int | None = None
    single_split: bool = False
    too_slow: bool = False
    #: The probed seconds per epoch on every training row, and the allowance it was cut to.
    epoch_s: float = 0.0
    allowance_s: float | None = None
    #: Long series: the model reads the mean of every ``resample`` steps, ``steps`` of them
    #: (the resolution fidelity; 1: the data's own resolution).
    resample: int = 1
    steps: int | None = None

    @property
    def full(self) -> bool:
        return (
            self.epochs is None
            and self.rows is None
            and self.resample == 1
            and not (self.single_split or self.too_slow)
        )

    def note(self) -> str | None:
        """A sentence for ``trials.csv`` and the report; None at full fidelity."""
        if self.full:
            return None
        cost = f"probed {self.epoch_s:.3g} s per epoch, share {self.allowance_s or 0:.0f} s"
        if self.too_slow:
            return f"too slow for this budget ({cost})"
        parts = [f"at most {self.epochs} epochs" if self.epochs is not None else "all epochs"]
        if self.resample > 1:
            parts.append(f"at 1/{self.resample} resolution: {self.steps} steps")
        if self.rows is not None:
            parts.append(f"on {self.rows} training rows")
        if self.single_split:
            parts.append("on the validation split only")
        return f"low fidelity: {' '.join(parts)} ({cost})"


def choose_fidelity(
    *,
    epoch_s: float,
    full_epochs: int,
    runs: int,
    n_rows: int,
    allowance_s: float | None,
    min_epochs: int = MIN_EPOCHS,
    min_rows: int = MIN_ROWS,
    steps: int | None = None,
    fixed_s: float = 0.0,
) -> Fidelity:
    """The richest measurement ``allowance_s`` pays for, trying in turn: every epoch; fewer
    epochs (at least ``min_epochs``); the same on the validation split alone instead of
    ``runs`` cross-validation runs; for series of ``steps`` steps, the same at a lower
    resolution (the mean of every 2, 4, 8 … steps, never below :data:`MIN_STEPS`:
    :func:`resolution`); ``min_epochs`` on fewer training rows (at least ``min_rows``); one
    epoch on those rows; else too slow.

    Args:
        epoch_s: Probed seconds of one epoch on all ``n_rows`` training rows (with its
            validation pass).
        full_epochs: Epochs of the family's own schedule.
        runs: Training runs of the trial (cross-validation folds, else 1).
        n_rows: Training rows of one run.
        allowance_s: Seconds the trial may take; None for no limit.
        fixed_s: The part of ``epoch_s`` that fewer training rows do not shorten (the
            validation pass).

    Example:
        >>> f = choose_fidelity(epoch_s=10.0, full_epochs=40, runs=4, n_rows=800,
        ...                     allowance_s=40.5)
        >>> f.epochs, f.single_split, f.rows
        (4, True, None)
    """
    base = Fidelity(epoch_s=epoch_s, allowance_s=allowance_s)
    if allowance_s is None or epoch_s <= 0:
        return base
    for split_runs, single in ((max(1, runs), False), (1, True)):
        if single and runs <= 1:
            continue
        per_run = allowance_s / split_runs - RUN_OVERHEAD_S
        epochs = min(full_epochs, math.floor(per_run / epoch_s)) if per_run > 0 else 0
        if epochs >= min(min_epochs, full_epochs):
            capped = None if epochs >= full_epochs else epochs
            return dataclasses.replace(base, epochs=capped, single_split=single)
    by_resolution = resolution(epoch_s, full_epochs, runs, allowance_s, min_epochs, steps)
    if by_resolution is not None:
        k, epochs = by_resolution
        return dataclasses.replace(
            base,
            epochs=None if epochs >= full_epochs else epochs,
            single_split=runs > 1,
            resample=k,
            steps=-(-int(steps or 0) // k),
        )
    per_run = allowance_s - RUN_OVERHEAD_S
    floor_rows = min(min_rows, n_rows)
    fixed = min(max(0.0, fixed_s), 0.9 * epoch_s)
    for epochs in (min_epochs, 1):
        per_epoch = per_run / epochs - fixed
        rows = math.floor(n_rows * per_epoch / (epoch_s - fixed)) if per_epoch > 0 else 0
        if rows >= floor_rows:
            return dataclasses.replace(
                base, epochs=epochs, rows=min(rows, n_rows), single_split=runs > 1
            )
    return dataclasses.replace(base, too_slow=True)
