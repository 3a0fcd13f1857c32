"""Stage 2 — profile: decide from evidence what the table holds.

The decision rests on two signals: column names, and the correlation structure
between columns. In an image a value correlates with its horizontal neighbour
(offset 1) *and* its vertical neighbour (offset W) far more than with a random
column; in a sequence correlation is high at offset 1 and decays with lag; in a
table neighbours are no closer than random pairs. Every threshold is a named
constant and is copied into the profile's evidence so the report can explain it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from archselect._errors import DataError, UsageError
from archselect._serde import JsonRecord
from archselect.load import SourceFacts, Table, load_table

__all__ = [
    "MODALITIES",
    "TASKS",
    "THRESHOLDS",
    "Profile",
    "profile_frame",
    "profile_table",
]

MODALITIES = ("spatial", "sequential", "tabular")
TASKS = ("classification", "regression")

#: Column names that mark the target, in order of preference (case-insensitive).
TARGET_NAMES = ("label", "target", "class", "y", "labels", "category", "outcome")
#: Rows sampled for the correlation statistics, so profiling cost does not grow with N.
SAMPLE_ROWS = 2000
#: Random column pairs drawn for the baseline correlation.
RANDOM_PAIRS = 2000
#: Fewest feature columns for a wide image or sequence.
MIN_WIDE_COLUMNS = 16
#: Smallest image side considered, and the largest aspect ratio.
MIN_IMAGE_SIDE = 4
MAX_ASPECT = 4.0
#: Image: offset-1 and offset-W correlation must each exceed random pairs by this much …
IMAGE_MIN_GAIN = 0.15
#: … and offset W must beat offset W/2 by this much (a vertical neighbour, not a decay).
IMAGE_MIN_BUMP = 0.10
#: … and offset-1 pairs inside a row must correlate more than pairs that wrap from one row's
#: end to the next row's start (in a sequence those are ordinary neighbours).
IMAGE_MIN_WRAP_DROP = 0.10
#: Sequence: offset-1 correlation must exceed random pairs by this much …
SEQ_MIN_GAIN = 0.20
#: … and must exceed the correlation at the far lag (a quarter of the length) by this much.
SEQ_MIN_DECAY = 0.05
#: Integer targets with at most this many distinct values are classes.
MAX_INT_CLASSES = 50
#: Fraction of rows above which distinct integer values make a target a regression target.
MAX_CLASS_FRACTION = 0.05
#: Non-numeric feature columns with at most this many values are one-hot encoded.
MAX_CATEGORIES = 50
#: Refuse a feature column with a larger fraction of missing or non-finite values (fewer are
#: imputed with the training median, with a note).
MAX_MISSING_FRACTION = 0.5
#: A text column whose non-empty values parse as numbers in at least this fraction of rows
#: is a numeric column with typos: it is refused, naming the first bad cell.
NUMERIC_TEXT_FRACTION = 0.9
#: Fewest rows with a target that can be split into train, validation and test.
MIN_ROWS = 10
#: Feature columns checked for missing values per block (bounds the temporary copy).
MISSING_CHECK_BLOCK = 1024

THRESHOLDS: dict[str, float] = {
    "sample_rows": SAMPLE_ROWS,
    "min_wide_columns": MIN_WIDE_COLUMNS,
    "min_image_side": MIN_IMAGE_SIDE,
    "max_aspect": MAX_ASPECT,
    "image_min_gain": IMAGE_MIN_GAIN,
    "image_min_bump": IMAGE_MIN_BUMP,
    "image_min_wrap_drop": IMAGE_MIN_WRAP_DROP,
    "seq_min_gain": SEQ_MIN_GAIN,
    "seq_min_decay": SEQ_MIN_DECAY,
    "max_int_classes": MAX_INT_CLASSES,
    "max_class_fraction": MAX_CLASS_FRACTION,
}

_NUMBERED = re.compile(r"^(.*?)(\d+)$")


@dataclass(frozen=True)
class Profile(JsonRecord):
    """What the data is, how it will reach the models, and why.

    Attributes:
        modality: ``spatial``, ``sequential`` or ``tabular``.
        layout: How the rows are laid out (``image``, ``series``, ``table``).
        task: ``classification`` or ``regression``.
        target: Name of the target column.
        target_rule: Which rule chose the target.
        feature_columns: Columns that feed the model, in model order.
        categorical_columns: Feature columns one-hot encoded (tabular only).
        input_shape: Shape of one prepared sample: ``(C, H, W)``, ``(T, C)`` or ``(F,)``.
        classes: Class labels as strings (empty for regression).
        n_rows: Rows with a target.
        confidence: 0.5 (a guess) … 1.0 (certain) for the modality decision.
        decision: The rule that decided the modality, in words.
        evidence: Every number and threshold behind the decision.
        notes: Things done to the data that the user should know.
        dropped_columns: Columns left out, with the reason in ``notes``.
    """

    modality: str
    layout: str
    task: str
    target: str
    target_rule: str
    feature_columns: tuple[str, ...]
    input_shape: tuple[int, ...]
    classes: tuple[str, ...] = ()
    categorical_columns: tuple[str, ...] = ()
    n_rows: int = 0
    confidence: float = 1.0
    decision: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    dropped_columns: tuple[str, ...] = ()
    source: SourceFacts | None = None

    @property
    def n_outputs(self) -> int:
        """Width of the model's output layer."""
        return len(self.classes) if self.task == "classification" else 1


# --- target and task ---------------------------------------------------------------------


def _closest(name: str, options: list[str], n: int = 3) -> list[str]:
    import difflib

    return difflib.get_close_matches(name, options, n=n, cutoff=0.3) or options[:n]


def _choose_target(frame: pd.DataFrame, target: str | None) -> tuple[str, str]:
    columns = [str(c) for c in frame.columns]
    if target is not None:
        if target not in columns:
            near = ", ".join(repr(c) for c in _closest(target, columns))
            raise UsageError(
                f"Target column {target!r} is not in the data; the closest names are {near}."
            )
        return target, "given with --target"
    lowered = {c.lower(): c for c in columns}
    for name in TARGET_NAMES:
        if name in lowered:
            return lowered[name], f"column named {lowered[name]!r} (a usual target name)"
    if len(columns) < 2:
        raise DataError("The data has a single column; it needs features and a target column.")
    return columns[-1], "last column (no column named like label/target/class/y)"


def _is_integer_valued(values: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(values):
        return False
    arr = values.to_numpy(dtype=float)
    return bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))


def _choose_task(y: pd.Series, task: str | None) -> tuple[str, str]:
    if task is not None:
        if task not in TASKS:
            raise UsageError(f"Unknown task {task!r}; choose one of {', '.join(TASKS)}.")
        return task, "given with --task"
    n_unique = y.nunique()
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return "classification", "target is not numeric"
    if _is_integer_valued(y) and (
        n_unique <= min(MAX_INT_CLASSES, max(2, MAX_CLASS_FRACTION * len(y))) or n_unique <= 2
    ):
        return "classification", f"integer target with {n_unique} distinct values"
    return "regression", f"numeric target with {n_unique} distinct values"


def _class_labels(y: pd.Series) -> tuple[str, ...]:
    values = y.unique()
    try:
        ordered = sorted(values)
    except TypeError:
        ordered = sorted(values, key=str)
    return tuple(_label_str(v) for v in ordered)


def _label_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- correlation structure ------------------------------------------------------------------


def _standardised_sample(values: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if len(values) > SAMPLE_ROWS:
        values = values[rng.choice(len(values), SAMPLE_ROWS, replace=False)]
    x = values.astype(np.float64, copy=True)
    x[~np.isfinite(x)] = np.nan
    means = np.nanmean(np.where(np.isnan(x), np.nan, x), axis=0)
    means = np.where(np.isnan(means), 0.0, means)
    x = np.where(np.isnan(x), means, x)
    std = x.std(axis=0)
    varying = std > 1e-12
    z = (x - means) / np.where(varying, std, 1.0)
    return z, varying


def _pair_corr(z: np.ndarray, varying: np.ndarray, lag: int) -> np.ndarray:
    """|corr(col i, col i+lag)| for every i; NaN where either column is constant."""
    corr = np.abs((z[:, :-lag] * z[:, lag:]).mean(axis=0))
    return np.where(varying[:-lag] & varying[lag:], corr, np.nan)


def _lag_corr(z: np.ndarray, varying: np.ndarray, lag: int) -> float:
    """Mean absolute correlation between columns i and i+lag (both varying)."""
    if lag >= z.shape[1]:
        return float("nan")
    corr = _pair_corr(z, varying, lag)
    return float(np.nanmean(corr)) if np.isfinite(corr).any() else float("nan")


def _wrap_drop(lag1: np.ndarray, width: int) -> tuple[float, float]:
    """Mean offset-1 correlation inside rows of ``width``, and across row ends."""
    across = (np.arange(len(lag1)) + 1) % width == 0
    inside, wrap = lag1[~across], lag1[across]
    inside_mean = float(np.nanmean(inside)) if np.isfinite(inside).any() else 0.0
    wrap_mean = float(np.nanmean(wrap)) if np.isfinite(wrap).any() else 0.0
    return inside_mean, wrap_mean


def _random_corr(z: np.ndarray, varying: np.ndarray, seed: int) -> float:
    idx = np.flatnonzero(varying)
    if len(idx) < 2:
        return float("nan")
    rng = np.random.default_rng(seed + 1)
    a = rng.choice(idx, RANDOM_PAIRS)
    b = rng.choice(idx, RANDOM_PAIRS)
    keep = a != b
    corr = (z[:, a[keep]] * z[:, b[keep]]).mean(axis=0)
    return float(np.abs(corr).mean())


def _image_sides(n: int) -> list[tuple[int, int]]:
    """(H, W) factorisations of n: sides >= MIN_IMAGE_SIDE, sane aspect, squarest first."""
    sides = []
    for w in range(MIN_IMAGE_SIDE, n // MIN_IMAGE_SIDE + 1):
        if n % w == 0:
            h = n // w
            if h >= MIN_IMAGE_SIDE and max(h, w) / min(h, w) <= MAX_ASPECT:
                sides.append((h, w))
    return sorted(sides, key=lambda hw: (abs(hw[0] - hw[1]), -hw[1]))


def structure_evidence(values: np.ndarray, *, seed: int = 0) -> dict[str, Any]:
    """Measure the correlation structure of wide numeric columns.

    Returns a dict with the offset-1 correlation, the random-pair baseline, the
    lag profile and, for each image factorisation, the offset-W and offset-W/2
    correlations.
    """
    z, varying = _standardised_sample(values, seed)
    n_cols = z.shape[1]
    lags = sorted({1, 2, 3, 4, 8, 16, 32, max(1, n_cols // 4)} & set(range(1, n_cols)))
    evidence: dict[str, Any] = {
        "n_columns": n_cols,
        "varying_columns": int(varying.sum()),
        "sampled_rows": int(z.shape[0]),
        "corr_random": _random_corr(z, varying, seed),
        "corr_by_lag": {str(lag): _lag_corr(z, varying, lag) for lag in lags},
    }
    evidence["corr_lag1"] = evidence["corr_by_lag"].get("1", float("nan"))
    evidence["far_lag"] = max(1, n_cols // 4)
    evidence["corr_far"] = evidence["corr_by_lag"].get(str(evidence["far_lag"]), float("nan"))
    candidates = []
    lag1 = _pair_corr(z, varying, 1) if n_cols > 1 else np.zeros(0)
    for h, w in _image_sides(n_cols)[:6]:
        inside, wrap = _wrap_drop(lag1, w)
        candidates.append(
            {
                "height": h,
                "width": w,
                "corr_w": _lag_corr(z, varying, w),
                "corr_half_w": _lag_corr(z, varying, max(1, w // 2)),
                "corr_lag1_inside_rows": inside,
                "corr_lag1_across_rows": wrap,
            }
        )
    evidence["image_candidates"] = candidates
    return evidence


def _nan0(x: float) -> float:
    return 0.0 if x is None or not np.isfinite(x) else float(x)


def _confidence(margin: float, scale: float) -> float:
    """Map a margin over a threshold (in units of ``scale``) to 0.5 … 0.99."""
    return float(np.clip(0.5 + 0.5 * np.tanh(max(margin, 0.0) / scale), 0.5, 0.99))


def _decide_wide(
    ev: dict[str, Any], names: list[str]
) -> tuple[str, str, tuple[int, ...], float, str]:
    """Return (modality, layout, input_shape, confidence, decision) for numeric wide columns."""
    n_cols = ev["n_columns"]
    r1, rr, rfar = _nan0(ev["corr_lag1"]), _nan0(ev["corr_random"]), _nan0(ev["corr_far"])
    gain1 = r1 - rr
    best_image = None
    for cand in ev["image_candidates"]:
        gain_w = _nan0(cand["corr_w"]) - rr
        bump = _nan0(cand["corr_w"]) - _nan0(cand["corr_half_w"])
        drop = cand["corr_lag1_inside_rows"] - cand["corr_lag1_across_rows"]
        cand["gain_w"], cand["bump"], cand["wrap_drop"] = gain_w, bump, drop
        score = min(
            gain1 - IMAGE_MIN_GAIN,
            gain_w - IMAGE_MIN_GAIN,
            bump - IMAGE_MIN_BUMP,
            drop - IMAGE_MIN_WRAP_DROP,
        )
        cand["score"] = score
        if score > 0 and (best_image is None or score > best_image["score"]):
            best_image = cand
    ev["gain_lag1"] = gain1
    ev["decay"] = r1 - rfar
    if best_image is not None:
        h, w = best_image["height"], best_image["width"]
        return (
            "spatial",
            "image",
            (1, h, w),
            _confidence(best_image["score"], 0.1),
            f"offset-1 and offset-{w} correlations ({r1:.2f}, {best_image['corr_w']:.2f}) "
            f"exceed random pairs ({rr:.2f}) by more than {IMAGE_MIN_GAIN}, and offset {w} "
            f"beats offset {max(1, w // 2)} by {best_image['bump']:.2f} "
            f"(> {IMAGE_MIN_BUMP}), and neighbours across row ends correlate less "
            f"({best_image['corr_lag1_across_rows']:.2f} vs "
            f"{best_image['corr_lag1_inside_rows']:.2f}): a {h}x{w} image",
        )
    seq_score = min(gain1 - SEQ_MIN_GAIN, r1 - rfar - SEQ_MIN_DECAY)
    ev["sequence_score"] = seq_score
    if seq_score > 0:
        return (
            "sequential",
            "series",
            (n_cols, 1),
            _confidence(seq_score, 0.1),
            f"offset-1 correlation {r1:.2f} exceeds random pairs ({rr:.2f}) by more than "
            f"{SEQ_MIN_GAIN} and decays to {rfar:.2f} at lag {ev['far_lag']}, with no "
            "vertical-neighbour peak: an ordered sequence",
        )
    margin = -max(seq_score, max((c["score"] for c in ev["image_candidates"]), default=-1.0))
    return (
        "tabular",
        "table",
        (n_cols,),
        _confidence(margin, 0.1),
        f"neighbouring columns correlate ({r1:.2f}) about as much as random pairs ({rr:.2f}): "
        "no spatial or sequential order",
    )


def _name_evidence(names: list[str]) -> dict[str, Any]:
    """Do the names look like one numbered family (pixel0.., t0..) in order?"""
    matches = [_NUMBERED.match(n) for n in names]
    if not names or not all(matches):
        return {"numbered": False}
    prefixes = {m.group(1) for m in matches if m}
    numbers = [int(m.group(2)) for m in matches if m]
    ordered = all(b > a for a, b in itertools.pairwise(numbers))
    return {"numbered": len(prefixes) == 1, "prefix": next(iter(prefixes)), "ordered": ordered}


# --- value checks ---------------------------------------------------------------------------


def _row_number(index_label: Any, position: int) -> int:
    """1-based data row (the header is not counted) of a cell."""
    if isinstance(index_label, (int, np.integer)):
        return int(index_label) + 1
    return position + 1


def _check_numeric_text(features: pd.DataFrame, columns: list[Any]) -> None:
    """Refuse a text column that is numeric except for a few cells, naming the first one."""
    for col in columns:
        s = features[col]
        present = s.dropna()
        if present.empty:
            continue
        text = present.astype("string").str.strip()
        text = text[text != ""]
        if text.empty:
            continue
        parsed = pd.to_numeric(text, errors="coerce")
        ok = parsed.notna()
        if ok.all() or ok.mean() < NUMERIC_TEXT_FRACTION:
            continue
        bad_label = ok.index[int(np.flatnonzero(~ok.to_numpy())[0])]
        position = int(features.index.get_indexer(pd.Index([bad_label]))[0])
        raise DataError(
            f"Column {str(col)!r} should be numeric but data row "
            f"{_row_number(bad_label, position)} holds {str(s.loc[bad_label])!r}; "
            "fix or remove the non-numeric values."
        )


def _missing_counts(features: pd.DataFrame, columns: list[Any]) -> np.ndarray:
    """Missing or non-finite values per numeric column (in blocks of columns)."""
    counts = np.zeros(len(columns), dtype=np.int64)
    for start in range(0, len(columns), MISSING_CHECK_BLOCK):
        block = columns[start : start + MISSING_CHECK_BLOCK]
        values = features[block].to_numpy(dtype=np.float64, na_value=np.nan)
        counts[start : start + len(block)] = (~np.isfinite(values)).sum(axis=0)
    return counts


def _check_missing(
    features: pd.DataFrame, columns: list[Any], n_rows: int, notes: list[str]
) -> None:
    if not columns or not n_rows:
        return
    counts = _missing_counts(features, columns)
    frac = counts / n_rows
    worst = int(np.argmax(frac))
    if frac[worst] > MAX_MISSING_FRACTION:
        raise DataError(
            f"Column {str(columns[worst])!r} is missing or non-finite in {frac[worst]:.0%} of "
            f"rows (limit {MAX_MISSING_FRACTION:.0%}); drop it or fill it in."
        )
    total = int(counts.sum())
    if total:
        notes.append(
            f"{total} missing or infinite feature values will be imputed with the training median"
        )


# --- main entry ----------------------------------------------------------------------------


def _parse_shape(shape: str | tuple[int, ...], n_cols: int) -> tuple[int, ...]:
    if isinstance(shape, str):
        try:
            dims = tuple(int(p) for p in re.split(r"[x×,]", shape.lower()) if p)
        except ValueError:
            raise UsageError(
                f"--shape {shape!r} is not of the form HxW or HxWxC (e.g. 28x28x1)."
            ) from None
    else:
        dims = tuple(shape)
    if len(dims) == 2:
        dims = (*dims, 1)
    if len(dims) != 3 or min(dims) < 1:
        raise UsageError(f"--shape {shape!r} is not of the form HxW or HxWxC (e.g. 28x28x1).")
    h, w, c = dims
    if h * w * c != n_cols:
        raise UsageError(
            f"--shape {shape!r} needs {h * w * c} pixel columns but the data has {n_cols} "
            "feature columns; give a shape whose product matches."
        )
    return (c, h, w)


def profile_table(
    table: Table,
    *,
    target: str | None = None,
    task: str | None = None,
    modality: str | None = None,
    shape: str | tuple[int, ...] | None = None,
    seed: int = 0,
) -> Profile:
    """Decide modality, layout, task and target of a loaded table, with evidence.

    Args:
        table: The loaded data.
        target: Target column; detected when omitted.
        task: ``classification`` or ``regression``; detected when omitted.
        modality: Force ``spatial``, ``sequential`` or ``tabular``.
        shape: Image shape ``HxW`` or ``HxWxC`` (implies spatial).
        seed: Seed for the row and column-pair samples.

    Returns:
        The :class:`Profile`.

    Example:
        >>> import numpy as np, pandas as pd
        >>> t = np.linspace(0, 6, 64)
        >>> rows = [np.sin(t + p) for p in np.linspace(0, 3, 40)]
        >>> frame = pd.DataFrame(rows, columns=[f"t{i}" for i in range(64)])
        >>> frame["label"] = [0, 1] * 20
        >>> profile_table(load_table(frame)).modality
        'sequential'
    """
    if modality is not None and modality not in MODALITIES:
        raise UsageError(f"Unknown modality {modality!r}; choose one of {', '.join(MODALITIES)}.")
    frame = table.frame
    target_col, target_rule = _choose_target(frame, target)
    y = frame[target_col]
    n_missing = int(y.isna().sum())
    notes: list[str] = list(table.facts.notes)
    if n_missing == len(y):
        raise DataError(f"Target column {target_col!r} is empty in every row; choose another.")
    if n_missing:
        notes.append(f"{n_missing} rows without a target are left out")
        y = y.dropna()
    if len(y) < 2:
        raise DataError(
            f"The data has {len(y)} row with a target; archselect needs at least {MIN_ROWS} "
            "(better a few dozen) to split into training, validation and test rows."
        )
    task_name, task_rule = _choose_task(y, task)
    classes: tuple[str, ...] = ()
    if task_name == "classification":
        classes = _class_labels(y)
        if len(classes) < 2:
            raise DataError(
                f"Target column {target_col!r} has one class only ({classes[0]!r}); "
                "classification needs at least two."
            )
    elif not pd.api.types.is_numeric_dtype(y):
        raise DataError(f"Regression needs a numeric target, but {target_col!r} holds text.")

    features = frame.drop(columns=[target_col])
    if n_missing:
        features = features[frame[target_col].notna()]
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    other = [c for c in features.columns if c not in numeric]
    _check_numeric_text(features, other)
    evidence: dict[str, Any] = {
        "thresholds": dict(THRESHOLDS),
        "target_rule": target_rule,
        "task_rule": task_rule,
        "n_numeric": len(numeric),
        "n_non_numeric": len(other),
        "names": _name_evidence([str(c) for c in features.columns]),
    }
    if not len(features.columns):
        raise DataError("The data has no feature columns besides the target; add features.")

    dropped: list[str] = []
    categorical: list[str] = []
    if shape is not None or modality == "spatial":
        if other:
            raise DataError(
                f"Image pixels must be numeric, but column {other[0]!r} is not; "
                "remove non-pixel columns or fix their values."
            )
        ev = structure_evidence(features[numeric].to_numpy(dtype=float), seed=seed)
        evidence["structure"] = ev
        if shape is not None:
            input_shape = _parse_shape(shape, len(numeric))
        else:
            sides = _image_sides(len(numeric))
            if not sides:
                raise UsageError(
                    f"{len(numeric)} pixel columns do not factorise into an image; "
                    "give the shape with --shape HxWxC."
                )
            input_shape = (1, *sides[0])
        result = ("spatial", "image", input_shape, 1.0, "modality given by the user")
    elif len(numeric) >= MIN_WIDE_COLUMNS and not other:
        ev = structure_evidence(features[numeric].to_numpy(dtype=float), seed=seed)
        evidence["structure"] = ev
        result = _decide_wide(ev, numeric)
        if modality is not None and modality != result[0]:
            shape_for = {"sequential": (len(numeric), 1), "tabular": (len(numeric),)}
            result = (
                modality,
                "series" if modality == "sequential" else "table",
                shape_for[modality],
                1.0,
                f"modality {modality} given by the user",
            )
    else:
        if modality == "sequential":
            if other:
                raise DataError(
                    f"A wide sequence needs numeric columns, but {other[0]!r} is not; "
                    "remove it or fix its values."
                )
            result = ("sequential", "series", (len(numeric), 1), 1.0, "modality given by the user")
        else:
            n = len(features)
            for col in other:
                n_values = features[col].nunique(dropna=True)
                if n_values <= MAX_CATEGORIES:
                    categorical.append(col)
                else:
                    dropped.append(col)
                    notes.append(
                        f"column {col!r} dropped: text with {n_values} distinct values "
                        f"(more than {MAX_CATEGORIES}), likely an identifier"
                    )
            for col in numeric:
                s = features[col]
                if s.nunique(dropna=True) <= 1:
                    dropped.append(col)
                    notes.append(f"column {col!r} dropped: constant")
                elif (
                    _is_integer_valued(s.dropna())
                    and s.nunique() == n
                    and s.is_monotonic_increasing
                ):
                    dropped.append(col)
                    notes.append(f"column {col!r} dropped: a row identifier (unique, increasing)")
            result = (
                "tabular",
                "table",
                (0,),
                0.9 if len(numeric) < MIN_WIDE_COLUMNS else 1.0,
                "too few numeric columns for an image or a sequence"
                if not other
                else "mixed numeric and non-numeric columns",
            )
    modality_name, layout, input_shape, confidence, decision = result
    if modality_name == "tabular":
        kept_numeric = [c for c in numeric if c not in dropped]
        feature_columns = tuple(str(c) for c in kept_numeric + categorical)
        width = len(kept_numeric) + sum(int(features[c].nunique(dropna=True)) for c in categorical)
        if width == 0:
            raise DataError(
                "Every feature column was dropped (constant or identifier); "
                "add informative feature columns."
            )
        input_shape = (width,)
    else:
        feature_columns = tuple(str(c) for c in numeric)
    used = set(feature_columns)
    _check_missing(features, [c for c in numeric if str(c) in used], len(features), notes)
    return Profile(
        modality=modality_name,
        layout=layout,
        task=task_name,
        target=str(target_col),
        target_rule=target_rule,
        feature_columns=feature_columns,
        categorical_columns=tuple(str(c) for c in categorical),
        input_shape=tuple(int(d) for d in input_shape),
        classes=classes,
        n_rows=len(y),
        confidence=round(float(confidence), 3),
        decision=decision,
        evidence=evidence,
        notes=tuple(notes),
        dropped_columns=tuple(str(c) for c in dropped),
        source=table.facts,
    )


def profile_frame(frame: pd.DataFrame, **options: Any) -> Profile:
    """Profile a DataFrame in memory; ``options`` as for :func:`profile_table`.

    Example:
        >>> import pandas as pd
        >>> profile_frame(pd.DataFrame({"a": [1.0, 2.5, 3.1, 4.2], "y": [0, 1, 0, 1]})).task
        'classification'
    """
    return profile_table(load_table(frame), **options)
