"""The text layout: one free-text column, tokenised (the helpers in :mod:`._text_tokens`,
re-exported here as the layout's API)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from archselect.core.data import Profile
from archselect.core.kinds import LAYOUT_TRAITS, Form, LayoutName, Modality
from archselect.core.specs import TextSpec
from archselect.errors import DataError, UsageError
from archselect.layouts import _text_tokens as _text
from archselect.layouts._base import (
    Decision,
    DetectContext,
    Detector,
    LayoutPlugin,
    SequenceOptions,
)
from archselect.layouts._prepare_rows import label_type, no_check
from archselect.layouts._preprocessing import Preprocessing
from archselect.layouts._text_tokens import (
    LENGTH_PERCENTILE,
    MAX_LENGTH,
    MIN_LENGTH,
    OOV,
    PAD,
    TEXT_THRESHOLDS,
    TOKENIZERS,
    TextEncoding,
    choose_length,
    choose_tokenizer,
    fit_text_encoding,
    free_text_evidence,
    length_histogram,
    token_lengths,
    tokenize,
)

__all__ = [
    "LAYOUT",
    "LENGTH_PERCENTILE",
    "MAX_LENGTH",
    "MIN_LENGTH",
    "OOV",
    "PAD",
    "TEXT_THRESHOLDS",
    "TOKENIZERS",
    "TextEncoding",
    "choose_length",
    "choose_tokenizer",
    "fit_text_encoding",
    "free_text_evidence",
    "length_histogram",
    "token_lengths",
    "tokenize",
]


def _text_columns(features: pd.DataFrame, other: list[str]) -> list[str]:
    """Free-text columns among the non-numeric ones (:func:`free_text_evidence` decides)."""
    return [col for col in other if free_text_evidence(features[col])["is_text"]]


def _text_decision(
    frame: pd.DataFrame, col: str, options: SequenceOptions, evidence: dict[str, Any]
) -> Decision:
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
    return Decision(
        Modality.SEQUENTIAL,
        LayoutName.TEXT,
        Form.TEXT,
        (max_len,),
        0.9,
        f"column {col!r} holds free text (long, mostly distinct strings; median "
        f"{ev['median_chars']:.0f} characters): {tok} tokens, length {max_len}",
        [col],
        dropped=others,
        notes=[f"column {c!r} left out: only the text column feeds the model" for c in others],
        spec=TextSpec(column=col, tokenizer=tok, max_length=max_len),
    )


def _detect_text(ctx: DetectContext) -> Decision | None:
    """``text``: the first free-text column among the non-numeric features."""
    if ctx.want not in (None, LayoutName.TEXT) or ctx.modality == Modality.SPATIAL:
        return None
    text = _text_columns(ctx.features, ctx.other)
    if not text:
        if ctx.want == LayoutName.TEXT:
            raise UsageError("--layout text needs a free-text column, and the data has none.")
        return None
    ctx.evidence["text_columns"] = text
    return _text_decision(ctx.frame, text[0], ctx.sequence_options(), ctx.evidence)


#: The text references: TF-IDF and logistic regression, whatever the task.
TEXT_BASELINES = ("tfidf_logistic_regression",)


def _baselines(task: str) -> tuple[str, ...]:
    return TEXT_BASELINES


# --- preparation ---------------------------------------------------------------------------


def _fit_preprocessing(train: pd.DataFrame, profile: Profile) -> tuple[Preprocessing, list[str]]:
    """The vocabulary, fitted on the training texts only (its note comes with the split)."""
    spec = profile.spec
    if not isinstance(spec, TextSpec):
        raise UsageError(
            f"The profile's spec is {type(spec).__name__}, not text; profile the data again "
            "with this version of archselect."
        )
    col = spec.column
    encoding = fit_text_encoding(col, list(train[col]), spec.tokenizer, spec.max_length)
    pre = Preprocessing(
        layout=profile.layout,
        task=profile.task,
        target=profile.target,
        feature_columns=profile.feature_columns,
        input_shape=(encoding.max_length,),
        impute=(),
        classes=profile.classes,
        label_type=label_type(train[profile.target]),
        text=encoding,
    )
    return pre, []


def _transform(pre: Preprocessing, frame: pd.DataFrame) -> np.ndarray:
    """Texts → int64 token ids ``(N, T)``."""
    assert pre.text is not None
    if pre.text.column not in frame.columns:
        raise DataError(
            f"The data lacks the text column {pre.text.column!r} the model was "
            "trained on; pass rows with that column."
        )
    return pre.text.encode(list(frame[pre.text.column]))


def _split_notes(pre: Preprocessing, x_train: np.ndarray, x_val: np.ndarray) -> tuple[str, ...]:
    """The vocabulary's size and how many validation tokens it does not know."""
    assert pre.text is not None
    encoding = pre.text
    oov = float(np.mean(x_val == OOV) / max(1e-9, np.mean(x_val != PAD)))
    return (
        f"vocabulary of {encoding.vocab_size - 2} {encoding.tokenizer} tokens fitted on "
        f"{len(x_train)} training texts; {oov:.1%} of validation tokens are unknown",
    )


#: The text layout: the free-text column's tokens (no other column feeds the model).
LAYOUT = LayoutPlugin(
    name=LayoutName.TEXT,
    modality=Modality.SEQUENTIAL,
    forms=(Form.TEXT,),
    spec_type=TextSpec,
    detectors=(Detector("text", _detect_text),),
    traits=LAYOUT_TRAITS[LayoutName.TEXT],
    baselines=_baselines,
    fit_preprocessing=_fit_preprocessing,
    transform=_transform,
    check_rows=no_check,
    split_notes=_split_notes,
)
