"""What the report shows besides the trials, measured at fit time and kept in the run directory.

The report renders from the run directory alone, so anything it pictures must be stored
there: a small sample of the raw rows and the class/target distribution (``preview`` in
``profile.json``), and the exported model's test-split evaluation and the parameter
importances (``evaluation`` and ``importances`` in ``recommendation.json``). Everything here
is plain JSON and kept small (see the caps below), so a run directory stays light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from archselect._serde import JsonRecord
from archselect.core.data import Profile
from archselect.core.kinds import PreviewKind
from archselect.core.recommendation import Recommendation
from archselect.layouts import plugin_for
from archselect.load import Table

__all__ = [
    "DataPreview",
    "Evaluation",
    "Histogram",
    "RunProfile",
    "RunRecommendation",
    "SampleRow",
    "data_preview",
    "evaluate_outputs",
]

#: Sample rows kept per class (spatial and sequential data), and classes pictured at most.
SAMPLES_PER_CLASS = 4
MAX_PREVIEW_CLASSES = 12
#: Regression: rows kept, spread over the target's range.
REGRESSION_SAMPLES = 8
#: Raw values kept per sample row; wider rows (large images, long series) are strided down.
MAX_VALUES_PER_ROW = 4096
#: Raw values kept in the whole preview (rows per class shrink to stay under it).
MAX_PREVIEW_VALUES = 40_000
#: Example texts kept per class, and characters kept of each.
TEXT_SAMPLES_PER_CLASS = 2
MAX_TEXT_CHARS = 240
#: Bins of the target and token-length histograms.
HIST_BINS = 30
#: Class counts listed at most (the rest are summed into one entry).
MAX_COUNTED_CLASSES = 100
#: Regression evaluation: (actual, predicted) pairs kept at most.
MAX_EVAL_POINTS = 1000
#: Significant digits kept of stored raw values.
VALUE_DIGITS = 4


@dataclass(frozen=True)
class Histogram(JsonRecord):
    """Counts between consecutive ``edges`` (``len(edges) == len(counts) + 1``)."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class SampleRow(JsonRecord):
    """One raw data row: its label (or target value) and its feature values or text."""

    label: str
    values: tuple[float | None, ...] = ()
    text: str | None = None


@dataclass(frozen=True)
class DataPreview(JsonRecord):
    """A few raw rows and the target's distribution, for the report's data section.

    Attributes:
        kind: ``image`` (values are ``(H, W, C)`` row-major), ``series`` (``C`` channel
            groups of ``T`` steps, one after another), ``text`` or ``none``.
        shape: ``(H, W, C)`` for images, ``(C, T)`` for series, after striding.
        stride: Every ``stride``-th pixel / step was kept (1: all).
        class_counts: Rows per class (classification).
        target_hist: The target's histogram (regression).
        samples: The sample rows.
        text_lengths: Per class (or ``all``), the histogram of text lengths in ``text_unit``.
    """

    layout: str
    kind: str
    task: str
    shape: tuple[int, ...] = ()
    stride: int = 1
    class_counts: dict[str, int] = field(default_factory=dict)
    target_hist: Histogram | None = None
    samples: tuple[SampleRow, ...] = ()
    text_lengths: dict[str, Histogram] = field(default_factory=dict)
    text_unit: str = ""


@dataclass(frozen=True)
class Evaluation(JsonRecord):
    """The exported model on the held-out test split.

    Classification: ``confusion[i][j]`` counts rows of class ``labels[i]`` predicted as
    ``labels[j]``. Regression: ``actual`` and ``predicted`` in target units (a sample of at
    most :data:`MAX_EVAL_POINTS` rows).
    """

    task: str
    split: str = "test"
    n_rows: int = 0
    labels: tuple[str, ...] = ()
    confusion: tuple[tuple[int, ...], ...] = ()
    actual: tuple[float, ...] = ()
    predicted: tuple[float, ...] = ()


@dataclass(frozen=True)
class RunProfile(Profile):
    """The profile as stored in ``profile.json``: the stage's profile plus a data preview."""

    preview: DataPreview | None = None


@dataclass(frozen=True)
class RunRecommendation(Recommendation):
    """The recommendation as stored: plus parameter importances and the test evaluation."""

    importances: dict[str, dict[str, float]] = field(default_factory=dict)
    evaluation: Evaluation | None = None
    #: Where the time went: seconds per phase of ``fit`` (``trials: <family>`` sums each
    #: family's trials), and the command's budget (``--timeout``; None: none).
    phase_seconds: dict[str, float] = field(default_factory=dict)
    budget_s: float | None = None
    #: Seconds from the start of ``fit`` until each family's first measurement.
    first_result_s: dict[str, float] = field(default_factory=dict)
    #: How the exported model was trained (:class:`archselect._refit.FinalModel`).
    final_model: dict[str, Any] = field(default_factory=dict)


def _round(value: float) -> float | None:
    if not math.isfinite(value):
        return None
    return float(f"{value:.{VALUE_DIGITS}g}")


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _histogram(values: np.ndarray, bins: int = HIST_BINS) -> Histogram | None:
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    counts, edges = np.histogram(values, bins=min(bins, max(1, len(np.unique(values)))))
    return Histogram(tuple(_round(e) or 0.0 for e in edges), tuple(int(c) for c in counts))


def _pick_rows(labels: pd.Series, per_class: int, classes: list[str], seed: int) -> list[int]:
    """Up to ``per_class`` row positions of each class, drawn at random (seeded)."""
    rng = np.random.default_rng(seed)
    picked: list[int] = []
    for cls in classes:
        pos = np.flatnonzero(labels.to_numpy() == cls)
        if len(pos):
            picked.extend(int(p) for p in rng.choice(pos, min(per_class, len(pos)), False))
    return picked


def _preview(profile: Profile) -> PreviewKind:
    """The picture of the profile's layout: image or series samples, text lengths, none."""
    return plugin_for(profile.layout).traits.preview


def _stride(profile: Profile) -> tuple[int, int]:
    """(stride, values kept per row) so one image or series row fits MAX_VALUES_PER_ROW."""
    if _preview(profile) == PreviewKind.IMAGE:
        c, h, w = profile.input_shape
        stride = max(1, math.ceil(math.sqrt(h * w * c / MAX_VALUES_PER_ROW)))
        return stride, math.ceil(h / stride) * math.ceil(w / stride) * c
    t, c = profile.input_shape
    stride = max(1, math.ceil(t * c / MAX_VALUES_PER_ROW))
    return stride, math.ceil(t / stride) * c


def _wide_rows(
    profile: Profile, frame: pd.DataFrame, rows: list[int], labels: list[str]
) -> tuple[str, tuple[int, ...], int, tuple[SampleRow, ...]]:
    """Raw values of ``rows`` for an image or series layout, strided to fit the caps."""
    x = plugin_for(profile.layout).preview_values(frame.iloc[rows], profile)
    stride, _ = _stride(profile)
    kind = _preview(profile)
    if kind == PreviewKind.IMAGE:
        c, h, w = profile.input_shape
        cube = x.reshape(len(rows), h, w, c)[:, ::stride, ::stride, :]
        shape: tuple[int, ...] = (cube.shape[1], cube.shape[2], c)
        flat = cube.reshape(len(rows), -1)
    else:
        t, c = profile.input_shape
        cube = x.reshape(len(rows), c, t)[:, :, ::stride]
        shape = (c, cube.shape[2])
        flat = cube.reshape(len(rows), -1)
    samples = tuple(
        SampleRow(label=lab, values=tuple(_round(v) for v in row))
        for lab, row in zip(labels, flat, strict=True)
    )
    return kind, shape, stride, samples


def _text_column(profile: Profile, frame: pd.DataFrame) -> str | None:
    for col in profile.feature_columns:
        if col in frame.columns and not pd.api.types.is_numeric_dtype(frame[col]):
            return col
    return None


def _text_lengths(texts: pd.Series) -> tuple[np.ndarray, str]:
    """Lengths in whitespace tokens, or in characters for text written without spaces."""
    strings = texts.fillna("").astype(str)
    tokens = np.asarray([len(text.split()) for text in strings], dtype=np.float64)
    chars = strings.str.len().to_numpy(dtype=np.float64)
    if len(tokens) and np.median(tokens) <= 1 and np.median(chars) > 1:
        return chars, "characters"
    return tokens, "tokens"


def data_preview(table: Table, profile: Profile, *, seed: int = 0) -> DataPreview:
    """A few raw rows per class and the target's distribution, small enough for JSON.

    Args:
        table: The loaded data.
        profile: Its profile (decides how rows are pictured).
        seed: Seed of the row sample.

    Returns:
        The :class:`DataPreview` (``kind="none"`` for layouts without a picture).

    Example:
        >>> import numpy as np, pandas as pd
        >>> from archselect.load import load_table
        >>> from archselect.profile import profile_table
        >>> t = np.linspace(0, 6, 32)
        >>> frame = pd.DataFrame([np.sin(t * (1 + i % 2)) for i in range(40)])
        >>> frame.columns = [f"t{i}" for i in range(32)]
        >>> frame["label"] = ["a", "b"] * 20
        >>> table = load_table(frame)
        >>> data_preview(table, profile_table(table)).class_counts
        {'a': 20, 'b': 20}
    """
    frame = table.frame
    frame = frame[frame[profile.target].notna()].reset_index(drop=True)
    y = frame[profile.target]
    classification = profile.task == "classification"
    class_counts: dict[str, int] = {}
    target_hist = None
    if classification:
        labels = y.map(_label)
        counts = labels.value_counts()
        order = [c for c in profile.classes if c in counts.index] or list(counts.index)
        class_counts = {c: int(counts[c]) for c in order[:MAX_COUNTED_CLASSES]}
        if len(order) > MAX_COUNTED_CLASSES:
            rest = int(sum(counts[c] for c in order[MAX_COUNTED_CLASSES:]))
            class_counts[f"(other {len(order) - MAX_COUNTED_CLASSES} classes)"] = rest
        shown = sorted(order, key=lambda c: -int(counts[c]))[:MAX_PREVIEW_CLASSES]
        shown = [c for c in order if c in shown]
    else:
        values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=np.float64)
        target_hist = _histogram(values)
        labels = pd.Series([_label(_round(float(v))) for v in values])
        shown = []
    common: dict[str, Any] = {
        "layout": profile.layout,
        "task": profile.task,
        "class_counts": class_counts,
        "target_hist": target_hist,
    }
    if _preview(profile) in (PreviewKind.IMAGE, PreviewKind.SERIES):
        n_groups = max(1, len(shown)) if classification else REGRESSION_SAMPLES
        _, per_row = _stride(profile)
        per_class = max(1, min(SAMPLES_PER_CLASS, MAX_PREVIEW_VALUES // (n_groups * per_row)))
        if classification:
            rows = _pick_rows(labels, per_class, shown, seed)
        else:
            order_idx = np.argsort(values, kind="stable")
            order_idx = order_idx[np.isfinite(values[order_idx])]
            n = min(REGRESSION_SAMPLES, len(order_idx))
            rows = [int(order_idx[i]) for i in np.linspace(0, len(order_idx) - 1, n).astype(int)]
        kind, shape, stride, samples = _wide_rows(
            profile, frame, rows, [str(labels.iloc[r]) for r in rows]
        )
        return DataPreview(kind=kind, shape=shape, stride=stride, samples=samples, **common)
    text_col = _text_column(profile, frame)
    if _preview(profile) == PreviewKind.TEXT:
        if text_col is None:
            return DataPreview(kind=PreviewKind.NONE, **common)
        lengths, unit = _text_lengths(frame[text_col])
        edges = np.histogram_bin_edges(lengths[np.isfinite(lengths)], bins=HIST_BINS)
        groups = {c: (labels == c).to_numpy() for c in shown} if classification else {}
        groups = groups or {"all": np.ones(len(frame), dtype=bool)}
        text_lengths = {
            name: Histogram(
                tuple(_round(e) or 0.0 for e in edges),
                tuple(int(c) for c in np.histogram(lengths[mask], bins=edges)[0]),
            )
            for name, mask in groups.items()
        }
        if classification:
            rows = _pick_rows(labels, TEXT_SAMPLES_PER_CLASS, shown, seed)
        else:
            rows = list(range(min(len(frame), TEXT_SAMPLES_PER_CLASS * 2)))
        samples = tuple(
            SampleRow(
                label=str(labels.iloc[r]),
                text=str(frame[text_col].iloc[r])[:MAX_TEXT_CHARS],
            )
            for r in rows
        )
        return DataPreview(
            kind=PreviewKind.TEXT,
            samples=samples,
            text_lengths=text_lengths,
            text_unit=unit,
            **common,
        )
    return DataPreview(kind=PreviewKind.NONE, **common)


def evaluate_outputs(
    task: str,
    outputs: np.ndarray,
    y: np.ndarray,
    *,
    classes: tuple[str, ...] = (),
    target_mean: float = 0.0,
    target_std: float = 1.0,
    seed: int = 0,
) -> Evaluation:
    """Confusion matrix (classification) or actual/predicted pairs (regression).

    Args:
        task: ``classification`` or ``regression``.
        outputs: Raw network outputs for the rows (logits, or standardised values).
        y: Encoded targets (class indices, or standardised values).
        classes: Class labels in index order.
        target_mean: Mean used to standardise the target (regression).
        target_std: Its standard deviation.
        seed: Seed of the subsample of regression points.

    Returns:
        The :class:`Evaluation`.

    Example:
        >>> import numpy as np
        >>> out = np.array([[2.0, 0.1], [0.3, 1.0], [1.0, 0.0]])
        >>> ev = evaluate_outputs("classification", out, np.array([0, 1, 1]), classes=("a", "b"))
        >>> ev.confusion
        ((1, 0), (1, 1))
    """
    if task == "classification":
        k = len(classes)
        pred = outputs.argmax(axis=1)
        matrix = np.zeros((k, k), dtype=np.int64)
        np.add.at(matrix, (y.astype(np.int64), pred.astype(np.int64)), 1)
        return Evaluation(
            task=task,
            n_rows=len(y),
            labels=tuple(classes),
            confusion=tuple(tuple(int(v) for v in row) for row in matrix),
        )
    width = y.shape[1] if y.ndim > 1 else 1  # forecasting: one value per horizon step
    predicted = outputs.reshape(len(y), -1)[:, :width].ravel() * target_std + target_mean
    actual = y.astype(np.float64).ravel() * target_std + target_mean
    idx = np.arange(len(actual))
    if len(idx) > MAX_EVAL_POINTS:
        idx = np.sort(np.random.default_rng(seed).choice(idx, MAX_EVAL_POINTS, replace=False))
    return Evaluation(
        task=task,
        n_rows=len(y),
        actual=tuple(_round(float(v)) or 0.0 for v in actual[idx]),
        predicted=tuple(_round(float(v)) or 0.0 for v in predicted[idx]),
    )
