"""The table layout (none of the others) and the value checks every layout shares."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from archselect.core.kinds import LAYOUT_TRAITS, Form, LayoutName, Modality
from archselect.core.specs import TableSpec
from archselect.errors import DataError
from archselect.layouts._base import (
    Decision,
    DetectContext,
    Detector,
    LayoutPlugin,
    OnnxInput,
    feature_baselines,
)
from archselect.layouts._base import is_integer_valued as _is_integer_valued
from archselect.layouts._long_find import LONG_AMBIGUOUS_CONFIDENCE
from archselect.layouts.constants import (
    MAX_CATEGORIES,
    MAX_MISSING_FRACTION,
    MIN_WIDE_COLUMNS,
    NUMERIC_TEXT_FRACTION,
    TEXT_MIN_MEAN_CHARS,
)

#: Confidence of a table with fewer numeric columns than a wide image or series needs.
TABLE_FEW_COLUMNS_CONFIDENCE = 0.9

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
) -> Decision:
    dec = Decision(Modality.TABULAR, LayoutName.TABLE, Form.TABLE, (0,), confidence, decision, [])
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


def _detect(ctx: DetectContext) -> Decision:
    """``table``: the last step; it always decides (keeping a detector's tabular reading)."""
    hint = ctx.table_hint
    if hint is not None:
        reason, conf = hint.decision, hint.confidence
    elif ctx.want == LayoutName.TABLE:
        reason, conf = "tabular layout given by the user", 1.0
    else:
        reason = (
            "too few numeric columns for an image or a sequence"
            if not ctx.other
            else "mixed numeric and non-numeric columns"
        )
        conf = TABLE_FEW_COLUMNS_CONFIDENCE if len(ctx.numeric) < MIN_WIDE_COLUMNS else 1.0
    result = _decide_table(ctx.features, ctx.numeric, ctx.other, reason, conf)
    long_ev = ctx.evidence.get("long", {})
    if long_ev.get("ambiguity") and long_ev.get("ambiguous") and ctx.want is None:
        result.confidence = min(result.confidence, LONG_AMBIGUOUS_CONFIDENCE)
        ctx.notes.append(long_ev["ambiguity"])  # long format was close: say why a table
    return result


def _spec(decision: Decision) -> TableSpec:
    return TableSpec(categorical_columns=tuple(map(str, decision.categorical)))


#: The table layout: the fallback, always last in the declared order.
LAYOUT = LayoutPlugin(
    name=LayoutName.TABLE,
    modality=Modality.TABULAR,
    forms=(Form.TABLE,),
    spec_type=TableSpec,
    detectors=(Detector("table", _detect),),
    spec_from=_spec,
    traits=LAYOUT_TRAITS[LayoutName.TABLE],
    baselines=feature_baselines,
    onnx_inputs={Form.TABLE: OnnxInput.COLUMNS},
)


# --- value checks ---------------------------------------------------------------------------


def _row_number(index_label: Any, position: int) -> int:
    """1-based data row (the header is not counted) of a cell."""
    if isinstance(index_label, (int, np.integer)):
        return int(index_label) + 1
    return position + 1


def check_numeric_text(features: pd.DataFrame, columns: list[Any]) -> None:
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


def check_missing(
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
