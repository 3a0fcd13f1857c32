"""The profile's typed, per-layout spec: what the layout's detector decided, for the stages
that follow (a discriminated union on ``kind``, the layout's name, that round-trips through
JSON). The profile's ``evidence`` is what the report shows; nothing reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from archselect._common.serde import JsonRecord
from archselect.core.kinds import LayoutName

__all__ = [
    "SPEC_KINDS",
    "ForecastSpec",
    "ImageSpec",
    "LayoutSpec",
    "LongSpec",
    "SeriesSpec",
    "TableSpec",
    "TextSpec",
]


@dataclass(frozen=True)
class TableSpec(JsonRecord):
    """A row of features; ``categorical_columns`` are one-hot encoded."""

    kind: Literal["table"] = "table"
    categorical_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImageSpec(JsonRecord):
    """An image of ``channels`` x ``height`` x ``width``, from pixel columns or from the files
    named in ``path_column``."""

    kind: Literal["image"] = "image"
    channels: int = 1
    height: int = 0
    width: int = 0
    path_column: str | None = None


@dataclass(frozen=True)
class SeriesSpec(JsonRecord):
    """A wide series of ``steps`` time steps and ``channels`` channels."""

    kind: Literal["series"] = "series"
    steps: int = 0
    channels: int = 1


@dataclass(frozen=True)
class LongSpec(JsonRecord):
    """Long format: one sequence per id, padded to ``max_steps`` with a 0/1 mask channel."""

    kind: Literal["series_padded"] = "series_padded"
    id_column: str = ""
    time_column: str | None = None
    max_steps: int = 0
    value_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextSpec(JsonRecord):
    """One free-text column, its tokenizer and the sequence length in tokens."""

    kind: Literal["text"] = "text"
    column: str = ""
    tokenizer: str = "word"
    max_length: int = 0


@dataclass(frozen=True)
class ForecastSpec(JsonRecord):
    """Dated series: the time column (and the series id column of several series), the
    regular frequency, and the window, horizon and season in steps.

    ``time_kind`` says what the time column holds (``datetime``, ``year``, ``integer``, or
    ``row``: no column, file order) and ``time_format`` how its text was written, so that
    forecast times are written back the same way. ``period`` is the calendar's season length
    (4 for quarters, 12 for months …; 1 without a calendar): the statistical references'
    season and the MASE lag, whether or not ``season`` (what the window must span) was found
    in the data; 0 in a profile written before it existed (``season`` then serves).
    """

    kind: Literal["forecast"] = "forecast"
    time_column: str = ""
    frequency: str = ""
    window: int = 0
    horizon: int = 1
    season: int = 1
    id_column: str | None = None
    covariates: tuple[str, ...] = ()
    time_kind: str = "datetime"
    time_format: str | None = None
    period: int = 0


#: One layout's spec; ``kind`` names the layout and picks the class when read from JSON.
LayoutSpec = TableSpec | ImageSpec | SeriesSpec | LongSpec | TextSpec | ForecastSpec
#: The spec class of each ``kind``.
SPEC_KINDS: dict[str, type[JsonRecord]] = {
    LayoutName.TABLE: TableSpec,
    LayoutName.IMAGE: ImageSpec,
    LayoutName.SERIES: SeriesSpec,
    LayoutName.SERIES_PADDED: LongSpec,
    LayoutName.TEXT: TextSpec,
    LayoutName.FORECAST: ForecastSpec,
}
