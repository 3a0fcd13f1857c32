"""The report's data sample, measured at profile time and stored in ``profile.json``.

The report renders from the run directory alone, so anything it pictures must be stored
there: a small sample of the raw rows and the class/target distribution
(:class:`archselect.core.stored.DataPreview`), kept small (see the caps below).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from archselect.core.data import Profile
from archselect.core.kinds import PreviewKind
from archselect.core.stored import DataPreview, Histogram, SampleRow, round_value
from archselect.layouts import plugin_for
from archselect.load import Table

__all__ = ["data_preview"]

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


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _histogram(values: np.ndarray, bins: int = HIST_BINS) -> Histogram | None:
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    counts, edges = np.histogram(values, bins=min(bins, max(1, len(np.unique(values)))))
    return Histogram(tuple(round_value(e) or 0.0 for e in edges), tuple(int(c) for c in counts))


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
        SampleRow(label=lab, values=tuple(round_value(v) for v in row))
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


def _target_summary(
    profile: Profile, y: pd.Series
) -> tuple[pd.Series, list[str], dict[str, Any], np.ndarray | None]:
    """Each row's label (class, or rounded target value), the classes pictured, the
    preview's common fields (class counts or the target's histogram) and, for regression,
    the target's values."""
    common: dict[str, Any] = {"layout": profile.layout, "task": profile.task}
    if profile.task != "classification":
        values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=np.float64)
        labels = pd.Series([_label(round_value(float(v))) for v in values])
        return (
            labels,
            [],
            {**common, "class_counts": {}, "target_hist": _histogram(values)},
            values,
        )
    labels = y.map(_label)
    counts = labels.value_counts()
    order = [c for c in profile.classes if c in counts.index] or list(counts.index)
    class_counts = {c: int(counts[c]) for c in order[:MAX_COUNTED_CLASSES]}
    if len(order) > MAX_COUNTED_CLASSES:
        rest = int(sum(counts[c] for c in order[MAX_COUNTED_CLASSES:]))
        class_counts[f"(other {len(order) - MAX_COUNTED_CLASSES} classes)"] = rest
    shown = sorted(order, key=lambda c: -int(counts[c]))[:MAX_PREVIEW_CLASSES]
    shown = [c for c in order if c in shown]
    return labels, shown, {**common, "class_counts": class_counts, "target_hist": None}, None


def _wide_preview(
    profile: Profile, frame: pd.DataFrame, labels: pd.Series, shown: list[str],
    values: np.ndarray | None, common: dict[str, Any], seed: int,
) -> DataPreview:  # fmt: skip
    """Image or series samples: a few rows per class, or spread over the target's range."""
    n_groups = max(1, len(shown)) if values is None else REGRESSION_SAMPLES
    _, per_row = _stride(profile)
    per_class = max(1, min(SAMPLES_PER_CLASS, MAX_PREVIEW_VALUES // (n_groups * per_row)))
    if values is None:
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


def _text_preview(
    profile: Profile, frame: pd.DataFrame, labels: pd.Series, shown: list[str],
    common: dict[str, Any], seed: int,
) -> DataPreview:  # fmt: skip
    """Text lengths per class (or overall) and a few example texts."""
    text_col = _text_column(profile, frame)
    if text_col is None:
        return DataPreview(kind=PreviewKind.NONE, **common)
    classification = profile.task == "classification"
    lengths, unit = _text_lengths(frame[text_col])
    edges = np.histogram_bin_edges(lengths[np.isfinite(lengths)], bins=HIST_BINS)
    groups = {c: (labels == c).to_numpy() for c in shown} if classification else {}
    groups = groups or {"all": np.ones(len(frame), dtype=bool)}
    text_lengths = {
        name: Histogram(
            tuple(round_value(e) or 0.0 for e in edges),
            tuple(int(c) for c in np.histogram(lengths[mask], bins=edges)[0]),
        )
        for name, mask in groups.items()
    }
    if classification:
        rows = _pick_rows(labels, TEXT_SAMPLES_PER_CLASS, shown, seed)
    else:
        rows = list(range(min(len(frame), TEXT_SAMPLES_PER_CLASS * 2)))
    samples = tuple(
        SampleRow(label=str(labels.iloc[r]), text=str(frame[text_col].iloc[r])[:MAX_TEXT_CHARS])
        for r in rows
    )
    return DataPreview(
        kind=PreviewKind.TEXT, samples=samples, text_lengths=text_lengths, text_unit=unit,
        **common,
    )  # fmt: skip


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
    labels, shown, common, values = _target_summary(profile, frame[profile.target])
    kind = _preview(profile)
    if kind in (PreviewKind.IMAGE, PreviewKind.SERIES):
        return _wide_preview(profile, frame, labels, shown, values, common, seed)
    if kind == PreviewKind.TEXT:
        return _text_preview(profile, frame, labels, shown, common, seed)
    return DataPreview(kind=PreviewKind.NONE, **common)
