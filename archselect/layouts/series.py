"""The wide-series layout: time-step columns in a row (``wide_series``) or prefix groups,
one channel each (``wide_groups``). Its ``wide`` detector reads the correlation structure
of wide numeric tables and may find an image instead (:mod:`._wide`)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from archselect.core.kinds import LAYOUT_TRAITS, Form, LayoutName, Modality
from archselect.core.specs import SeriesSpec
from archselect.errors import DataError
from archselect.layouts._base import (
    SERIES_BASELINES,
    SERIES_ORDER,
    ColumnOrder,
    Decision,
    DetectContext,
    Detector,
    LayoutPlugin,
    OnnxInput,
    series_baselines,
)
from archselect.layouts._structure import _prefix_groups
from archselect.layouts._wide import _decide_wide
from archselect.layouts.constants import MIN_NAMED_SERIES_COLUMNS, MIN_WIDE_COLUMNS

__all__ = ["LAYOUT", "SERIES_BASELINES", "SERIES_ORDER"]


def _forced_series(
    frame: pd.DataFrame, numeric: list[str], other: list[str], seed: int,
    evidence: dict[str, Any],
) -> Decision:  # fmt: skip
    if other:
        raise DataError(
            f"A wide sequence needs numeric columns, but {other[0]!r} is not; "
            "remove it or fix its values."
        )
    groups = _prefix_groups(numeric)
    if groups is not None:
        t, c = len(groups[0][1]), len(groups)
        return Decision(
            Modality.SEQUENTIAL, LayoutName.SERIES, Form.WIDE_GROUPS, (t, c), 1.0,
            f"sequential layout given by the user: {c} series of {t} steps",
            [col for _, g in groups for col in g],
        )  # fmt: skip
    return Decision(
        Modality.SEQUENTIAL, LayoutName.SERIES, Form.WIDE_SERIES, (len(numeric), 1), 1.0,
        "sequential layout given by the user", list(numeric),
    )  # fmt: skip


def _given(ctx: DetectContext) -> Decision:
    return _forced_series(ctx.features, ctx.numeric, ctx.other, ctx.seed, ctx.evidence)


def _detect_given(ctx: DetectContext) -> Decision | None:
    """``series.given``: the user names the columns a series (``--layout series``)."""
    return _given(ctx) if ctx.want == LayoutName.SERIES else None


def _detect_wide(ctx: DetectContext) -> Decision | None:
    """``wide``: many numeric columns read as an image or a series from their correlation
    structure; a tabular reading is left to the table detector (``table_hint``)."""
    if ctx.want == LayoutName.TABLE or ctx.other:
        return None
    names = ctx.evidence["names"]
    named = names.get("ordered", False) and (names.get("numbered") or names.get("dated"))
    if len(ctx.numeric) < (MIN_NAMED_SERIES_COLUMNS if named else MIN_WIDE_COLUMNS):
        return None
    result = _decide_wide(ctx.features, ctx.numeric, ctx.seed, ctx.evidence)
    if ctx.modality == Modality.SEQUENTIAL and result.modality != Modality.SEQUENTIAL:
        return _given(ctx)
    if result.modality == Modality.TABULAR:
        ctx.table_hint = result
        return None
    return result


def _detect_sequential(ctx: DetectContext) -> Decision | None:
    """``series.sequential``: ``--modality sequential`` and no other sequential layout."""
    return _given(ctx) if ctx.modality == Modality.SEQUENTIAL else None


def _spec(decision: Decision) -> SeriesSpec:
    steps, channels = decision.input_shape
    return SeriesSpec(steps=steps, channels=channels)


def _group_order(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Channel groups arrive one after another: ``(C, T)`` per row."""
    t, c = input_shape
    return (c, t)


#: The wide-series layout; its ``wide`` detector also finds wide-pixel images.
LAYOUT = LayoutPlugin(
    name=LayoutName.SERIES,
    modality=Modality.SEQUENTIAL,
    forms=(Form.WIDE_SERIES, Form.WIDE_GROUPS),
    spec_type=SeriesSpec,
    detectors=(
        Detector("series.given", _detect_given),
        Detector("wide", _detect_wide),
        Detector("series.sequential", _detect_sequential),
    ),
    spec_from=_spec,
    traits=LAYOUT_TRAITS[LayoutName.SERIES],
    baselines=series_baselines,
    columns=ColumnOrder(_group_order, axes=(1, 0), channel=0),  # fed as (T, C)
    onnx_inputs={Form.WIDE_SERIES: OnnxInput.COLUMNS, Form.WIDE_GROUPS: OnnxInput.COLUMNS},
    longer_inputs=True,
)
