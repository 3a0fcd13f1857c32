"""One number format for the verdict: each metric's values, differences and intervals.

Accuracy-like metrics are shown as percentages ("85.0%") and their differences in
percentage points ("+22.5 points"); an error metric (RMSE, MAE, MAPE, MASE, sMAPE) keeps its
own unit, named once ("+0.0123 RMSE"); scores without a unit (Brier, log-loss) are plain
numbers. An interval is always of the same quantity as the difference beside it, in the same
unit, with the unit word once after it: "95% interval [+10.0, +35.0] points".

Values are stored as they are computed (accuracy as a fraction, RMSE in target units) and
scaled here, once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archselect.core.verdict._rules import INTERVAL

__all__ = ["MINUS", "PERCENT_METRICS", "Unit", "fmt_number", "parse_number", "unit_for"]

#: Metrics shown as percentages, their differences in percentage points.
PERCENT_METRICS = frozenset({"accuracy", "balanced_accuracy", "f1", "macro_f1"})
#: The unit word of other metrics' differences ("" for unitless scores).
UNIT_WORDS = {
    "rmse": "RMSE",
    "mae": "MAE",
    "mape": "MAPE",
    "mase": "MASE",
    "smape": "sMAPE",
    "brier": "",
    "log_loss": "",
}
#: Metric names in sentences (others as they are).
METRIC_NAMES = {
    "rmse": "RMSE",
    "mae": "MAE",
    "mape": "MAPE",
    "mase": "MASE",
    "smape": "sMAPE",
    "brier": "Brier score",
    "log_loss": "log-loss",
}
#: The minus sign of every signed number the verdict prints.
MINUS = "\u2212"
#: Decimals of a percentage and of percentage points.
PERCENT_DECIMALS = 1
#: Significant digits of other metrics' values and of their differences.
VALUE_DIGITS = 4
DIFF_DIGITS = 3
#: Sizes printed in fixed notation (others, and 0, as Python's ``g`` format prints them).
FIXED_LOW, FIXED_HIGH = 1e-4, 1e6


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fmt_number(value: float, digits: int, *, signed: bool = False) -> str:
    """``value`` to ``digits`` significant digits (no exponent from 1e-4 to 1e6), signed
    with "+" or the minus sign when ``signed``.

    Example:
        >>> fmt_number(-0.000054, 3, signed=True), fmt_number(1234.5678, 4)
        ('−5.4e-05', '1235')
        >>> fmt_number(25123.0, 3), fmt_number(0.0746, 3, signed=True)
        ('25123', '+0.0746')
    """
    size = abs(value)
    if FIXED_LOW <= size < FIXED_HIGH:
        decimals = max(0, digits - 1 - math.floor(math.log10(size)))
        text = f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"
    else:
        text = f"{value:+.{digits}g}" if signed else f"{value:.{digits}g}"
    return text.replace("-", MINUS, 1) if text.startswith("-") else text


def parse_number(text: str) -> float:
    """The inverse of the formats here: "−1.5", "+22.5" or "85.0%" back to a float.

    Example:
        >>> parse_number("−5.4e-05"), parse_number("+22.5")
        (-5.4e-05, 22.5)
    """
    return float(text.replace(MINUS, "-").rstrip("%").strip())


@dataclass(frozen=True)
class Unit:
    """How one metric's numbers are printed.

    Example:
        >>> acc = unit_for("accuracy")
        >>> acc.value(0.85), acc.signed(0.225), acc.interval((0.1, 0.35))
        ('85.0%', '+22.5 points', '95% interval [+10.0, +35.0] points')
        >>> unit_for("rmse").interval((-0.0746, 0.056))
        '95% interval [−0.0746, +0.0560] RMSE'
    """

    metric: str

    @property
    def percent(self) -> bool:
        return self.metric in PERCENT_METRICS

    @property
    def name(self) -> str:
        """The metric's name in a sentence: "accuracy", "RMSE", "Brier score"."""
        return METRIC_NAMES.get(self.metric, self.metric)

    @property
    def word(self) -> str:
        """The unit word of a difference: ``points``, the metric's name, or ``""``."""
        if self.percent:
            return "points"
        return UNIT_WORDS.get(self.metric, self.metric.upper())

    def scaled(self, value: float) -> float:
        """The number printed for a stored value (percentages and points ×100)."""
        return value * 100.0 if self.percent else value

    def value(self, value: Any) -> str:
        """A value of the metric: "85.0%" or "0.1235"; "n/a" when unknown."""
        if not _finite(value):
            return "n/a"
        if self.percent:
            return f"{self.scaled(value):.{PERCENT_DECIMALS}f}%"
        return fmt_number(float(value), VALUE_DIGITS)

    def _signed_number(self, diff: float) -> str:
        if self.percent:
            text = f"{self.scaled(diff):+.{PERCENT_DECIMALS}f}"
            return text.replace("-", MINUS)
        return fmt_number(diff, DIFF_DIGITS, signed=True)

    def _with_word(self, number: str) -> str:
        return f"{number} {self.word}" if self.word else number

    def signed(self, diff: Any) -> str:
        """A difference with its sign and unit: "+22.5 points", "−0.0123 RMSE"."""
        if not _finite(diff):
            return "n/a"
        return self._with_word(self._signed_number(float(diff)))

    def amount(self, diff: Any) -> str:
        """The size of a difference, unsigned: "22.5 points", "0.0123 RMSE"."""
        if not _finite(diff):
            return "n/a"
        return self._with_word(self._signed_number(abs(float(diff))).lstrip("+"))

    def interval(self, iv: Sequence[float] | None) -> str:
        """A 95 % interval of a difference, in the difference's unit, the word once."""
        if iv is None or len(iv) != 2 or not all(_finite(v) for v in iv):
            return "no interval: not scored on the same rows"
        lo, hi = (self._signed_number(float(v)) for v in iv)
        return self._with_word(f"{INTERVAL:.0%} interval [{lo}, {hi}]")


def unit_for(metric: str) -> Unit:
    """The :class:`Unit` of ``metric`` (``accuracy``, ``rmse``, ``mae``, ``brier`` …)."""
    return Unit(str(metric))


def excludes_zero(iv: Sequence[float] | None) -> bool:
    """Whether an interval lies wholly on one side of 0."""
    return iv is not None and len(iv) == 2 and (iv[0] > 0 or iv[1] < 0)
