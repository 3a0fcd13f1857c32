"""The small base every layout module builds on: the decision a detector returns, what a
detector is given, and the layout record (name, modality, forms, spec type, detectors)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from archselect.core.specs import LayoutSpec

__all__ = ["Decision", "DetectContext", "Detector", "LayoutPlugin", "SequenceOptions"]


@dataclass
class Decision:
    """A layout decision in the making (internal; becomes part of the Profile).

    ``spec`` is the layout's typed spec (:mod:`archselect.core.specs`); the profile keeps it
    for the stages that follow, while ``evidence`` only feeds the report.
    """

    modality: str
    layout: str
    form: str
    input_shape: tuple[int, ...]
    confidence: float
    decision: str
    feature_columns: list[str]
    categorical: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    id_column: str | None = None
    time_column: str | None = None
    spec: LayoutSpec | None = None


@dataclass(frozen=True)
class SequenceOptions:
    """What the text and forecast decisions need besides the frame."""

    target: str
    task: str | None
    want: str | None
    numeric: tuple[str, ...]
    tokenizer: str | None = None
    horizon: int | None = None
    window: int | None = None


@dataclass
class DetectContext:
    """What every detector is given: the table, the user's choices and the evidence so far.

    ``features`` are the rows with a target, without the target column; ``numeric`` and
    ``other`` split their columns by dtype. Before the first detector that reads features
    (``Detector.reads == "features"``) the registry drops row identifiers from them
    (``dropped_ids``, with a note each). ``want`` is the layout the user asked for (from
    ``--layout``, ``--shape`` or ``--modality``), None when it is to be detected. A detector
    may leave a non-final tabular reading in ``table_hint`` for the table detector.
    """

    frame: pd.DataFrame
    features: pd.DataFrame
    numeric: list[str]
    other: list[str]
    target: str
    evidence: dict[str, Any]
    notes: list[str]
    task: str | None = None
    want: str | None = None
    modality: str | None = None
    shape: str | tuple[int, ...] | None = None
    id_col: str | None = None
    time_col: str | None = None
    seed: int = 0
    tokenizer: str | None = None
    horizon: int | None = None
    window: int | None = None
    dropped_ids: list[str] = field(default_factory=list)
    ids_dropped: bool = False
    table_hint: Decision | None = None

    def sequence_options(self) -> SequenceOptions:
        """The options of the text and forecast decisions, with the numeric columns now."""
        return SequenceOptions(
            self.target, self.task, self.want, tuple(map(str, self.numeric)),
            self.tokenizer, self.horizon, self.window,
        )  # fmt: skip


@dataclass(frozen=True)
class Detector:
    """One step of the declared detection order.

    Attributes:
        name: The step's name in :data:`archselect.layouts.DETECTION_ORDER`.
        detect: ``detect(context) -> Decision | None``; None passes to the next step.
        reads: ``frame`` (the whole table, identifiers included) or ``features``.
    """

    name: str
    detect: Callable[[DetectContext], Decision | None]
    reads: Literal["frame", "features"] = "features"


@dataclass(frozen=True)
class LayoutPlugin:
    """One layout: its name, modality, the input forms it reads, its spec type and its
    detectors (each placed by name in the declared detection order).

    ``spec_from`` builds the typed spec from a decision whose detector left ``spec`` empty
    (layouts whose spec is the decision's shape and columns).
    """

    name: str
    modality: str
    forms: tuple[str, ...]
    spec_type: type
    detectors: tuple[Detector, ...]
    spec_from: Callable[[Decision], LayoutSpec] | None = None


def is_integer_valued(values: pd.Series) -> bool:
    """Whether a numeric (not boolean) column holds finite whole numbers only."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    return bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))
