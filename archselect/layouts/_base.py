"""The small base every layout module builds on: the decision a detector returns, what a
detector is given, and the layout record (name, modality, forms, spec type, detectors and the
capabilities the stages ask instead of comparing layout names)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from archselect.core.data import Profile
from archselect.core.kinds import LayoutTraits, Task
from archselect.core.specs import LayoutSpec
from archselect.layouts._prepare_rows import (
    check_numeric_features,
    feature_transform,
    feature_values,
    fit_feature_preprocessing,
    no_split_notes,
)
from archselect.layouts._preprocessing import Preprocessing

__all__ = [
    "FEATURE_BASELINES",
    "SERIES_BASELINES",
    "SERIES_ORDER",
    "TASK_BASELINES",
    "ColumnOrder",
    "Decision",
    "DetectContext",
    "Detector",
    "LayoutPlugin",
    "OnnxInput",
    "SequenceOptions",
    "feature_baselines",
    "series_baselines",
    "task_baselines",
]

#: The references every layout read from features fits, by task.
TASK_BASELINES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        Task.CLASSIFICATION: ("logistic_regression", "hist_gradient_boosting"),
        Task.REGRESSION: ("ridge", "hist_gradient_boosting"),
    }
)
#: Tables and images add k-nearest neighbours and an RBF SVM (standardised features).
FEATURE_BASELINES = ("k_nearest_neighbours", "svm_rbf")


def task_baselines(task: str) -> tuple[str, ...]:
    """The task's references (a layout's default ``baselines``)."""
    return TASK_BASELINES[task]


def feature_baselines(task: str) -> tuple[str, ...]:
    """The task's references and those of standardised feature vectors."""
    return TASK_BASELINES[task] + FEATURE_BASELINES


#: Series (wide or long format) add 1-nearest neighbour and MiniRocket to the task's
#: references.
SERIES_BASELINES = ("knn_euclidean", "minirocket")
#: Under a ``--timeout`` the references run in this order until their share of the budget is
#: spent, so the cheap and, on series, strongest ones come first (gradient boosting on
#: hundreds of time steps is the slowest and, there, the weakest).
SERIES_ORDER = ("logistic_regression", "ridge", "knn_euclidean", "minirocket")


def series_baselines(task: str) -> tuple[str, ...]:
    """The task's references and the series ones, the cheap and strong first.

    Example:
        >>> series_baselines("classification")
        ('logistic_regression', 'knn_euclidean', 'minirocket', 'hist_gradient_boosting')
    """
    names = TASK_BASELINES[task] + SERIES_BASELINES
    first = [n for n in SERIES_ORDER if n in names]
    return (*first, *(n for n in names if n not in first))


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
    #: When the profile is unsure: the reading it prefers, then the other one (layout
    #: names); ``layout`` is the one under which both are searched.
    readings: tuple[str, ...] = ()


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


class OnnxInput(StrEnum):
    """What an exported ONNX graph of one input form takes as ``x``."""

    #: One float column per model input (numbers, then one-hots); the graph standardises
    #: and reorders them (:class:`ColumnOrder`).
    COLUMNS = "columns"
    #: Value columns per step ``(N, T, C)`` and ``lengths``; the graph adds the mask channel.
    PADDED = "padded"
    #: Decoded images ``(N, C, H, W)``; the graph standardises each channel.
    IMAGES = "images"


@dataclass(frozen=True)
class ColumnOrder:
    """How one row of raw columns (in file order) becomes one sample's tensor.

    Attributes:
        arrival: ``arrival(input_shape)``: the shape the columns fill in file order.
        axes: The permutation of the arrival axes that gives ``input_shape``.
        channel: The arrival axis of the channels (scaled one channel at a time).
    """

    arrival: Callable[[tuple[int, ...]], tuple[int, ...]]
    axes: tuple[int, ...]
    channel: int

    def to_tensor(self, x: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
        """Flat ``(N, F)`` rows → ``(N, *input_shape)``."""
        cube = x.reshape(x.shape[0], *self.arrival(input_shape))
        return np.ascontiguousarray(cube.transpose(0, *(a + 1 for a in self.axes)))

    def positions(self, input_shape: tuple[int, ...]) -> np.ndarray:
        """The raw column feeding each flattened model input."""
        width = int(np.prod(input_shape))
        return self.to_tensor(np.arange(width)[None, :], input_shape).reshape(-1)

    def channels(self, input_shape: tuple[int, ...]) -> np.ndarray:
        """The channel of each raw column."""
        return np.indices(self.arrival(input_shape))[self.channel].reshape(-1)


@dataclass(frozen=True)
class LayoutPlugin:
    """One layout: its name, modality, the input forms it reads, its spec type and its
    detectors (each placed by name in the declared detection order), and what the stages
    after the profile ask of it instead of comparing layout names.

    Attributes:
        spec_from: Builds the typed spec from a decision whose detector left ``spec`` empty
            (layouts whose spec is the decision's shape and columns).
        traits: What the core and the report know of it (:class:`LayoutTraits`: its phrase,
            whether it forecasts, its preview); ``forecast`` reads it.
        baselines: ``baselines(task)``: the reference models the plan fits, in order.
        options: The command-line options that describe this layout (``--shape``,
            ``--id-col``, ``--time-col``); the profiler refuses them for other layouts.
        columns: How raw columns become the tensor (None: the columns are the tensor).
        onnx_inputs: What the ONNX graph takes, by input form (a form missing: no graph).
        masked: Its tensor ends in a 0/1 mask channel (padded sequences).
        longer_inputs: Its networks run on longer inputs of the same columns, so the search
            times them at 2 and 4 times the length.
        fit_preprocessing: ``fit_preprocessing(train, profile) -> (preprocessing, notes)``:
            the :class:`Preprocessing` fitted on the training rows (forecasts: on the
            training steps of the whole history), and notes for the report.
        transform: ``transform(preprocessing, frame) -> array``: raw rows → model input
            ``(N, *input_shape)``; training, ``predict`` and the export all call it through
            :meth:`Preprocessing.transform`.
        check_rows: ``check_rows(frame, profile)``: refuses bad cells of the rows with a
            target before the split (default: the first non-numeric numeric feature cell).
        split_notes: ``split_notes(preprocessing, x_train, x_val)``: notes on the prepared
            split (text: the vocabulary and the unknown validation tokens).
        grouped: One sample is the rows that share ``id_column`` (long format), so the split
            and the target read one row per id.
        preview_values: ``preview_values(frame, profile) -> (N, F)``: the raw values of rows
            laid out like wide columns, for the report's preview of images and series
            (image files: their decoded pixels, ``(H, W, C)`` per row).
    """

    name: str
    modality: str
    forms: tuple[str, ...]
    spec_type: type
    detectors: tuple[Detector, ...]
    spec_from: Callable[[Decision], LayoutSpec] | None = None
    traits: LayoutTraits = field(default_factory=LayoutTraits)
    baselines: Callable[[str], tuple[str, ...]] = task_baselines
    options: tuple[str, ...] = ()
    columns: ColumnOrder | None = None
    onnx_inputs: Mapping[str, OnnxInput] = field(default_factory=dict)
    masked: bool = False
    longer_inputs: bool = False
    fit_preprocessing: Callable[[pd.DataFrame, Profile], tuple[Preprocessing, list[str]]] = (
        fit_feature_preprocessing
    )
    transform: Callable[[Preprocessing, pd.DataFrame], np.ndarray] = feature_transform
    check_rows: Callable[[pd.DataFrame, Profile], None] = check_numeric_features
    split_notes: Callable[[Preprocessing, np.ndarray, np.ndarray], tuple[str, ...]] = (
        no_split_notes
    )
    grouped: bool = False
    preview_values: Callable[[pd.DataFrame, Profile], np.ndarray] = feature_values

    @property
    def forecast(self) -> bool:
        """Whether its models forecast future steps (:attr:`LayoutTraits.forecast`)."""
        return self.traits.forecast

    def to_tensor(self, x: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
        """Flat ``(N, F)`` rows → ``(N, *input_shape)``."""
        if self.columns is None:
            return x.reshape(x.shape[0], *input_shape)
        return self.columns.to_tensor(x, input_shape)

    def column_positions(self, input_shape: tuple[int, ...], width: int) -> np.ndarray:
        """The raw column feeding each of the ``width`` flattened model inputs."""
        if self.columns is None:
            return np.arange(width)
        return self.columns.positions(input_shape)

    def column_channels(self, input_shape: tuple[int, ...], width: int) -> np.ndarray:
        """The channel of each of ``width`` raw columns (scaled together; in a table each
        column is its own)."""
        if self.columns is None:
            return np.arange(width)
        return self.columns.channels(input_shape)


def is_integer_valued(values: pd.Series) -> bool:
    """Whether a numeric (not boolean) column holds finite whole numbers only."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    return bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))
