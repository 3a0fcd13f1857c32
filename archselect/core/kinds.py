"""The names the stages branch on: modalities, layouts and input forms.

Each is a :class:`~enum.StrEnum`, so a member equals its string (``LayoutName.IMAGE ==
"image"``), serialises as that string in every JSON file, and old run directories that
stored plain strings still compare equal. Code that branches on a name compares with a
member, never with a bare string literal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "LAYOUT_MODALITY",
    "LAYOUT_TRAITS",
    "Form",
    "LayoutName",
    "LayoutTraits",
    "Modality",
    "PreviewKind",
    "Task",
    "describe_data",
    "layout_traits",
]


class Modality(StrEnum):
    """What one sample is: an image, a sequence or a row of features."""

    SPATIAL = "spatial"
    SEQUENTIAL = "sequential"
    TABULAR = "tabular"


class LayoutName(StrEnum):
    """The tensor layout the models consume (``series_padded``: a variable-length series
    padded to T steps with a 0/1 mask as its last channel)."""

    IMAGE = "image"
    SERIES = "series"
    SERIES_PADDED = "series_padded"
    TEXT = "text"
    FORECAST = "forecast"
    TABLE = "table"


class Form(StrEnum):
    """How the data arrived in the table (several forms can make one layout)."""

    WIDE_PIXELS = "wide_pixels"
    IMAGE_PATHS = "image_paths"
    WIDE_SERIES = "wide_series"
    WIDE_GROUPS = "wide_groups"
    LONG = "long"
    TEXT = "text"
    DATED_SERIES = "dated_series"
    DATED_LONG = "dated_long"
    TABLE = "table"


class Task(StrEnum):
    """What the target asks for."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


#: The modality of each layout.
LAYOUT_MODALITY: dict[LayoutName, Modality] = {
    LayoutName.IMAGE: Modality.SPATIAL,
    LayoutName.SERIES: Modality.SEQUENTIAL,
    LayoutName.SERIES_PADDED: Modality.SEQUENTIAL,
    LayoutName.TEXT: Modality.SEQUENTIAL,
    LayoutName.FORECAST: Modality.SEQUENTIAL,
    LayoutName.TABLE: Modality.TABULAR,
}


class PreviewKind(StrEnum):
    """The picture the report draws of a layout's rows (``DataPreview.kind``)."""

    IMAGE = "image"
    SERIES = "series"
    TEXT = "text"
    NONE = "none"


@dataclass(frozen=True)
class LayoutTraits:
    """What the readers below :mod:`archselect.layouts` know of a layout: the core and the
    report read a run without pandas, so they ask this table instead of the layout module.
    Each ``LayoutPlugin`` carries its traits; ``register_layout`` adds a new layout's here.

    Attributes:
        phrase: The data in words (the report's verdict), ``str.format``-ed with ``layout``,
            ``steps`` (the first input dimension: time steps come first), ``features`` (the
            last), ``height`` and ``width`` (the last two) and ``article`` (of the height).
        forecast: Its models forecast ``horizon`` future steps of dated series: regression,
            naive references that stay references, no exported ensemble.
        preview: The picture the report draws of its rows.
        positions: What one position of its input is called (what the order control
            shuffles): steps, pixels, columns.
        ordered: Its positions have an order a model could use (a table's columns do not).
    """

    phrase: str = "{layout} data"
    forecast: bool = False
    preview: PreviewKind = PreviewKind.NONE
    positions: str = "steps"
    ordered: bool = True


#: The traits of each layout (a layout missing here has the defaults).
LAYOUT_TRAITS: dict[str, LayoutTraits] = {
    LayoutName.IMAGE: LayoutTraits(
        "{article} {height}×{width} image", False, PreviewKind.IMAGE, positions="pixels"
    ),
    LayoutName.SERIES: LayoutTraits("a sequence of {steps} steps", False, PreviewKind.SERIES),
    LayoutName.SERIES_PADDED: LayoutTraits("a sequence of {steps} steps"),
    LayoutName.TEXT: LayoutTraits("free text", False, PreviewKind.TEXT, positions="tokens"),
    LayoutName.FORECAST: LayoutTraits("a time series to forecast", forecast=True),
    LayoutName.TABLE: LayoutTraits(
        "a table of {features} features", positions="columns", ordered=False
    ),
}


def layout_traits(layout: str) -> LayoutTraits:
    """The traits of ``layout`` (the defaults for a layout this table does not know)."""
    return LAYOUT_TRAITS.get(layout, LayoutTraits())


def describe_data(layout: str, shape: tuple[int, ...]) -> str:
    """One sample of ``layout`` with input ``shape``, in words.

    Example:
        >>> describe_data("image", (1, 8, 8)), describe_data("series", (30, 2))
        ('an 8×8 image', 'a sequence of 30 steps')
    """
    dims = [int(s) for s in shape]
    fields: dict[str, object] = {"layout": layout}
    if dims:
        fields["steps"], fields["features"] = dims[0], dims[-1]
        fields["width"] = dims[-1]
    if len(dims) >= 2:
        height = dims[-2]
        fields["height"] = height
        # "an" before the numbers read with a vowel first: eight, eleven, eighteen, 80...
        fields["article"] = "an" if str(height).startswith("8") or height in (11, 18) else "a"
    try:
        return layout_traits(layout).phrase.format(**fields)
    except KeyError:  # the shape lacks a dimension the phrase names
        return f"{layout} data"
