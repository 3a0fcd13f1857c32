"""The long-format layout (``series_padded``): one sequence per id, padded with a mask
channel. The structural search for the id and step columns lives in :mod:`._long_find`,
re-exported here as the layout's API."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from archselect.core.kinds import LAYOUT_TRAITS, Form, LayoutName, Modality
from archselect.core.specs import LongSpec
from archselect.errors import DataError
from archselect.layouts import _long_find as _longformat
from archselect.layouts._base import (
    Decision,
    DetectContext,
    Detector,
    LayoutPlugin,
    OnnxInput,
    series_baselines,
)
from archselect.layouts._long_find import (
    ID_NAMES,
    LONG_AMBIGUOUS_CONFIDENCE,
    LONG_THRESHOLDS,
    TIME_NAMES,
    LongReading,
    class_code_label,
    find_long,
    looks_like_id_name,
    order_values,
)
from archselect.layouts._prepare_rows import no_check
from archselect.layouts._preprocessing import Preprocessing

__all__ = [
    "ID_NAMES",
    "LAYOUT",
    "LONG_AMBIGUOUS_CONFIDENCE",
    "LONG_THRESHOLDS",
    "TIME_NAMES",
    "LongReading",
    "class_code_label",
    "find_long",
    "looks_like_id_name",
    "order_values",
    "unnamed_label",
]


def unnamed_label(
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
    """The target (and its rule) when none is named: the last column, unless the table reads
    as long format only with a class-code column (constant within every id) as the label."""
    if given or shape is not None or layout not in (None, LayoutName.SERIES_PADDED):
        return target_col, target_rule
    if modality not in (None, Modality.SEQUENTIAL):
        return target_col, target_rule
    try:
        if find_long(frame, target_col, None, None, False, {}, seed) is not None:
            return target_col, target_rule
    except DataError:
        return target_col, target_rule  # the long-format decision reports it
    label = class_code_label(frame, target_col, seed)
    if label is None:
        return target_col, target_rule
    return label, (
        f"column {label!r}: constant within every sequence of a long-format table (a class "
        f"code), while the last column {target_col!r} varies within them"
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
) -> Decision | None:
    """Long format: id column + order/time column + value columns, one label per id.

    The id and step columns are found from structure (:mod:`archselect.layouts._long_find`).
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
    return Decision(
        Modality.SEQUENTIAL,
        LayoutName.SERIES_PADDED,
        Form.LONG,
        (t_max, len(values) + 1),
        reading.confidence,
        f"long format ({reading.how}): {n_ids} sequences named by {id_col!r}, ordered by "
        f"{time_col or 'file order'!r}, {len(values)} value column(s), one label per id",
        values,
        dropped=dropped,
        notes=reading.notes + notes,
        id_column=id_col,
        time_column=time_col,
        spec=LongSpec(
            id_column=id_col, time_column=time_col, max_steps=t_max, value_columns=tuple(values)
        ),
    )


def _detect(ctx: DetectContext) -> Decision | None:
    """``long``: long format, found from structure or forced by ``--id-col``/``--time-col``."""
    if ctx.want not in (None, LayoutName.SERIES_PADDED):
        return None
    forced = bool(ctx.id_col or ctx.time_col or ctx.want == LayoutName.SERIES_PADDED)
    return _detect_long(
        ctx.frame, ctx.target, ctx.id_col, ctx.time_col, forced, ctx.evidence, ctx.seed
    )


# --- preparation ---------------------------------------------------------------------------


def _transform(pre: Preprocessing, frame: pd.DataFrame) -> np.ndarray:
    """Long rows → (N, T, C+1): per-id sequences, post-padded with zeros, mask last.

    Convention (layout ``series_padded``): one sample is T steps of C standardised
    values followed by a 0/1 channel, 1 on real steps and 0 on padding; real steps come
    first. Sequences longer than T keep their first T steps. Recurrent models pack the
    real steps by the mask; cnn1d and mlp read the mask as one more channel.
    """
    ids, steps, x = _long_arrays(pre, frame)
    t_max, width = pre.input_shape
    n = int(ids.max()) + 1 if len(ids) else 0
    out = np.zeros((n, t_max, width), dtype=np.float32)
    keep = steps < t_max
    if len(pre.mean):
        x = (x - np.asarray(pre.mean)) / np.asarray(pre.std)
    x = np.where(np.isfinite(x), x, 0.0)  # missing values: the (standardised) mean
    out[ids[keep], steps[keep], :-1] = x[keep]
    out[ids[keep], steps[keep], -1] = 1.0
    return out


def _long_arrays(
    pre: Preprocessing, frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Long rows → (sample index per row, step within its sample, raw values (rows, C)).

    Samples are numbered by first appearance of their id; steps follow the time column
    (file order when there is none, or for ties).
    """
    assert pre.id_column is not None
    for col in (pre.id_column, pre.time_column):
        if col is not None and col not in frame.columns:
            raise DataError(
                f"The data lacks the column {col!r} that long format needs; pass rows with "
                "the id, time and value columns of training."
            )
    codes, _ = pd.factorize(frame[pre.id_column], sort=False)
    if pre.time_column is not None:
        order = order_values(frame[pre.time_column])
        rank = pd.Series(order.to_numpy()).rank(method="first").to_numpy()
        idx = np.lexsort((np.arange(len(frame)), rank, codes))
    else:
        idx = np.lexsort((np.arange(len(frame)), codes))
    sorted_codes = codes[idx]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    counts = np.diff(np.r_[starts, len(idx)])
    steps_sorted = np.arange(len(idx)) - np.repeat(starts, counts)
    steps = np.empty(len(idx), dtype=np.int64)
    steps[idx] = steps_sorted
    x = pre.raw_matrix(frame)
    return codes, steps, x


#: The long-format layout: fitted like a table (one scale per value column, over all steps),
#: one sample per id (``grouped``), its cells checked as they are read.
LAYOUT = LayoutPlugin(
    name=LayoutName.SERIES_PADDED,
    modality=Modality.SEQUENTIAL,
    forms=(Form.LONG,),
    spec_type=LongSpec,
    detectors=(Detector("long", _detect, reads="frame"),),
    traits=LAYOUT_TRAITS[LayoutName.SERIES_PADDED],
    baselines=series_baselines,  # MiniRocket reads the value channels, padded (baselines.py)
    options=("--id-col", "--time-col"),
    onnx_inputs={Form.LONG: OnnxInput.PADDED},
    masked=True,
    transform=_transform,
    check_rows=no_check,
    grouped=True,
)
