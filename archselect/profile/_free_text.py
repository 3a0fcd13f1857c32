"""Free text, and the dispatch point of the special layouts (text, forecast)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from archselect import _forecast, _text
from archselect.profile._constants import (
    SAMPLE_ROWS,
    TEXT_MIN_DISTINCT_FRACTION,
    TEXT_MIN_MEAN_CHARS,
    TEXT_MIN_MEAN_WORDS,
    TEXT_MIN_NON_ASCII,
    _Decision,
    _SequenceOptions,
)
from archselect.profile._forecasting import _forecast_decision


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
