"""The structure checks in words: the order control and the learning curves.

Both are measured by the fit (:class:`archselect.core.recommendation.OrderControl`,
:class:`archselect.core.recommendation.LearningCurve`); this module only says what they show,
in the verdict's units (:mod:`archselect.core.verdict._units`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from archselect.core.kinds import layout_traits
from archselect.core.recommendation import LearningCurve, OrderControl
from archselect.core.verdict._rules import label
from archselect.core.verdict._units import Unit

__all__ = [
    "MAX_TIE_FACTOR",
    "RISING_POINTS",
    "RISING_SHARE",
    "curves_sentence",
    "order_sentence",
    "rising",
    "tie_factor",
]

#: A curve is still rising when it gains at least this much per doubling of the rows:
#: half a point for accuracy-like metrics …
RISING_POINTS = 0.005
#: … and this share of its last value for an error metric.
RISING_SHARE = 0.01
#: Curves that would tie only beyond this many times the rows are said not to tie.
MAX_TIE_FACTOR = 16.0


def _what(layout: str | None) -> str:
    """What the order control shuffles in this layout (its traits' ``positions``)."""
    return layout_traits(layout).positions if layout else "steps"


def order_sentence(oc: OrderControl, unit: Unit, layout: str | None) -> str:
    """The order control in one sentence: both figures, the drop with its interval, and what
    it means for this data.

    Example:
        >>> from archselect.core.verdict._units import unit_for
        >>> oc = OrderControl("cnn1d", "accuracy", 0.969, 0.61, 0.359, (0.30, 0.41), True,
        ...                   800, 20, 12.0)
        >>> head, tail = order_sentence(oc, unit_for("accuracy"), "series").split(": ")
        >>> head
        'cnn1d in order 96.9%, steps shuffled 61.0%'
        >>> for part in tail.split(", so "):
        ...     print(part)
        order is worth +35.9 points (95% interval [+30.0, +41.0] points)
        this model uses the order of the steps.
    """
    what = _what(layout)
    head = (
        f"{label(oc.family)} in order {unit.value(oc.in_order)}, {what} shuffled "
        f"{unit.value(oc.shuffled)}: order is worth {unit.signed(oc.diff)} "
        f"({unit.interval(oc.interval)})"
    )
    if oc.uses_order:
        tail = f", so this model uses the order of the {what}."
    elif layout and not layout_traits(layout).ordered:
        tail = ": no order to use."
    elif oc.interval is None:
        tail = ": whether the order is used cannot be told without per-row scores."
    else:
        tail = f": within noise, this model does not use the order of the {what}."
    note = f" {oc.note}" if oc.note else ""
    return head + tail + note


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def rising(curve: LearningCurve, unit: Unit, sign: float) -> bool | None:
    """Whether ``curve`` still gains per doubling of the rows (None: slope unknown)."""
    slope = curve.slope_per_doubling
    if not _finite(slope) or not curve.points:
        return None
    assert slope is not None
    floor = RISING_POINTS if unit.percent else RISING_SHARE * abs(curve.points[-1].metric)
    return sign * slope >= floor


def tie_factor(lead: LearningCurve, other: LearningCurve, sign: float) -> float | None:
    """How many times the rows until ``other`` (behind at the last point) would tie ``lead``,
    extrapolating both slopes per doubling; None when it would not catch up."""
    if not lead.points or not other.points:
        return None
    s_lead, s_other = lead.slope_per_doubling, other.slope_per_doubling
    if not (_finite(s_lead) and _finite(s_other)):
        return None
    assert s_lead is not None and s_other is not None
    gap = sign * (lead.points[-1].metric - other.points[-1].metric)
    closing = sign * (s_other - s_lead)
    if gap <= 0 or closing <= 0:
        return None
    return float(2.0 ** (gap / closing))


def _crossed(a: LearningCurve, b: LearningCurve) -> bool:
    """Whether the two curves change order between the row fractions both measured."""
    at_b = {p.fraction: p.metric for p in b.points}
    signs = {
        math.copysign(1.0, p.metric - at_b[p.fraction])
        for p in a.points
        if p.fraction in at_b and p.metric != at_b[p.fraction]
    }
    return len(signs) > 1


def _slope_text(curve: LearningCurve, unit: Unit, sign: float) -> str:
    slope = curve.slope_per_doubling
    if not _finite(slope):
        return f"{label(curve.candidate)}: slope unknown"
    assert slope is not None
    gain = sign * slope
    verb = "gains" if gain >= 0 else "loses"
    state = "still rising" if rising(curve, unit, sign) else "flat"
    return f"{label(curve.candidate)} {verb} {unit.amount(gain)} per doubling ({state})"


def curves_sentence(curves: Sequence[LearningCurve], unit: Unit, sign: float) -> str | None:
    """Whether more data would change the verdict: each curve's gain per doubling of the rows,
    whether it still rises, and whether the top two cross (or where they would tie).

    Example:
        >>> from archselect.core.recommendation import CurvePoint
        >>> from archselect.core.verdict._units import unit_for
        >>> pts = lambda *m: tuple(CurvePoint(f, int(f * 400), v)
        ...                        for f, v in zip((0.25, 0.5, 1.0), m))
        >>> mlp = LearningCurve("mlp", pts(0.70, 0.74, 0.78), 0.04)
        >>> cnn = LearningCurve("cnn1d", pts(0.80, 0.81, 0.82), 0.01)
        >>> for part in curves_sentence([cnn, mlp], unit_for("accuracy"), 1.0).split("; "):
        ...     print(part)
        More rows: cnn1d gains 1.0 points per doubling (still rising)
        mlp gains 4.0 points per doubling (still rising)
        at about 2.5× the rows they would tie.
    """
    shown = [c for c in curves if c.points]
    if not shown:
        return None
    parts = [_slope_text(c, unit, sign) for c in shown]
    if len(shown) >= 2:
        a, b = sorted(shown[:2], key=lambda c: -sign * c.points[-1].metric)
        factor = tie_factor(a, b, sign)
        if _crossed(a, b):
            parts.append("the two curves cross within the measured rows")
        elif factor is not None and factor <= MAX_TIE_FACTOR:
            parts.append(f"at about {factor:.2g}× the rows they would tie")
        else:
            parts.append(f"they would not tie within {MAX_TIE_FACTOR:.0f}× the rows")
    return "More rows: " + "; ".join(parts) + "."
