"""Text helpers: the free-text measure, tokenisation, a frequency-capped vocabulary.

In-house and dependency-free: a word tokenizer (lower-cased runs of letters/digits, and
punctuation marks as their own tokens) and a character tokenizer (every non-space
character), which also serves languages written without spaces. Token ids: 0 is padding,
1 an out-of-vocabulary token; sequences are truncated to their first ``max_length``
tokens and padded at the *front*, so the last step of a recurrent net is the last token.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from archselect._common.serde import JsonRecord
from archselect.errors import UsageError
from archselect.layouts.constants import (
    SAMPLE_ROWS,
    TEXT_MIN_DISTINCT_FRACTION,
    TEXT_MIN_MEAN_CHARS,
    TEXT_MIN_MEAN_WORDS,
    TEXT_MIN_NON_ASCII,
)

__all__ = [
    "TOKENIZERS",
    "TextEncoding",
    "choose_tokenizer",
    "fit_text_encoding",
    "free_text_evidence",
    "length_histogram",
    "tokenize",
]

TOKENIZERS = ("word", "char")
PAD, OOV = 0, 1
#: Character tokenizer when fewer than this fraction of texts contain a space.
CHAR_IF_SPACED_BELOW = 0.5
#: Sequence length: this percentile of the training lengths, between the bounds.
LENGTH_PERCENTILE = 95
MIN_LENGTH = 8
MAX_LENGTH = 256
#: Vocabulary: tokens seen at least MIN_COUNT times in training, the most frequent first,
#: at most MAX_VOCAB (ids 0 and 1 are padding and out-of-vocabulary).
MAX_VOCAB = 20000
MIN_COUNT = 2
#: Bins of the token-length histogram shown in the report.
HISTOGRAM_BINS = 30

TEXT_THRESHOLDS: dict[str, float] = {
    "text_min_mean_words": TEXT_MIN_MEAN_WORDS,
    "text_min_non_ascii": TEXT_MIN_NON_ASCII,
    "text_min_mean_chars": TEXT_MIN_MEAN_CHARS,
    "text_min_distinct_fraction": TEXT_MIN_DISTINCT_FRACTION,
    "char_if_spaced_below": CHAR_IF_SPACED_BELOW,
    "length_percentile": LENGTH_PERCENTILE,
    "min_length": MIN_LENGTH,
    "max_length": MAX_LENGTH,
    "max_vocab": MAX_VOCAB,
    "min_count": MIN_COUNT,
}

_WORD = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokenize(text: str, tokenizer: str) -> list[str]:
    """Split one text into tokens (``word``: lower-cased words and marks; ``char``: chars).

    Example:
        >>> tokenize("Not bad, really!", "word")
        ['not', 'bad', ',', 'really', '!']
        >>> tokenize("很好 看", "char")
        ['很', '好', '看']
    """
    if tokenizer == "word":
        return _WORD.findall(text.lower())
    if tokenizer == "char":
        return [c for c in text if not c.isspace()]
    raise UsageError(f"Unknown tokenizer {tokenizer!r}; choose one of {', '.join(TOKENIZERS)}.")


def _texts(values: Iterable[Any]) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]


def free_text_evidence(values: pd.Series) -> dict[str, Any]:
    """The numbers that tell a free-text column from names, codes and identifiers, and the
    one rule that decides (``is_text``).

    Free text: mostly distinct values (``TEXT_MIN_DISTINCT_FRACTION`` of the first
    ``SAMPLE_ROWS``) of several words on average (``TEXT_MIN_MEAN_WORDS``) or, in scripts
    written without spaces, long (``TEXT_MIN_MEAN_CHARS``) runs of mostly non-ASCII
    characters (``TEXT_MIN_NON_ASCII``). The medians and the share of texts with a space
    choose the tokenizer and are shown in the report.

    Example:
        >>> free_text_evidence(pd.Series([f"user_{i:06d}" for i in range(50)]))["is_text"]
        False
    """
    sample = values.dropna().astype("string").head(SAMPLE_ROWS)
    if not len(sample):
        return {"is_text": False}
    distinct = sample.nunique() / len(sample)
    words = sample.str.count(r"\S+")
    chars = sample.str.len()
    non_ascii = sample.str.count(r"[^\x00-\x7f]").sum() / max(1, int(chars.sum()))
    wordy = words.mean() >= TEXT_MIN_MEAN_WORDS or (
        non_ascii >= TEXT_MIN_NON_ASCII and chars.mean() >= TEXT_MIN_MEAN_CHARS
    )
    return {
        "mean_words": round(float(words.mean()), 3),
        "median_words": float(words.median()),
        "mean_chars": round(float(chars.mean()), 3),
        "median_chars": float(chars.median()),
        "non_ascii_share": round(float(non_ascii), 3),
        "distinct_fraction": round(float(distinct), 3),
        "spaced_fraction": round(float(np.mean([" " in str(s).strip() for s in sample])), 3),
        "is_text": bool(wordy and distinct >= TEXT_MIN_DISTINCT_FRACTION),
    }


def choose_tokenizer(evidence: dict[str, Any], given: str | None = None) -> tuple[str, str]:
    """``(tokenizer, reason)``: the user's choice, else char when most texts lack spaces."""
    if given is not None:
        if given not in TOKENIZERS:
            raise UsageError(
                f"Unknown tokenizer {given!r}; choose one of {', '.join(TOKENIZERS)}."
            )
        return given, "given with --tokenizer"
    spaced = float(evidence.get("spaced_fraction", 1.0))
    if spaced < CHAR_IF_SPACED_BELOW:
        return "char", (
            f"{spaced:.0%} of texts contain a space (< {CHAR_IF_SPACED_BELOW:.0%}): "
            "a language written without spaces, so characters are the tokens"
        )
    return "word", f"{spaced:.0%} of texts contain a space: words are the tokens"


def token_lengths(values: Sequence[Any], tokenizer: str) -> np.ndarray:
    return np.array([len(tokenize(s, tokenizer)) for s in _texts(values)], dtype=np.int64)


def choose_length(lengths: np.ndarray) -> int:
    """The LENGTH_PERCENTILE-th percentile of token lengths, within [MIN_LENGTH, MAX_LENGTH]."""
    if not len(lengths):
        return MIN_LENGTH
    return int(np.clip(np.ceil(np.percentile(lengths, LENGTH_PERCENTILE)), MIN_LENGTH, MAX_LENGTH))


def length_histogram(lengths: np.ndarray) -> dict[str, list[float]]:
    """Histogram of token counts per text (``edges`` has one more entry than ``counts``)."""
    if not len(lengths):
        return {"edges": [], "counts": []}
    top = max(1, int(lengths.max()))
    counts, edges = np.histogram(lengths, bins=min(HISTOGRAM_BINS, top), range=(0, top))
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


@dataclass(frozen=True)
class TextEncoding(JsonRecord):
    """A fitted text encoder: the column, the tokenizer, the length and the vocabulary.

    ``vocabulary[i]`` is the token with id ``i + 2`` (0 pads, 1 is out of vocabulary).
    """

    column: str
    tokenizer: str
    max_length: int
    vocabulary: tuple[str, ...]

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary) + 2

    def encode(self, values: Sequence[Any]) -> np.ndarray:
        """Texts → token ids ``(N, max_length)`` int64, truncated, padded at the front.

        Example:
            >>> enc = TextEncoding("text", "word", 4, ("good", "bad"))
            >>> enc.encode(["good good film", "bad"]).tolist()
            [[0, 2, 2, 1], [0, 0, 0, 3]]
        """
        lookup = {tok: i + 2 for i, tok in enumerate(self.vocabulary)}
        out = np.full((len(values), self.max_length), PAD, dtype=np.int64)
        for row, text in enumerate(_texts(values)):
            ids = [lookup.get(t, OOV) for t in tokenize(text, self.tokenizer)[: self.max_length]]
            if ids:
                out[row, self.max_length - len(ids) :] = ids
        return out


def fit_text_encoding(
    column: str, texts: Sequence[Any], tokenizer: str, max_length: int
) -> TextEncoding:
    """Fit the vocabulary on training texts: tokens seen MIN_COUNT+ times, most frequent first.

    Example:
        >>> fit_text_encoding("t", ["a b", "a c", "b a"], "word", 4).vocabulary
        ('a', 'b')
    """
    counts: Counter[str] = Counter()
    for text in _texts(texts):
        counts.update(tokenize(text, tokenizer))
    kept = sorted((t for t, c in counts.items() if c >= MIN_COUNT), key=lambda t: (-counts[t], t))
    return TextEncoding(column, tokenizer, int(max_length), tuple(kept[:MAX_VOCAB]))
