"""Which column is the target, and which task it makes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from archselect.errors import DataError, UsageError
from archselect.layouts import is_integer_valued as _is_integer_valued
from archselect.layouts.constants import (
    MAX_CLASS_FRACTION,
    MAX_INT_CLASSES,
    MIN_ROWS_PER_CLASS_CODE,
    TARGET_NAMES,
    TASKS,
)

# --- target and task ---------------------------------------------------------------------


def _closest(name: str, options: list[str], n: int = 3) -> list[str]:
    import difflib

    return difflib.get_close_matches(name, options, n=n, cutoff=0.3) or options[:n]


def _check_column(frame: pd.DataFrame, name: str, option: str) -> str:
    columns = [str(c) for c in frame.columns]
    if name not in columns:
        near = ", ".join(repr(c) for c in _closest(name, columns))
        raise UsageError(
            f"{option} column {name!r} is not in the data; the closest names are {near}."
        )
    return name


def _choose_target(
    frame: pd.DataFrame, target: str | None, exclude: tuple[str, ...] = ()
) -> tuple[str, str]:
    columns = [str(c) for c in frame.columns]
    if target is not None:
        return _check_column(frame, target, "Target"), "given with --target"
    lowered = {c.lower(): c for c in columns}
    for name in TARGET_NAMES:
        if name in lowered and lowered[name] not in exclude:
            return lowered[name], f"column named {lowered[name]!r} (a usual target name)"
    candidates = [c for c in columns if c not in exclude]
    if len(columns) == 1 and candidates and pd.api.types.is_numeric_dtype(frame[columns[0]]):
        return columns[0], "the only column, numeric: one series to forecast"
    if len(columns) < 2 or not candidates:
        raise DataError("The data has a single column; it needs features and a target column.")
    return candidates[-1], "last column (no column named like label/target/class/y)"


def _choose_task(y: pd.Series, task: str | None) -> tuple[str, str]:
    if task is not None:
        if task not in TASKS:
            raise UsageError(f"Unknown task {task!r}; choose one of {', '.join(TASKS)}.")
        return task, "given with --task"
    n_unique = y.nunique()
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return "classification", "target is not numeric"
    if _is_integer_valued(y):
        if n_unique <= min(MAX_INT_CLASSES, max(2, MAX_CLASS_FRACTION * len(y))) or n_unique <= 2:
            return "classification", f"integer target with {n_unique} distinct values"
        if _class_codes(y) and len(y) / n_unique >= MIN_ROWS_PER_CLASS_CODE:
            low = int(y.min())
            return "classification", (
                f"integer target with {n_unique} distinct values, exactly {low}…"
                f"{low + n_unique - 1} (class codes), {len(y) / n_unique:.3g} rows per value"
            )
    return "regression", f"numeric target with {n_unique} distinct values"


def _regression_hint(y: pd.Series, column: str, chosen: str, given: str | None) -> str | None:
    """A note for a whole-number target read as regression: it may be class labels coded as
    numbers (too many codes, or too few rows per code, to be read as classes here)."""
    if given is not None or chosen != "regression" or not _is_integer_valued(y):
        return None
    return (
        f"target {column!r} holds {y.nunique()} distinct whole numbers and is treated as "
        "regression; if they are class labels, rerun with --task classification"
    )


def _class_codes(y: pd.Series) -> bool:
    """Integer values that are exactly 0…K-1 or 1…K, with K <= MAX_INT_CLASSES."""
    values = np.unique(y.dropna().to_numpy(dtype=float))
    return (
        2 <= len(values) <= MAX_INT_CLASSES
        and values[0] in (0.0, 1.0)
        and bool(np.all(np.diff(values) == 1.0))
    )


def _class_labels(y: pd.Series) -> tuple[str, ...]:
    values = y.unique()
    try:
        ordered = sorted(values)
    except TypeError:
        ordered = sorted(values, key=str)
    return tuple(label_str(v) for v in ordered)


def label_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
