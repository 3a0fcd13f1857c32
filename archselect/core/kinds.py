"""The names the stages branch on: modalities, layouts and input forms.

Each is a :class:`~enum.StrEnum`, so a member equals its string (``LayoutName.IMAGE ==
"image"``), serialises as that string in every JSON file, and old run directories that
stored plain strings still compare equal. Code that branches on a name compares with a
member, never with a bare string literal.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["LAYOUT_MODALITY", "Form", "LayoutName", "Modality", "Task"]


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
