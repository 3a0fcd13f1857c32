"""The layouts: one module per layout, each a :class:`LayoutPlugin` with its detectors.

Every layout module (``table``, ``image``, ``series``, ``long``, ``text``, ``forecast``)
defines ``LAYOUT``: its name, modality, input forms, typed spec
(:mod:`archselect.core.specs`) and detectors. The profiler runs the detectors in ONE
declared order, :data:`DETECTION_ORDER` (data, not code order); the first that decides
wins. Each step runs only where the user's ``--layout``/``--modality`` allows it:

1. ``forecast.panel`` — several dated series in long format (an id column, repeated dates);
2. ``long`` — long format, one sequence and one label per id;
3. ``text`` — a free-text column (identifier columns are dropped before this step);
4. ``forecast.dated`` — one column of distinct dates and a numeric target;
5. ``image.paths`` — a column of image file paths;
6. ``image.given`` / 7. ``series.given`` — the user's ``--layout image``/``series``;
8. ``wide`` — many numeric columns read as an image or a series from their structure;
9. ``series.sequential`` — ``--modality sequential`` and nothing sequential found;
10. ``table`` — none of the above (always decides).

Adding a layout is one file: a module that defines a ``LayoutPlugin`` and calls
:func:`register_layout` with the step its detectors go before. The stages after the profile
ask the plugin (:func:`plugin_for`) for what differs between layouts — its references,
how its columns become a tensor, its ONNX input, its preparation (``fit_preprocessing``
builds the :class:`Preprocessing` that :func:`transform` replays) — instead of comparing
layout names. The registry itself is the leaf module ``_registry``.

Example:
    >>> DETECTION_ORDER[0], DETECTION_ORDER[-1]
    ('forecast.panel', 'table')
    >>> str(layout_of("wide").name), str(layout_of("long").modality)
    ('series', 'sequential')
"""

from __future__ import annotations

from archselect.core.kinds import LAYOUT_TRAITS
from archselect.errors import DataError
from archselect.layouts import forecast, image, long, series, table, text
from archselect.layouts._base import (
    ColumnOrder,
    Decision,
    DetectContext,
    Detector,
    LayoutPlugin,
    OnnxInput,
    SequenceOptions,
    is_integer_valued,
)
from archselect.layouts._forecast_prep import ForecastOrigins, SeriesSplit, WindowFit, fit_windows
from archselect.layouts._preprocessing import Preprocessing, label_str
from archselect.layouts._registry import LAYOUTS as _LAYOUTS
from archselect.layouts._registry import (
    aggregate,
    plugin_for,
    resampled,
    reshape,
    samples,
    transform,
)
from archselect.layouts._structure import name_evidence, structure_evidence

__all__ = [
    "DETECTION_ORDER",
    "ColumnOrder",
    "Decision",
    "DetectContext",
    "Detector",
    "ForecastOrigins",
    "LayoutPlugin",
    "OnnxInput",
    "Preprocessing",
    "SequenceOptions",
    "SeriesSplit",
    "WindowFit",
    "aggregate",
    "detect",
    "fit_windows",
    "is_integer_valued",
    "label_str",
    "layout_of",
    "name_evidence",
    "onnx_input",
    "plugin_for",
    "register_layout",
    "registered_layouts",
    "resampled",
    "reshape",
    "samples",
    "structure_evidence",
    "transform",
    "unregister_layout",
]

# the built-in layouts, in the registry
_LAYOUTS.update({m.LAYOUT.name: m.LAYOUT for m in (table, image, series, long, text, forecast)})
#: The detection order: detector names, tried first to last (see the module docstring).
#: :func:`register_layout` rebinds it, so read it as ``layouts.DETECTION_ORDER``.
DETECTION_ORDER: tuple[str, ...] = (
    "forecast.panel",
    "long",
    "text",
    "forecast.dated",
    "image.paths",
    "image.given",
    "series.given",
    "wide",
    "series.sequential",
    "table",
)


def _detectors() -> dict[str, tuple[LayoutPlugin, Detector]]:
    return {d.name: (lay, d) for lay in _LAYOUTS.values() for d in lay.detectors}


def layout_of(detector: str) -> LayoutPlugin:
    """The layout a detector step belongs to."""
    return _detectors()[detector][0]


def onnx_input(layout: str, form: str) -> OnnxInput | None:
    """What an ONNX graph of ``layout`` data in input ``form`` takes (None: no graph)."""
    return plugin_for(layout).onnx_inputs.get(form)


def registered_layouts() -> dict[str, LayoutPlugin]:
    """Every registered layout by name (the built-in ones first)."""
    return dict(_LAYOUTS)


def register_layout(layout: LayoutPlugin, *, before: str = "table") -> None:
    """Add a layout and put its detectors, in their order, just before step ``before``.

    Raises:
        ValueError: When the name or a detector name is taken, or ``before`` is no step.
    """
    global DETECTION_ORDER
    names = [d.name for d in layout.detectors]
    if layout.name in _LAYOUTS or set(names) & set(DETECTION_ORDER):
        raise ValueError(f"Layout {layout.name!r} or one of its detectors is registered already.")
    if before not in DETECTION_ORDER:
        raise ValueError(f"No detection step {before!r}; choose one of {DETECTION_ORDER}.")
    at = DETECTION_ORDER.index(before)
    _LAYOUTS[layout.name] = layout
    LAYOUT_TRAITS[layout.name] = layout.traits
    DETECTION_ORDER = (*DETECTION_ORDER[:at], *names, *DETECTION_ORDER[at:])


def unregister_layout(name: str) -> None:
    """Remove a layout added with :func:`register_layout` (and its detection steps)."""
    global DETECTION_ORDER
    layout = _LAYOUTS.pop(name)
    LAYOUT_TRAITS.pop(name, None)
    names = {d.name for d in layout.detectors}
    DETECTION_ORDER = tuple(n for n in DETECTION_ORDER if n not in names)


def _drop_identifiers(ctx: DetectContext) -> None:
    """Identifiers (unique increasing integers, unique short codes) never feed a model."""
    ctx.ids_dropped = True
    paths = image._image_path_columns(ctx.features, ctx.other)
    for col in list(ctx.features.columns):
        if col not in paths and table._id_like(ctx.features, col):
            ctx.dropped_ids.append(col)
            ctx.notes.append(f"column {col!r} dropped: a row identifier (unique values)")
    ctx.numeric = [c for c in ctx.numeric if c not in ctx.dropped_ids]
    ctx.other = [c for c in ctx.other if c not in ctx.dropped_ids]
    # a lone time column (dates, years, periods), a --horizon or the target alone: a forecast
    if not ctx.numeric and not ctx.other and not forecast.reads_as_forecast(ctx):
        raise DataError(
            "Every feature column is a row identifier; add informative feature columns."
        )


def detect(ctx: DetectContext) -> Decision:
    """Run the detectors in :data:`DETECTION_ORDER`; the first decision wins.

    Row identifiers are dropped from ``ctx`` before the first detector that reads features.
    The decision carries its layout's typed spec.
    """
    steps = _detectors()
    for name in DETECTION_ORDER:
        layout, detector = steps[name]
        if detector.reads == "features" and not ctx.ids_dropped:
            _drop_identifiers(ctx)
        decision = detector.detect(ctx)
        if decision is None:
            continue
        if decision.spec is None:
            owner = _LAYOUTS.get(decision.layout, layout)
            if owner.spec_from is not None:
                decision.spec = owner.spec_from(decision)
        return decision
    raise RuntimeError("No layout decided: the table step must come last in DETECTION_ORDER.")
