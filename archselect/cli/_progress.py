"""Search progress on stderr: a rich bar on a terminal, one line per trial otherwise.

Shows trials done / planned, the best validation score so far of each family, the
elapsed time and an estimate of the time left (bounded by ``--timeout``).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from archselect.plan import Plan
from archselect.search import TrialRecord

__all__ = ["TrialProgress"]


def _clock(seconds: float) -> str:
    return str(timedelta(seconds=round(max(seconds, 0.0))))


class TrialProgress:
    """Receives the plan and each finished trial (the ``on_plan``/``on_trial`` hooks of fit).

    Example:
        >>> import io
        >>> p = TrialProgress(Console(file=io.StringIO(), force_terminal=False))
        >>> p.summary()
        '0 trials done'
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.total: int | None = None
        self.timeout: float | None = None
        self.maximize = True
        self.done = 0
        self.best: dict[str, float] = {}
        self.started = time.monotonic()
        self._bar: Progress | None = None
        self._task: Any = None

    def start(self, plan: Plan) -> None:
        self.total, self.timeout = plan.n_trials, plan.timeout_s
        self.maximize = plan.direction == "maximize"
        self.started = time.monotonic()
        if self.console.is_terminal:
            self._bar = Progress(
                TextColumn("trials"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[left]}"),
                TextColumn("{task.fields[best]}"),
                console=self.console,
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("search", total=self.total, left="", best="")

    def remaining_s(self) -> float | None:
        """Estimated seconds left: the trial rate times trials left, capped by the timeout."""
        elapsed = time.monotonic() - self.started
        estimates = []
        if self.total is not None and self.done:
            estimates.append(elapsed / self.done * max(self.total - self.done, 0))
        if self.timeout is not None:
            estimates.append(self.timeout - elapsed)
        return max(min(estimates), 0.0) if estimates else None

    def best_text(self) -> str:
        ordered = sorted(self.best.items(), key=lambda kv: -kv[1] if self.maximize else kv[1])
        return " · ".join(f"{fam} {val:.4g}" for fam, val in ordered)

    def summary(self) -> str:
        planned = f"/{self.total}" if self.total is not None else ""
        parts = [f"{self.done}{planned} trials done"]
        if self.best:
            parts.append(f"best {self.best_text()}")
        if self.done:
            left = self.remaining_s()
            elapsed = _clock(time.monotonic() - self.started)
            parts.append(
                f"{elapsed} elapsed" + (f", ~{_clock(left)} left" if left is not None else "")
            )
        return " | ".join(parts)

    def trial(self, t: TrialRecord) -> None:
        self.done += 1
        if t.val_metric is not None and t.state == "COMPLETE":
            old = self.best.get(t.family)
            better = old is None or (t.val_metric > old if self.maximize else t.val_metric < old)
            if better:
                self.best[t.family] = float(t.val_metric)
        if self._bar is not None:
            left = self.remaining_s()
            self._bar.update(
                self._task,
                completed=self.done,
                left="" if left is None else f"~{_clock(left)} left",
                best=self.best_text(),
            )
            return
        value = "" if t.val_metric is None else f" val {t.val_metric:.4g}"
        why = f" ({t.error or t.note})" if t.error or t.note else ""
        secs = f" {t.duration_s:.1f}s" if t.duration_s is not None else ""
        self.console.print(
            f"trial {t.number:3d} {t.family:<8} {t.state:<8}{value}{secs}{why} | {self.summary()}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
