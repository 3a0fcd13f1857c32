"""Stage 2 — profile: decide from evidence what the table holds.

The decision rests on two signals: column names, and the correlation structure
between columns. In an image a value correlates with its horizontal neighbour
(offset 1) *and* its vertical neighbour (offset W) far more than with a random
column; in a sequence correlation is high at offset 1 and decays with lag; in a
table neighbours are no closer than random pairs. Every threshold is a named
constant and is copied into the profile's evidence so the report can explain it.

Input forms recognised, in the order they are tried (``Profile.form``):

* ``long`` — an id column, an order/time column and value columns, one label per id
  → layout ``series_padded``; found from structure by :mod:`archselect._longformat` (ids in
  runs or groups with one label each, a step column that restarts and increases within
  them or rows smooth in file order), names only raising the prior; a close call between
  long format and a table lowers the confidence and names ``--id-col`` / ``--layout``;
* text and datetime forecasting — the dispatch point :func:`_special_layouts`:
  a free-text column → ``text`` (tokenizer and length chosen here, vocabulary in
  prepare); a date/time column and a numeric target → ``forecast`` (frequency, gaps,
  season, window and horizon chosen here, with the helpers of ``_text``/``_forecast``);
* ``image_paths`` — a column of PNG/JPEG paths relative to the CSV → ``image``;
* ``wide_pixels`` — grayscale ``H×W`` or colour ``H×W×3`` columns, channels interleaved
  (``r,g,b`` per pixel) or planar (one block per channel) → ``image``;
* ``wide_groups`` — prefix groups ``x_0..x_T, y_0..y_T`` → ``series`` with C channels;
* ``wide_series`` — ordered time-step columns → ``series`` with one channel;
* ``table`` — none of the above.
"""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archselect import _forecast, _longformat, _text
from archselect._errors import DataError, UsageError
from archselect._longformat import (  # noqa: F401  (re-exported names)
    ID_NAMES,
    LONG_THRESHOLDS,
    TIME_NAMES,
    order_values,
)
from archselect.core.data import Profile
from archselect.load import Table, load_table

__all__ = [
    "LAYOUTS",
    "LAYOUT_MODALITY",
    "MODALITIES",
    "TASKS",
    "THRESHOLDS",
    "Profile",
    "open_image",
    "order_values",
    "parse_shape",
    "profile_frame",
    "profile_table",
    "structure_evidence",
]

MODALITIES = ("spatial", "sequential", "tabular")
TASKS = ("classification", "regression")
#: Tensor layouts the models consume, and the modality each belongs to. ``series_padded``
#: is a variable-length series padded to T steps with a 0/1 mask as its last channel.
LAYOUT_MODALITY = {
    "image": "spatial",
    "series": "sequential",
    "series_padded": "sequential",
    "text": "sequential",
    "forecast": "sequential",
    "table": "tabular",
}
LAYOUTS = tuple(LAYOUT_MODALITY)

#: Column names that mark the target, in order of preference (case-insensitive).
TARGET_NAMES = ("label", "target", "class", "y", "labels", "category", "outcome")
#: Rows sampled for the correlation statistics, so profiling cost does not grow with N.
SAMPLE_ROWS = 2000
#: Random column pairs drawn for the baseline correlation, evaluated this many at a time.
RANDOM_PAIRS = 2000
PAIR_CHUNK = 128
#: Fewest feature columns for a wide image or sequence …
MIN_WIDE_COLUMNS = 16
#: … or for a sequence whose headers are ordered numbers (``h01..h12``) or dates.
MIN_NAMED_SERIES_COLUMNS = 8
#: Fewest steps in each prefix group of a wide multivariate series.
MIN_GROUP_STEPS = 4
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
#: Colour, interleaved: the same channel one pixel on (lag 3) must correlate more than the
#: mean of lags 2 and 4 (other channels) by this much; smooth grayscale decays instead.
COLOUR_MIN_INTERLEAVE = 0.05
#: Colour, planar: the same pixel in the next channel block (lag H*W) must beat random pairs
#: by IMAGE_MIN_GAIN and lag H*W/2 by IMAGE_MIN_BUMP, or vertical neighbours must correlate
#: less (by IMAGE_MIN_WRAP_DROP) across the seams between channel blocks than inside them.
N_COLOUR_CHANNELS = 3
#: Sequence: offset-1 correlation must exceed random pairs by this much …
SEQ_MIN_GAIN = 0.20
#: … (or close this share of the gap between random pairs and 1: strongly trending series) …
SEQ_MIN_RELATIVE_GAIN = 0.5
#: … and must exceed the smallest correlation at longer lags by this much (a decay; the
#: minimum, not the far lag, so periodic series count).
SEQ_MIN_DECAY = 0.05
#: Integer targets with at most this many distinct values are classes.
MAX_INT_CLASSES = 50
#: Fraction of rows above which distinct integer values make a target a regression target …
MAX_CLASS_FRACTION = 0.05
#: … unless the values are class codes, exactly 0…K-1 or 1…K, with at least this many rows per
#: code on average (small labelled sets: 36 rows of classes 0, 1, 2 are classes, not values).
MIN_ROWS_PER_CLASS_CODE = 3
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
#: Image paths: at least this fraction of a text column's values end in an image extension.
IMAGE_PATH_MIN_FRACTION = 0.9
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
#: Image files opened while profiling to choose the common size and channel count.
IMAGE_SAMPLE_FILES = 32
#: Image files are resized to the median sampled size, capped at this side.
MAX_IMAGE_SIDE = 64
#: Free text: a non-numeric column, mostly distinct, with this many words per value on
#: average (a name has 2-4) …
TEXT_MIN_MEAN_WORDS = 5
#: … or, mostly non-ASCII (scripts without spaces), this many characters per value.
TEXT_MIN_NON_ASCII = 0.5
TEXT_MIN_MEAN_CHARS = 20
TEXT_MIN_DISTINCT_FRACTION = 0.5

THRESHOLDS: dict[str, float] = {
    "sample_rows": SAMPLE_ROWS,
    "min_wide_columns": MIN_WIDE_COLUMNS,
    "min_named_series_columns": MIN_NAMED_SERIES_COLUMNS,
    "min_group_steps": MIN_GROUP_STEPS,
    "min_image_side": MIN_IMAGE_SIDE,
    "max_aspect": MAX_ASPECT,
    "image_min_gain": IMAGE_MIN_GAIN,
    "image_min_bump": IMAGE_MIN_BUMP,
    "image_min_wrap_drop": IMAGE_MIN_WRAP_DROP,
    "colour_min_interleave": COLOUR_MIN_INTERLEAVE,
    "seq_min_gain": SEQ_MIN_GAIN,
    "seq_min_relative_gain": SEQ_MIN_RELATIVE_GAIN,
    "seq_min_decay": SEQ_MIN_DECAY,
    "max_int_classes": MAX_INT_CLASSES,
    "max_class_fraction": MAX_CLASS_FRACTION,
    "min_rows_per_class_code": MIN_ROWS_PER_CLASS_CODE,
    "max_categories": MAX_CATEGORIES,
    **LONG_THRESHOLDS,
    "image_path_min_fraction": IMAGE_PATH_MIN_FRACTION,
    "max_image_side": MAX_IMAGE_SIDE,
    "text_min_mean_words": TEXT_MIN_MEAN_WORDS,
    "text_min_non_ascii": TEXT_MIN_NON_ASCII,
    "text_min_mean_chars": TEXT_MIN_MEAN_CHARS,
    "text_min_distinct_fraction": TEXT_MIN_DISTINCT_FRACTION,
}

_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_COLOUR_PREFIXES = (("r", "g", "b"), ("red", "green", "blue"))


@dataclass
class _Decision:
    """A layout decision in the making (internal; becomes part of the Profile)."""

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
    if len(columns) < 2 or not candidates:
        raise DataError("The data has a single column; it needs features and a target column.")
    return candidates[-1], "last column (no column named like label/target/class/y)"


def _is_integer_valued(values: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    return bool(np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))


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
    return tuple(_label_str(v) for v in ordered)


def _label_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- correlation structure ------------------------------------------------------------------


def _sample_matrix(frame: pd.DataFrame, columns: list[str], seed: int) -> np.ndarray:
    """At most SAMPLE_ROWS rows of ``columns`` as float64 (rows sampled before converting)."""
    n = len(frame)
    if n > SAMPLE_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(n, SAMPLE_ROWS, replace=False))
        frame = frame.iloc[rows]
    sub = frame[columns]
    out = np.empty((len(sub), len(columns)), dtype=np.float64)
    for j, col in enumerate(columns):
        out[:, j] = pd.to_numeric(sub[col], errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    return out


def _standardise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns to zero mean and unit variance (NaN → column mean); which columns vary."""
    x = values.astype(np.float64, copy=True)
    x[~np.isfinite(x)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(x, axis=0) if len(x) else np.zeros(x.shape[1])
    means = np.where(np.isnan(means), 0.0, means)
    x = np.where(np.isnan(x), means, x)
    std = x.std(axis=0)
    varying = std > 1e-12
    z = (x - means) / np.where(varying, std, 1.0)
    return z, varying


def _pair_corr(z: np.ndarray, varying: np.ndarray, lag: int, signed: bool = False) -> np.ndarray:
    """|corr(col i, col i+lag)| for every i; NaN where either column is constant."""
    corr = (z[:, :-lag] * z[:, lag:]).mean(axis=0)
    corr = corr if signed else np.abs(corr)
    return np.where(varying[:-lag] & varying[lag:], corr, np.nan)


def _nanmean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")


def _lag_corr(z: np.ndarray, varying: np.ndarray, lag: int, signed: bool = False) -> float:
    """Mean (absolute) correlation between columns i and i+lag (both varying)."""
    if lag < 1 or lag >= z.shape[1]:
        return float("nan")
    return _nanmean(_pair_corr(z, varying, lag, signed))


def _wrap_drop(lag1: np.ndarray, width: int) -> tuple[float, float]:
    """Mean offset-1 correlation inside rows of ``width``, and across row ends."""
    across = (np.arange(len(lag1)) + 1) % width == 0
    inside, wrap = lag1[~across], lag1[across]
    inside_mean = float(np.nanmean(inside)) if np.isfinite(inside).any() else 0.0
    wrap_mean = float(np.nanmean(wrap)) if np.isfinite(wrap).any() else 0.0
    return inside_mean, wrap_mean


def _random_corr(z: np.ndarray, varying: np.ndarray, seed: int) -> tuple[float, float]:
    """Mean absolute and mean signed correlation of random column pairs."""
    idx = np.flatnonzero(varying)
    if len(idx) < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed + 1)
    a = rng.choice(idx, RANDOM_PAIRS)
    b = rng.choice(idx, RANDOM_PAIRS)
    a, b = a[a != b], b[a != b]
    # in chunks of pairs: never a (rows x pairs) temporary of the full size
    corr = np.concatenate(
        [
            np.einsum("ij,ij->j", z[:, a[i : i + PAIR_CHUNK]], z[:, b[i : i + PAIR_CHUNK]])
            / max(1, len(z))
            for i in range(0, len(a), PAIR_CHUNK)
        ]
    )
    return float(np.abs(corr).mean()), float(corr.mean())


def _image_sides(n: int) -> list[tuple[int, int]]:
    """(H, W) factorisations of n: sides >= MIN_IMAGE_SIDE, sane aspect, squarest first."""
    sides = []
    for w in range(MIN_IMAGE_SIDE, n // MIN_IMAGE_SIDE + 1):
        if n % w == 0:
            h = n // w
            if h >= MIN_IMAGE_SIDE and max(h, w) / min(h, w) <= MAX_ASPECT:
                sides.append((h, w))
    return sorted(sides, key=lambda hw: (abs(hw[0] - hw[1]), -hw[1]))


def _z_evidence(z: np.ndarray, varying: np.ndarray, seed: int) -> dict[str, Any]:
    n_cols = z.shape[1]
    far = max(1, n_cols // 4)
    lags = sorted({1, 2, 3, 4, 6, 8, 12, 16, 24, 32, far} & set(range(1, n_cols)))
    corr_random, corr_random_signed = _random_corr(z, varying, seed)
    by_lag = {str(lag): _lag_corr(z, varying, lag) for lag in lags}
    evidence: dict[str, Any] = {
        "n_columns": n_cols,
        "varying_columns": int(varying.sum()),
        "sampled_rows": int(z.shape[0]),
        "corr_random": corr_random,
        "corr_random_signed": corr_random_signed,
        "corr_by_lag": by_lag,
        "corr_lag1": by_lag.get("1", float("nan")),
        "corr_lag1_signed": _lag_corr(z, varying, 1, signed=True),
        "far_lag": far,
        "corr_far": by_lag.get(str(far), float("nan")),
    }
    longer = [v for k, v in by_lag.items() if int(k) > 1 and np.isfinite(v)]
    evidence["corr_min_longer_lag"] = min(longer) if longer else float("nan")
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


def structure_evidence(values: np.ndarray, *, seed: int = 0) -> dict[str, Any]:
    """Measure the correlation structure of wide numeric columns (rows already sampled).

    Returns a dict with the offset-1 correlation, the random-pair baseline, the
    lag profile and, for each image factorisation, the offset-W and offset-W/2
    correlations.

    Example:
        >>> import numpy as np
        >>> x = np.cumsum(np.random.default_rng(0).normal(size=(200, 32)), axis=1)
        >>> ev = structure_evidence(x)
        >>> ev["corr_lag1"] > ev["corr_random"]
        True
    """
    z, varying = _standardise(values)
    return _z_evidence(z, varying, seed)


def _nan0(x: float | None) -> float:
    return 0.0 if x is None or not np.isfinite(x) else float(x)


def _confidence(margin: float, scale: float) -> float:
    """Map a margin over a threshold (in units of ``scale``) to 0.5 … 0.99."""
    return float(np.clip(0.5 + 0.5 * np.tanh(max(margin, 0.0) / scale), 0.5, 0.99))


def _score_images(ev: dict[str, Any]) -> dict[str, Any] | None:
    """Score each image candidate; return the best one that passes every test."""
    r1, rr = _nan0(ev["corr_lag1"]), _nan0(ev["corr_random"])
    gain1 = r1 - rr
    best = None
    for cand in ev["image_candidates"]:
        gain_w = _nan0(cand["corr_w"]) - rr
        bump = _nan0(cand["corr_w"]) - _nan0(cand["corr_half_w"])
        drop = cand["corr_lag1_inside_rows"] - cand["corr_lag1_across_rows"]
        cand["gain_w"], cand["bump"], cand["wrap_drop"] = gain_w, bump, drop
        cand["score"] = min(
            gain1 - IMAGE_MIN_GAIN,
            gain_w - IMAGE_MIN_GAIN,
            bump - IMAGE_MIN_BUMP,
            drop - IMAGE_MIN_WRAP_DROP,
        )
        if cand["score"] > 0 and (best is None or cand["score"] > best["score"]):
            best = cand
    return best


def _image_sentence(ev: dict[str, Any], cand: dict[str, Any], what: str) -> str:
    w = cand["width"]
    return (
        f"offset-1 and offset-{w} correlations ({_nan0(ev['corr_lag1']):.2f}, "
        f"{_nan0(cand['corr_w']):.2f}) exceed random pairs ({_nan0(ev['corr_random']):.2f}) by "
        f"more than {IMAGE_MIN_GAIN}, offset {w} beats offset {max(1, w // 2)} by "
        f"{cand['bump']:.2f} (> {IMAGE_MIN_BUMP}), and neighbours across row ends correlate "
        f"less ({cand['corr_lag1_across_rows']:.2f} vs {cand['corr_lag1_inside_rows']:.2f}): "
        f"{what}"
    )


def _sequence_score(ev: dict[str, Any]) -> float:
    r1, rr = _nan0(ev["corr_lag1"]), _nan0(ev["corr_random"])
    gain = max(r1 - rr, _nan0(ev["corr_lag1_signed"]) - _nan0(ev["corr_random_signed"]))
    relative = (r1 - rr) / max(1.0 - rr, 1e-9)  # share of the headroom above random pairs
    decay = r1 - _nan0(ev["corr_min_longer_lag"])
    ev["gain_lag1"], ev["relative_gain_lag1"], ev["decay"] = gain, relative, decay
    ev["sequence_score"] = min(
        max(gain - SEQ_MIN_GAIN, relative - SEQ_MIN_RELATIVE_GAIN), decay - SEQ_MIN_DECAY
    )
    return float(ev["sequence_score"])


def _sequence_sentence(ev: dict[str, Any], what: str) -> str:
    return (
        f"offset-1 correlation {_nan0(ev['corr_lag1']):.2f} exceeds random pairs "
        f"({_nan0(ev['corr_random']):.2f}) by {ev['gain_lag1']:.2f} (threshold "
        f"{SEQ_MIN_GAIN}; {ev['relative_gain_lag1']:.0%} of the headroom, threshold "
        f"{SEQ_MIN_RELATIVE_GAIN:.0%}) and "
        f"decays to {_nan0(ev['corr_min_longer_lag']):.2f} at longer lags, with no "
        f"vertical-neighbour peak: {what}"
    )


# --- names ----------------------------------------------------------------------------------


def _name_evidence(names: list[str]) -> dict[str, Any]:
    """Do the names look like one numbered family (pixel0.., t0..) in order, or dates?"""
    matches = [_NUMBERED.match(n) for n in names]
    if names and all(matches):
        prefixes = {m.group(1) for m in matches if m}
        numbers = [int(m.group(2)) for m in matches if m]
        ordered = all(b > a for a, b in itertools.pairwise(numbers))
        if len(prefixes) == 1:
            return {"numbered": True, "prefix": next(iter(prefixes)), "ordered": ordered}
    result: dict[str, Any] = {"numbered": False}
    if len(names) >= 2 and all(re.search(r"\d", n) and len(n) >= 4 for n in names):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dates = pd.to_datetime(pd.Index(names), errors="coerce", format="mixed")
        if not dates.isna().any() and dates.is_monotonic_increasing and dates.is_unique:
            result.update(dated=True, ordered=True, first=str(dates[0]), last=str(dates[-1]))
    return result


def _prefix_groups(names: list[str]) -> list[tuple[str, list[str]]] | None:
    """Prefix groups of equal length (``x_0..x_T, y_0..y_T``), columns in file order."""
    groups: dict[str, list[str]] = {}
    numbers: dict[str, set[int]] = {}
    for name in names:
        m = _NUMBERED.match(name)
        if not m or not m.group(1):
            return None
        groups.setdefault(m.group(1), []).append(name)
        numbers.setdefault(m.group(1), set()).add(int(m.group(2)))
    if len(groups) < 2:
        return None
    sizes = {len(cols) for cols in groups.values()}
    steps = {frozenset(n) for n in numbers.values()}
    if len(sizes) != 1 or len(steps) != 1 or min(sizes) < MIN_GROUP_STEPS:
        return None
    return list(groups.items())


def _colour_name_order(names: list[str]) -> tuple[str, list[list[str]]] | None:
    """Channel columns from names like ``r_0, g_0, b_0`` (interleaved) or ``r_0.., g_0..``."""
    groups = _prefix_groups(names)
    if groups is None or len(groups) != N_COLOUR_CHANNELS:
        return None
    keys = [re.sub(r"[_\-. ]+$", "", g[0]).lower() for g in groups]
    for channels in _COLOUR_PREFIXES:
        if sorted(keys) == sorted(channels):
            by_key = dict(zip(keys, (g[1] for g in groups), strict=True))
            cols = [by_key[k] for k in channels]
            position = {n: i for i, n in enumerate(names)}
            first = [position[c[0]] for c in cols]
            planar = max(first) >= len(cols[0])  # the blocks follow one another
            return ("planar" if planar else "interleaved"), cols
    return None


# --- wide numeric columns ------------------------------------------------------------------


def _colour_hypotheses(
    z: np.ndarray, varying: np.ndarray, names: list[str], seed: int
) -> list[dict[str, Any]]:
    """Evidence for colour images (interleaved and planar) on standardised columns."""
    n_cols = z.shape[1]
    if n_cols % N_COLOUR_CHANNELS or not _image_sides(n_cols // N_COLOUR_CHANNELS):
        return []
    hw = n_cols // N_COLOUR_CHANNELS
    position = {n: i for i, n in enumerate(names)}
    named = _colour_name_order(names)
    out = []
    options: list[tuple[str, list[list[int]], str]] = []
    if named is not None:
        order, cols = named
        options.append((order, [[position[c] for c in ch] for ch in cols], "names"))
    else:
        options.append(
            ("interleaved", [list(range(c, n_cols, N_COLOUR_CHANNELS)) for c in range(3)], "")
        )
        options.append(("planar", [list(range(c * hw, (c + 1) * hw)) for c in range(3)], ""))
    for order, channels, by in options:
        # every channel is one more sample of an H x W image: stack them as rows
        stacked = np.concatenate([z[:, ch] for ch in channels], axis=0)
        stacked_varying = np.logical_or.reduce([varying[ch] for ch in channels])
        ev = _z_evidence(stacked, stacked_varying, seed)
        hyp: dict[str, Any] = {"channel_order": order, "by": by or "correlation", "image": ev}
        if by == "names":
            hyp["channel_signal"] = 1.0
        elif order == "interleaved":
            c2, c3 = _lag_corr(z, varying, 2), _lag_corr(z, varying, 3)
            c4 = _lag_corr(z, varying, 4)
            hyp["corr_lag2"], hyp["corr_lag3"], hyp["corr_lag4"] = c2, c3, c4
            hyp["channel_signal"] = _nan0(c3) - (_nan0(c2) + _nan0(c4)) / 2
            hyp["channel_threshold"] = COLOUR_MIN_INTERLEAVE
        else:
            rr = _nan0(_random_corr(z, varying, seed)[0])
            c_hw, c_half = _lag_corr(z, varying, hw), _lag_corr(z, varying, hw // 2)
            hyp["corr_lag_hw"], hyp["corr_lag_half_hw"] = c_hw, c_half
            hyp["channel_signal"] = min(
                _nan0(c_hw) - rr - IMAGE_MIN_GAIN, _nan0(c_hw) - _nan0(c_half) - IMAGE_MIN_BUMP
            )
            hyp["channel_threshold"] = 0.0
        hyp["channel_columns"] = channels
        out.append(hyp)
    return out


def _block_drop(z: np.ndarray, varying: np.ndarray, hw: int, width: int) -> float:
    """Planar colour: vertical neighbours (lag W) inside a channel block minus those that
    cross from one block's last row into the next block's first row (a true tall image
    has no such seam)."""
    corr = _pair_corr(z, varying, width)
    start = np.arange(len(corr))
    crossing = start // hw != (start + width) // hw
    inside, seam = corr[~crossing], corr[crossing]
    if not np.isfinite(inside).any() or not np.isfinite(seam).any():
        return 0.0
    return float(np.nanmean(inside) - np.nanmean(seam))


def _decide_wide(
    frame: pd.DataFrame, columns: list[str], seed: int, evidence: dict[str, Any]
) -> _Decision:
    """Image (gray or colour), multivariate groups, univariate series or table."""
    names = [str(c) for c in columns]
    z, varying = _standardise(_sample_matrix(frame, columns, seed))
    ev = _z_evidence(z, varying, seed)
    evidence["structure"] = ev
    n_cols = len(columns)

    colour = _colour_hypotheses(z, varying, names, seed)
    best_colour = None
    for hyp in colour:
        cand = _score_images(hyp["image"])
        if cand is not None and hyp["channel_order"] == "planar" and hyp["by"] != "names":
            # decorrelated channels: the seams between channel blocks give them away
            seam = _block_drop(z, varying, n_cols // N_COLOUR_CHANNELS, cand["width"])
            hyp["block_seam_drop"] = seam
            hyp["channel_signal"] = max(hyp["channel_signal"], seam - IMAGE_MIN_WRAP_DROP)
        hyp["passes"] = bool(
            cand is not None and hyp["channel_signal"] > hyp.get("channel_threshold", 0.0)
        )
        if hyp["passes"] and cand is not None:
            score = min(cand["score"], hyp["channel_signal"])
            if best_colour is None or score > best_colour[2]:
                best_colour = (hyp, cand, score)
    evidence["colour"] = [{k: v for k, v in h.items() if k != "channel_columns"} for h in colour]
    if best_colour is not None:
        hyp, cand, score = best_colour
        h, w = cand["height"], cand["width"]
        channels = hyp["channel_columns"]
        # model order: interleaved (H, W, C) per row, whatever the file order
        ordered = [columns[channels[c][p]] for p in range(h * w) for c in range(3)]
        evidence["channel_order"] = hyp["channel_order"]
        return _Decision(
            "spatial",
            "image",
            "wide_pixels",
            (3, h, w),
            _confidence(score, 0.1),
            _image_sentence(
                hyp["image"],
                cand,
                f"a {h}x{w} colour image, channels {hyp['channel_order']} "
                f"(decided by {hyp['by']})",
            ),
            ordered,
        )

    cand = _score_images(ev)
    if cand is not None:
        h, w = cand["height"], cand["width"]
        return _Decision(
            "spatial",
            "image",
            "wide_pixels",
            (1, h, w),
            _confidence(cand["score"], 0.1),
            _image_sentence(ev, cand, f"a {h}x{w} image"),
            list(columns),
        )

    groups = _prefix_groups(names)
    if groups is not None:
        position = {n: i for i, n in enumerate(names)}
        stacked = np.concatenate([z[:, [position[c] for c in g]] for _, g in groups], axis=0)
        stacked_varying = np.logical_or.reduce(
            [varying[[position[c] for c in g]] for _, g in groups]
        )
        gev = _z_evidence(stacked, stacked_varying, seed)
        gev.pop("image_candidates")
        evidence["groups"] = {"prefixes": [p for p, _ in groups], "structure": gev}
        score = _sequence_score(gev)
        if score > 0:
            t, c = len(groups[0][1]), len(groups)
            return _Decision(
                "sequential",
                "series",
                "wide_groups",
                (t, c),
                _confidence(score, 0.1),
                _sequence_sentence(
                    gev, f"{c} series of {t} steps ({', '.join(p for p, _ in groups)})"
                ),
                [col for _, g in groups for col in g],
            )

    score = _sequence_score(ev)
    if score > 0:
        return _Decision(
            "sequential",
            "series",
            "wide_series",
            (n_cols, 1),
            _confidence(score, 0.1),
            _sequence_sentence(ev, "an ordered sequence"),
            list(columns),
        )
    scores = [score, *(c.get("score", -1.0) for c in ev["image_candidates"])]
    return _Decision(
        "tabular",
        "table",
        "table",
        (n_cols,),
        _confidence(-max(scores), 0.1),
        f"neighbouring columns correlate ({_nan0(ev['corr_lag1']):.2f}) about as much as "
        f"random pairs ({_nan0(ev['corr_random']):.2f}): no spatial or sequential order",
        list(columns),
    )


# --- long format ---------------------------------------------------------------------------


def _detect_long(
    frame: pd.DataFrame,
    target_col: str,
    id_col: str | None,
    time_col: str | None,
    forced: bool,
    evidence: dict[str, Any],
    seed: int = 0,
) -> _Decision | None:
    """Long format: id column + order/time column + value columns, one label per id.

    The id and step columns are found from structure (:mod:`archselect._longformat`).
    """
    reading = _longformat.find_long(frame, target_col, id_col, time_col, forced, evidence, seed)
    if reading is None:
        return None
    id_col, time_col = reading.id_column, reading.time_column
    long_ev = evidence["long"]
    others = [str(c) for c in frame.columns if str(c) != target_col]
    ids_series = frame[id_col]
    n_ids = int(ids_series.nunique())
    rest = [c for c in others if c not in (id_col, time_col)]
    values = [c for c in rest if pd.api.types.is_numeric_dtype(frame[c])]
    dropped = [c for c in rest if c not in values]
    if not values:
        raise DataError(
            f"Long format with id column {id_col!r} needs numeric value columns besides the "
            "id and time columns; add them."
        )
    lengths = ids_series.value_counts()
    t_max = int(lengths.max())
    long_ev.update(
        n_ids=n_ids,
        mean_rows_per_id=len(frame) / max(1, n_ids),
        min_length=int(lengths.min()),
        max_length=t_max,
        value_columns=values,
        forced=forced,
    )
    notes = [
        f"column {c!r} dropped: not numeric (long format uses numeric value columns)"
        for c in dropped
    ]
    if lengths.min() != t_max:
        notes.append(
            f"sequences have {int(lengths.min())} to {t_max} steps: padded to {t_max} with a "
            "0/1 mask channel"
        )
    return _Decision(
        "sequential",
        "series_padded",
        "long",
        (t_max, len(values) + 1),
        reading.confidence,
        f"long format ({reading.how}): {n_ids} sequences named by {id_col!r}, ordered by "
        f"{time_col or 'file order'!r}, {len(values)} value column(s), one label per id",
        values,
        dropped=dropped,
        notes=reading.notes + notes,
        id_column=id_col,
        time_column=time_col,
    )


# --- image paths, text and other special layouts --------------------------------------------


def _image_path_columns(features: pd.DataFrame, other: list[str]) -> list[str]:
    found = []
    for col in other:
        values = features[col].dropna().astype("string").head(200).str.lower()
        if len(values) and values.str.endswith(IMAGE_EXTENSIONS).mean() >= IMAGE_PATH_MIN_FRACTION:
            found.append(col)
    return found


def resolve_image_path(value: Any, base_dir: str | None) -> Path:
    """An image path from the data, relative to the CSV's folder (``base_dir``)."""
    path = Path(str(value))
    return path if path.is_absolute() or base_dir is None else Path(base_dir) / path


def open_image(value: Any, base_dir: str | None, row: Any, column: str) -> Any:
    """Open one image file with Pillow; a missing or corrupt file names its data row."""
    from PIL import Image, UnidentifiedImageError

    label = row + 1 if isinstance(row, (int, np.integer)) else row
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        raise DataError(f"Image column {column!r} is empty in data row {label}; fill it in.")
    path = resolve_image_path(value, base_dir)
    if path.exists() and not path.is_file():  # a FIFO would block open() forever
        raise DataError(
            f"Image file {str(value)!r} of data row {label} is not a regular file (a folder, "
            "pipe or device); point the row at an image file."
        )
    try:
        img = Image.open(path)
        img.load()
    except Image.DecompressionBombError:
        raise DataError(
            f"Image file {str(value)!r} of data row {label} has more than "
            f"{Image.MAX_IMAGE_PIXELS:,} pixels (a possible decompression bomb); shrink it "
            "or remove that row."
        ) from None
    except FileNotFoundError:
        raise DataError(
            f"Image file {str(value)!r} of data row {label} does not exist (looked in "
            f"{path.parent}); paths are relative to the CSV's folder, so fix the path."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DataError(
            f"Image file {str(value)!r} of data row {label} cannot be read as an image "
            f"({type(exc).__name__}); replace or remove that row."
        ) from None
    return img


def _detect_image_paths(
    frame: pd.DataFrame, columns: list[str], shape: str | None, evidence: dict[str, Any]
) -> _Decision:
    col = columns[0]
    base = frame.attrs.get("base_dir")
    values = frame[col]
    rng = np.random.default_rng(0)
    n = len(values)
    rows = np.sort(rng.choice(n, min(n, IMAGE_SAMPLE_FILES), replace=False))
    sizes, modes = [], set()
    for pos in rows:
        img = open_image(values.iloc[pos], base, values.index[pos], col)
        sizes.append(img.size)  # (W, H)
        modes.add(img.mode)
    gray = modes <= {"L", "1", "I", "I;16", "F", "LA"}
    if shape is not None:
        c, h, w = parse_shape(shape, None)
    else:
        w = int(np.median([s[0] for s in sizes]))
        h = int(np.median([s[1] for s in sizes]))
        scale = min(1.0, MAX_IMAGE_SIDE / max(h, w))
        h, w = max(1, round(h * scale)), max(1, round(w * scale))
        c = 1 if gray else 3
    evidence["image_paths"] = {
        "column": col,
        "sampled_files": len(rows),
        "sizes": sorted({f"{s[0]}x{s[1]}" for s in sizes}),
        "modes": sorted(modes),
        "resized_to": [h, w],
        "base_dir": base,
    }
    return _Decision(
        "spatial",
        "image",
        "image_paths",
        (c, h, w),
        0.95,
        f"column {col!r} holds image file paths ({len(rows)} sampled files opened, modes "
        f"{', '.join(sorted(modes))}): images resized to {h}x{w} with {c} channel(s)",
        [col],
        notes=[f"images from column {col!r} resized to {h}x{w}"],
    )


def _text_columns(features: pd.DataFrame, other: list[str]) -> list[str]:
    """Free-text columns: mostly distinct values of several words (or, in scripts written
    without spaces, long runs of non-ASCII characters). Names, codes and dates are not."""
    found = []
    for col in other:
        values = features[col].dropna().astype("string")
        if not len(values):
            continue
        sample = values.head(SAMPLE_ROWS)
        distinct = sample.nunique() / len(sample)
        words = sample.str.count(r"\S+").mean()
        chars = sample.str.len()
        non_ascii = sample.str.count(r"[^\x00-\x7f]").sum() / max(1, int(chars.sum()))
        wordy = words >= TEXT_MIN_MEAN_WORDS or (
            non_ascii >= TEXT_MIN_NON_ASCII and chars.mean() >= TEXT_MIN_MEAN_CHARS
        )
        if wordy and distinct >= TEXT_MIN_DISTINCT_FRACTION:
            found.append(col)
    return found


def _special_layouts(
    frame: pd.DataFrame,
    features: pd.DataFrame,
    other: list[str],
    evidence: dict[str, Any],
    options: _SequenceOptions,
) -> _Decision | None:
    """Dispatch point for layouts prepared by their own modules: free text (``text``) and
    datetime forecasting (``forecast``). Returns None when neither applies.
    """
    text = _text_columns(features, other) if options.want in (None, "text") else []
    if text:
        evidence["text_columns"] = text
        return _text_decision(frame, text[0], options, evidence)
    if options.want not in (None, "forecast"):
        return None
    time_col, time_ev = _forecast.find_time_column(frame, exclude=options.target)
    numeric_target = pd.api.types.is_numeric_dtype(frame[options.target])
    if time_col is None or options.task == "classification" or not numeric_target:
        # a dated table with a class label is a table (its time column a feature or an id)
        if time_ev:
            evidence["time_columns"] = time_ev
        return None
    return _forecast_decision(frame, time_col, time_ev, options, evidence)


@dataclass(frozen=True)
class _SequenceOptions:
    """What the text and forecast decisions need besides the frame."""

    target: str
    task: str | None
    want: str | None
    numeric: tuple[str, ...]
    tokenizer: str | None = None
    horizon: int | None = None
    window: int | None = None


def _text_decision(
    frame: pd.DataFrame, col: str, options: _SequenceOptions, evidence: dict[str, Any]
) -> _Decision:
    ev = _text.free_text_evidence(frame[col])
    tok, tok_rule = _text.choose_tokenizer(ev, options.tokenizer)
    texts = frame.loc[frame[options.target].notna(), col]
    lengths = _text.token_lengths(list(texts), tok)
    max_len = _text.choose_length(lengths)
    others = [str(c) for c in frame.columns if str(c) not in (col, options.target)]
    evidence["text"] = {
        "column": col,
        **ev,
        "tokenizer": tok,
        "tokenizer_rule": tok_rule,
        "length_percentiles": {
            str(q): float(np.percentile(lengths, q)) if len(lengths) else 0.0
            for q in (50, 90, 95, 99)
        },
        "max_length": max_len,
        "max_length_rule": (
            f"{_text.LENGTH_PERCENTILE}th percentile of token counts, within "
            f"[{_text.MIN_LENGTH}, {_text.MAX_LENGTH}]"
        ),
        "truncated_fraction": float(np.mean(lengths > max_len)) if len(lengths) else 0.0,
        "length_histogram": _text.length_histogram(lengths),
        "thresholds": dict(_text.TEXT_THRESHOLDS),
    }
    return _Decision(
        "sequential",
        "text",
        "text",
        (max_len,),
        0.9,
        f"column {col!r} holds free text (long, mostly distinct strings; median "
        f"{ev['median_chars']:.0f} characters): {tok} tokens, length {max_len}",
        [col],
        dropped=others,
        notes=[f"column {c!r} left out: only the text column feeds the model" for c in others],
    )


def _forecast_decision(
    frame: pd.DataFrame,
    time_col: str,
    time_ev: dict[str, Any],
    options: _SequenceOptions,
    evidence: dict[str, Any],
) -> _Decision:
    target = options.target
    covariates = [str(c) for c in options.numeric if str(c) not in (target, time_col)]
    left_out = [str(c) for c in frame.columns if str(c) not in (target, time_col, *covariates)]
    times = _forecast.parse_times(frame[time_col])
    freq = _forecast.detect_frequency(times)
    columns = (target, *covariates)
    values = _forecast.numeric_values(frame, columns)
    grid, filled, fill = _forecast.regularise(times, values, freq["frequency"])
    choice = _forecast.choose_window_horizon(
        filled[:, 0], freq["group"], horizon=options.horizon, window=options.window
    )
    evidence["forecast"] = {
        "time_column": time_col,
        "time_columns": time_ev,
        **freq,
        **fill,
        "fill_policy": (
            f"missing steps filled by linear interpolation in time when at most "
            f"{_forecast.MAX_FILL_FRACTION:.0%} are missing and no gap exceeds "
            f"{_forecast.MAX_FILL_RUN} steps; otherwise refused"
        ),
        "start": str(grid[0]),
        "end": str(grid[-1]),
        "covariates": covariates,
        **choice,
        "selection_metric": (
            "rmse (MASE is MAE over a constant, so it ranks like MAE; RMSE is what the MSE "
            "loss trains and what the paired bootstrap of squared errors compares)"
        ),
        "thresholds": dict(_forecast.FORECAST_THRESHOLDS),
    }
    notes = [f"column {c!r} left out: not numeric" for c in left_out]
    if fill["filled"]:
        notes.append(
            f"{fill['missing_steps']} missing {freq['frequency']} steps filled by linear "
            f"interpolation (longest gap {fill['longest_gap']})"
        )
    return _Decision(
        "sequential",
        "forecast",
        "dated_series",
        (int(choice["window"]), len(columns)),
        0.95 if fill["missing_timestamps"] == 0 else 0.85,
        f"column {time_col!r} holds {freq['frequency']} timestamps and {target!r} is "
        f"numeric: forecast {choice['horizon']} steps from windows of {choice['window']}",
        list(columns),
        dropped=left_out,
        notes=notes,
        time_column=time_col,
    )


def _varies_within(frame: pd.DataFrame, id_col: str, target: str) -> bool:
    """Whether the target takes more than one value within some series id."""
    per_id = frame[[id_col, target]].dropna().groupby(id_col, sort=False)[target].nunique()
    return bool((per_id > 1).any())


def _panel_forecast(
    frame: pd.DataFrame,
    id_col: str | None,
    time_col: str | None,
    options: _SequenceOptions,
    evidence: dict[str, Any],
) -> _Decision | None:
    """Several dated series in long format → ``forecast`` with an id column, else None.

    Rule: a numeric target, a column of dates whose times repeat (no column of distinct
    times: that is one series) or ``--time-col``, and a series id column (``--id-col`` or
    :func:`_forecast.find_series_id`) within which the target varies.
    """
    target = options.target
    if not pd.api.types.is_numeric_dtype(frame[target]):
        return None
    one_series = id_col is None and time_col is None
    if one_series and _forecast.find_time_column(frame, exclude=target)[0] is not None:
        return None  # a column of distinct times: the single-series path decides
    exclude = tuple(c for c in (target, id_col) if c)
    found_time = _forecast.find_repeated_time_column(frame, exclude, time_col)
    if found_time is None:
        if id_col is not None and options.want == "forecast":
            raise UsageError(
                f"--layout forecast with --id-col {id_col!r} needs a column of dates; the "
                "data has none (name it with --time-col)."
            )
        return None
    series_id, id_ev = _forecast.find_series_id(frame, found_time, (target,), id_col)
    evidence["series_ids"] = id_ev
    if series_id is None or not _varies_within(frame, series_id, target):
        return None
    id_rule = (
        "given with --id-col"
        if id_col is not None
        else "the coarsest text or whole-number column whose (id, time) pairs are unique, "
        f"with more than one series and at least {_forecast.MIN_STEPS_PER_SERIES} rows per "
        f"series on average; the time column {found_time!r} repeats across series"
    )
    return _panel_forecast_decision(frame, found_time, series_id, id_rule, options, evidence)


def _median_series(series: list[_forecast.SeriesGrid]) -> _forecast.SeriesGrid:
    """The series of median length (the shorter of the two middle ones), first on ties."""
    order = sorted(range(len(series)), key=lambda i: (len(series[i].values), i))
    return series[order[(len(order) - 1) // 2]]


def _panel_forecast_decision(
    frame: pd.DataFrame,
    time_col: str,
    id_col: str,
    id_rule: str,
    options: _SequenceOptions,
    evidence: dict[str, Any],
) -> _Decision:
    target = options.target
    used = (target, time_col, id_col)
    covariates = [str(c) for c in options.numeric if str(c) not in used]
    left_out = [str(c) for c in frame.columns if str(c) not in (*used, *covariates)]
    times = _forecast.parse_times(frame[time_col])
    freq = _forecast.detect_frequency(times)
    columns = (target, *covariates)
    values = _forecast.numeric_values(frame, columns)
    series = _forecast.regularise_panel(frame[id_col], times, values, freq["frequency"])
    typical = _median_series(series)
    choice = _forecast.choose_window_horizon(
        typical.values[:, 0], freq["group"], horizon=options.horizon, window=options.window
    )
    w, h = int(choice["window"]), int(choice["horizon"])
    kept = [s for s in series if _forecast.splits_into_windows(len(s.values), w, h)]
    short = [_forecast.series_label(s.series_id) for s in series if s not in kept]
    if not kept:
        raise DataError(
            f"Every series of {id_col!r} is too short for window {w} and horizon {h}; give "
            "longer series or smaller --window/--horizon."
        )
    fill = _forecast.panel_fill(kept)
    evidence["forecast"] = {
        "time_column": time_col,
        "id_column": id_col,
        "id_rule": id_rule,
        "n_series": len(series),
        "series_kept": len(kept),
        "series_dropped": short,
        "series_rule": (
            "every series regularised on the common frequency and gap-filled separately; a "
            "series that leaves fewer than "
            f"{_forecast.MIN_TRAIN_WINDOWS} training windows (or no validation or test "
            "window) is left out; window and horizon chosen on the series of median length "
            f"({_forecast.series_label(typical.series_id)!r}, {len(typical.values)} steps)"
        ),
        **freq,
        **fill,
        "fill_policy": (
            f"missing steps of each series filled by linear interpolation in time when at "
            f"most {_forecast.MAX_FILL_FRACTION:.0%} are missing and no gap exceeds "
            f"{_forecast.MAX_FILL_RUN} steps; otherwise refused"
        ),
        "start": str(min(s.grid[0] for s in kept)),
        "end": str(max(s.grid[-1] for s in kept)),
        "covariates": covariates,
        **choice,
        "selection_metric": (
            "rmse (MASE is MAE over a constant, so it ranks like MAE; RMSE is what the MSE "
            "loss trains and what the paired bootstrap of squared errors compares)"
        ),
        "mase_scale_rule": (
            "in-sample seasonal naive absolute errors of every series' training steps, pooled "
            "(differences within a series only) and averaged"
        ),
        "thresholds": dict(_forecast.FORECAST_THRESHOLDS),
    }
    notes = [f"column {c!r} left out: not numeric" for c in left_out]
    if short:
        notes.append(
            f"{len(short)} of {len(series)} series left out, too short for window {w} and "
            f"horizon {h} with train/validation/test periods: {', '.join(short[:5])}"
            + (" …" if len(short) > 5 else "")
        )
    if fill["filled"]:
        notes.append(
            f"{fill['missing_steps']} missing {freq['frequency']} steps filled by linear "
            f"interpolation within their series (longest gap {fill['longest_gap']})"
        )
    return _Decision(
        "sequential",
        "forecast",
        "dated_long",
        (w, len(columns)),
        0.95 if fill["missing_timestamps"] == 0 else 0.85,
        f"{len(kept)} series named by {id_col!r} with {freq['frequency']} timestamps in "
        f"{time_col!r} and numeric {target!r}: one global model forecasts {h} steps from "
        f"windows of {w}",
        list(columns),
        dropped=left_out,
        notes=notes,
        id_column=id_col,
        time_column=time_col,
    )


# --- tabular -------------------------------------------------------------------------------


def _id_like(features: pd.DataFrame, col: str) -> bool:
    s = features[col]
    n = len(s)
    if pd.api.types.is_numeric_dtype(s):  # cheapest test first: wide tables have many columns
        return bool(n > 2 and s.is_monotonic_increasing and s.is_unique and _is_integer_valued(s))
    values = s.dropna().astype("string")
    return bool(
        n > 2
        and values.nunique() == n
        and values.str.len().mean() < TEXT_MIN_MEAN_CHARS
        and not values.str.contains(" ").any()
    )


def _decide_table(
    features: pd.DataFrame, numeric: list[str], other: list[str], decision: str, confidence: float
) -> _Decision:
    dec = _Decision("tabular", "table", "table", (0,), confidence, decision, [])
    for col in other:
        n_values = features[col].nunique(dropna=True)
        if n_values <= MAX_CATEGORIES:
            dec.categorical.append(col)
        else:
            dec.dropped.append(col)
            dec.notes.append(
                f"column {col!r} dropped: text with {n_values} distinct values "
                f"(more than {MAX_CATEGORIES} categories)"
            )
    for col in numeric:
        if features[col].nunique(dropna=True) <= 1:
            dec.dropped.append(col)
            dec.notes.append(f"column {col!r} dropped: constant")
    kept = [c for c in numeric if c not in dec.dropped]
    dec.feature_columns = kept + dec.categorical
    width = len(kept) + sum(int(features[c].nunique(dropna=True)) for c in dec.categorical)
    if width == 0:
        raise DataError(
            "Every feature column was dropped (constant or identifier); "
            "add informative feature columns."
        )
    dec.input_shape = (width,)
    return dec


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
    """Missing or non-finite values per numeric column, one column at a time (numpy integer
    columns hold neither, so wide pixel tables cost nothing and copy nothing)."""
    counts = np.zeros(len(columns), dtype=np.int64)
    for j, col in enumerate(columns):
        s = features[col]
        if isinstance(s.dtype, np.dtype) and s.dtype.kind in "iub":
            continue
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        counts[j] = int((~np.isfinite(values)).sum())
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


def parse_shape(shape: str | tuple[int, ...], n_cols: int | None) -> tuple[int, int, int]:
    """``HxW`` or ``HxWxC`` → ``(C, H, W)``; checked against the pixel count when given.

    Example:
        >>> parse_shape("28x28x1", 784)
        (1, 28, 28)
    """
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
    if n_cols is not None and h * w * c != n_cols:
        raise UsageError(
            f"--shape {shape!r} needs {h * w * c} pixel columns but the data has {n_cols} "
            "feature columns; give a shape whose product matches."
        )
    return (c, h, w)


def _forced_image(
    frame: pd.DataFrame, numeric: list[str], other: list[str], shape: str | None, seed: int,
    evidence: dict[str, Any],
) -> _Decision:  # fmt: skip
    if other:
        raise DataError(
            f"Image pixels must be numeric, but column {other[0]!r} is not; "
            "remove non-pixel columns or fix their values."
        )
    detected = _decide_wide(frame, numeric, seed, evidence) if len(numeric) > 1 else None
    if shape is not None:
        c, h, w = parse_shape(shape, len(numeric))
    elif detected is not None and detected.layout == "image":
        c, h, w = detected.input_shape
    else:
        sides = _image_sides(len(numeric))
        if not sides:
            raise UsageError(
                f"{len(numeric)} pixel columns do not factorise into an image; "
                "give the shape with --shape HxWxC."
            )
        c, (h, w) = 1, sides[0]
    columns = list(numeric)
    if detected is not None and detected.input_shape == (c, h, w):
        columns = detected.feature_columns  # channel order as detected
    elif c == N_COLOUR_CHANNELS:
        named = _colour_name_order(numeric)
        planar = (named is not None and named[0] == "planar") or evidence.get(
            "channel_order"
        ) == "planar"
        if named is not None:
            columns = [ch[p] for p in range(h * w) for ch in named[1]]
        elif planar:
            columns = [numeric[k * h * w + p] for p in range(h * w) for k in range(c)]
    return _Decision(
        "spatial", "image", "wide_pixels", (c, h, w), 1.0, "image layout given by the user",
        columns,
    )  # fmt: skip


def _forced_series(
    frame: pd.DataFrame, numeric: list[str], other: list[str], seed: int,
    evidence: dict[str, Any],
) -> _Decision:  # fmt: skip
    if other:
        raise DataError(
            f"A wide sequence needs numeric columns, but {other[0]!r} is not; "
            "remove it or fix its values."
        )
    groups = _prefix_groups(numeric)
    if groups is not None:
        t, c = len(groups[0][1]), len(groups)
        return _Decision(
            "sequential", "series", "wide_groups", (t, c), 1.0,
            f"sequential layout given by the user: {c} series of {t} steps",
            [col for _, g in groups for col in g],
        )  # fmt: skip
    return _Decision(
        "sequential", "series", "wide_series", (len(numeric), 1), 1.0,
        "sequential layout given by the user", list(numeric),
    )  # fmt: skip


def _long_label(
    frame: pd.DataFrame,
    target_col: str,
    target_rule: str,
    seed: int,
    *,
    layout: str | None,
    modality: str | None,
    shape: Any,
    given: tuple[str, ...],
) -> tuple[str, str]:
    """The target when none is named: the last column, unless the table reads as long format
    only with a class-code column (constant within every id) as the label."""
    if given or shape is not None or layout not in (None, "series_padded"):
        return target_col, target_rule
    if modality not in (None, "sequential"):
        return target_col, target_rule
    try:
        if _longformat.find_long(frame, target_col, None, None, False, {}, seed) is not None:
            return target_col, target_rule
    except DataError:
        return target_col, target_rule  # the long-format decision reports it
    label = _longformat.class_code_label(frame, target_col, seed)
    if label is None:
        return target_col, target_rule
    return label, (
        f"column {label!r}: constant within every sequence of a long-format table (a class "
        f"code), while the last column {target_col!r} varies within them"
    )


def profile_table(
    table: Table,
    *,
    target: str | None = None,
    task: str | None = None,
    modality: str | None = None,
    shape: str | tuple[int, ...] | None = None,
    layout: str | None = None,
    id_col: str | None = None,
    time_col: str | None = None,
    seed: int = 0,
    tokenizer: str | None = None,
    horizon: int | None = None,
    window: int | None = None,
) -> Profile:
    """Decide modality, layout, task and target of a loaded table, with evidence.

    Args:
        table: The loaded data.
        target: Target column; detected when omitted.
        task: ``classification`` or ``regression``; detected when omitted.
        modality: Force ``spatial``, ``sequential`` or ``tabular``.
        shape: Image shape ``HxW`` or ``HxWxC`` (implies spatial).
        layout: Force a layout (``image``, ``series``, ``series_padded``, ``table``).
        id_col: Long format: the column naming each sequence (implies ``series_padded``).
        time_col: Long format: the column ordering the steps within a sequence.
        seed: Seed for the row and column-pair samples.
        tokenizer: ``word`` or ``char`` for a text column (chosen from the texts when omitted).
        horizon: Forecast horizon in time steps (chosen from the frequency when omitted).
        window: Forecast input window in time steps (chosen when omitted).

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
    if layout is not None and layout not in LAYOUTS:
        raise UsageError(f"Unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}.")
    if layout is not None and modality is not None and LAYOUT_MODALITY[layout] != modality:
        raise UsageError(
            f"--layout {layout} is {LAYOUT_MODALITY[layout]}, not {modality}; "
            "drop one of --layout and --modality."
        )
    if (id_col or time_col) and layout not in (None, "series_padded", "forecast"):
        raise UsageError(
            f"--id-col/--time-col describe long format (layout series_padded or forecast), "
            f"not {layout}; drop one of them."
        )
    if shape is not None and layout not in (None, "image"):
        raise UsageError(f"--shape describes an image, not layout {layout}; drop one of them.")
    frame = table.frame
    for col, option in ((id_col, "--id-col"), (time_col, "--time-col")):
        if col is not None:
            _check_column(frame, col, option)
    exclude = tuple(c for c in (id_col, time_col) if c)
    target_col, target_rule = _choose_target(frame, target, exclude)
    if target_col in exclude:
        raise UsageError(
            f"Column {target_col!r} cannot be both the target and the id/time column; "
            "choose another --target."
        )
    if target is None and target_rule.startswith("last column"):
        target_col, target_rule = _long_label(
            frame, target_col, target_rule, seed,
            layout=layout, modality=modality, shape=shape, given=exclude,
        )  # fmt: skip
    y = frame[target_col]
    n_missing = int(y.isna().sum())
    notes: list[str] = list(table.facts.notes)
    if n_missing == len(y):
        raise DataError(f"Target column {target_col!r} is empty in every row; choose another.")
    if len(y) - n_missing < 2:
        raise DataError(
            f"The data has {len(y) - n_missing} row with a target; archselect needs at least "
            f"{MIN_ROWS} (better a few dozen) to split into training, validation and test rows."
        )
    if len(frame.columns) < 2:
        raise DataError("The data has no feature columns besides the target; add features.")

    features = frame.drop(columns=[target_col])
    if n_missing:
        features = features[frame[target_col].notna()]
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    other = [c for c in features.columns if c not in numeric]
    _check_numeric_text(features, other)
    evidence: dict[str, Any] = {
        "thresholds": dict(THRESHOLDS),
        "target_rule": target_rule,
        "n_numeric": len(numeric),
        "n_non_numeric": len(other),
        "names": _name_evidence([str(c) for c in features.columns]),
    }
    want = layout or (
        "image" if shape is not None else {"spatial": "image", "tabular": "table"}.get(
            modality or ""
        )
    )  # fmt: skip
    result: _Decision | None = None
    if want in (None, "forecast") and task != "classification" and modality != "spatial":
        options = _SequenceOptions(
            str(target_col), task, want, tuple(map(str, numeric)), tokenizer, horizon, window
        )
        result = _panel_forecast(frame, id_col, time_col, options, evidence)
    if result is None and want in (None, "series_padded"):
        forced = bool(id_col or time_col or want == "series_padded")
        result = _detect_long(frame, target_col, id_col, time_col, forced, evidence, seed)
    dropped_ids: list[str] = []
    if result is None:
        # identifiers (unique increasing integers, unique short codes) never feed a model
        paths = _image_path_columns(features, other)
        for col in list(features.columns):
            if col not in paths and _id_like(features, col):
                dropped_ids.append(col)
                notes.append(f"column {col!r} dropped: a row identifier (unique values)")
        numeric = [c for c in numeric if c not in dropped_ids]
        other = [c for c in other if c not in dropped_ids]
        dated = _forecast.find_time_column(frame, exclude=str(target_col))[0] is not None
        if not numeric and not other and not dated:  # a lone time column may be a forecast
            raise DataError(
                "Every feature column is a row identifier; add informative feature columns."
            )
    if result is None and want in (None, "text", "forecast") and modality != "spatial":
        options = _SequenceOptions(
            str(target_col), task, want, tuple(map(str, numeric)), tokenizer, horizon, window
        )
        result = _special_layouts(frame, features, other, evidence, options)
        if result is None and want == "text":
            raise UsageError("--layout text needs a free-text column, and the data has none.")
        if result is None and want == "forecast":
            raise UsageError(
                "--layout forecast needs a date/time column and a numeric target; the data "
                "has no column of dates."
            )
    if result is not None and result.layout == "forecast":
        # the time column is not an identifier here, and gaps in the target are filled
        notes = [n for n in notes if not n.startswith(f"column {result.time_column!r}")]
        dropped_ids = [c for c in dropped_ids if c != result.time_column]
        task = task or "regression"
        n_missing = 0
    if result is None and want in (None, "image"):
        paths = _image_path_columns(features, other)
        if paths:
            result = _detect_image_paths(
                frame, paths, shape if isinstance(shape, str) or shape is None else None,
                evidence,
            )  # fmt: skip
            extra = [c for c in numeric + other if c != paths[0]]
            result.dropped += extra
            result.notes += [f"column {c!r} dropped: not used with image files" for c in extra]
    if result is None and want == "image":
        shape_text = "x".join(map(str, shape)) if isinstance(shape, tuple) else shape
        result = _forced_image(features, numeric, other, shape_text, seed, evidence)
    if result is None and want == "series":
        result = _forced_series(features, numeric, other, seed, evidence)
    if result is None and want != "table" and not other:
        named = evidence["names"].get("ordered", False) and (
            evidence["names"].get("numbered") or evidence["names"].get("dated")
        )
        if len(numeric) >= (MIN_NAMED_SERIES_COLUMNS if named else MIN_WIDE_COLUMNS):
            result = _decide_wide(features, numeric, seed, evidence)
            if modality == "sequential" and result.modality != "sequential":
                result = _forced_series(features, numeric, other, seed, evidence)
    if result is None and modality == "sequential":
        result = _forced_series(features, numeric, other, seed, evidence)
    ambiguity = evidence.get("long", {}).get("ambiguity")
    if ambiguity and (result is None or result.modality == "tabular") and want is None:
        notes.append(ambiguity)
    if result is None or result.modality == "tabular":
        if result is not None:
            reason, conf = result.decision, result.confidence
        elif want == "table":
            reason, conf = "tabular layout given by the user", 1.0
        else:
            reason = (
                "too few numeric columns for an image or a sequence"
                if not other
                else "mixed numeric and non-numeric columns"
            )
            conf = 0.9 if len(numeric) < MIN_WIDE_COLUMNS else 1.0
        result = _decide_table(features, numeric, other, reason, conf)
        if ambiguity and evidence["long"].get("ambiguous") and want is None:
            result.confidence = min(result.confidence, _longformat.LONG_AMBIGUOUS_CONFIDENCE)

    # target rows (samples): one per row, or one per id in long format
    if result.form == "long":
        assert result.id_column is not None
        y = (
            frame[[result.id_column, target_col]]
            .dropna()
            .drop_duplicates(result.id_column)[target_col]
        )
        n_missing_ids = int(frame[result.id_column].nunique()) - len(y)
        if n_missing_ids:
            notes.append(f"{n_missing_ids} ids without a target are left out")
    elif n_missing:
        notes.append(f"{n_missing} rows without a target are left out")
        y = y.dropna()
    if len(y) < 2:
        raise DataError(
            f"The data has {len(y)} sample with a target; archselect needs at least "
            f"{MIN_ROWS} (better a few dozen) to split into training, validation and test."
        )
    task_name, task_rule = _choose_task(y, task)
    evidence["task_rule"] = task_rule
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
    used = set(result.feature_columns)
    _check_missing(features, [c for c in numeric if str(c) in used], len(features), notes)
    return Profile(
        modality=result.modality,
        layout=result.layout,
        task=task_name,
        target=str(target_col),
        target_rule=target_rule,
        feature_columns=tuple(str(c) for c in result.feature_columns),
        categorical_columns=tuple(str(c) for c in result.categorical),
        input_shape=tuple(int(d) for d in result.input_shape),
        classes=classes,
        n_rows=len(y),
        confidence=round(float(result.confidence), 3),
        decision=result.decision,
        evidence=evidence,
        notes=tuple(notes + result.notes),
        dropped_columns=tuple(str(c) for c in dropped_ids + result.dropped),
        source=table.facts,
        form=result.form,
        id_column=result.id_column,
        time_column=result.time_column,
    )


def profile_frame(frame: pd.DataFrame, **options: Any) -> Profile:
    """Profile a DataFrame in memory; ``options`` as for :func:`profile_table`.

    Example:
        >>> import pandas as pd
        >>> profile_frame(pd.DataFrame({"a": [1.0, 2.5, 3.1, 4.2], "y": [0, 1, 0, 1]})).task
        'classification'
    """
    return profile_table(load_table(frame), **options)
