"""The verdict's rules: its kinds, its constants (one home each) and the "clearly cheaper" test.

Every number the selection decides by and the report words by lives here: the coverage of
every interval, the shares that make a verdict stable or a coin toss, the floors under which
a cost difference is measurement noise, and the chance-level rule. The selection
(:mod:`archselect.select`) decides with them; :mod:`archselect.core.verdict` words them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from archselect._common.serde import JsonRecord
from archselect.core.records import BASELINE_NAMES

__all__ = [
    "CHANCE_MIN_GAIN",
    "CHEAPER_FRACTION",
    "CHEAPER_MIN_MS",
    "CHEAPER_MIN_S",
    "COIN_TOSS_SHARE",
    "ENSEMBLE",
    "FAIR_SHARE_MIN",
    "INTERVAL",
    "MEMORY_NOISE_MB",
    "SMALLER_FRACTION",
    "STABLE_SHARE",
    "Z95",
    "Compared",
    "Costs",
    "Finding",
    "RecommendationKind",
    "cheaper_parts",
    "direction_sign",
    "label",
    "stability_word",
]


class RecommendationKind(StrEnum):
    """What is recommended and exported: a deep ``family``'s network, a non-deep reference
    (``baseline``) or the ``ensemble`` of the best trials. A member equals its string, so
    ``recommendation.json`` files that stored plain strings compare equal."""

    FAMILY = "family"
    BASELINE = "baseline"
    ENSEMBLE = "ensemble"


class Compared(StrEnum):
    """How a family was measured: at ``full`` fidelity (its whole schedule), at ``reduced``
    fidelity (fewer epochs, rows, folds or steps, but above chance), or at ``insufficient``
    fidelity (less than its fair share, and within noise of chance: no measurement)."""

    FULL = "full"
    REDUCED = "reduced"
    INSUFFICIENT = "insufficient"


class Finding(StrEnum):
    """Why a family's figure within noise of chance is not a measurement: it got less than
    its fair share (``not trained enough``), or its full fair share and still did not learn
    (a finding about the family on this data)."""

    NOT_TRAINED_ENOUGH = "not trained enough"
    DID_NOT_LEARN = "did not learn"


#: The ensemble's name where a candidate's name goes (``recommended``, its head-to-head row).
ENSEMBLE = RecommendationKind.ENSEMBLE.value
#: Coverage of every interval the verdict quotes, and its two-sided normal quantile.
INTERVAL = 0.95
Z95 = 1.959963984540054
#: A verdict re-derived in fewer than this share of bootstrap resamples is a coin toss …
COIN_TOSS_SHARE = 0.65
#: … and one re-derived in at least this share is stable (between them it leans one way).
STABLE_SHARE = 0.9
#: "Clearly cheaper" needs a difference above measurement noise: lower by this fraction …
CHEAPER_FRACTION = 0.10
#: … and, for timings, by at least this much (ms per sample, training seconds): a few
#: microseconds per sample are timer noise, whatever the ratio.
CHEAPER_MIN_MS = 0.01
CHEAPER_MIN_S = 0.5
#: Peak-memory differences below this many MB are noise on CPU (process RSS moves by a few
#: MB for reasons unrelated to the model).
MEMORY_NOISE_MB = 32.0
#: A model at most this fraction of the other's size is clearly smaller (sizes are counted,
#: not timed: free of measurement noise).
SMALLER_FRACTION = 0.5
#: A family closer to chance than this share of the way from chance to a perfect score is
#: within noise of chance whatever its interval (e.g. 12.8 % on ten balanced classes).
CHANCE_MIN_GAIN = 0.05
#: A family whose first measurement got at least this share of the largest first-measurement
#: share got its fair share of the compute.
FAIR_SHARE_MIN = 0.75
#: Ratios quoted as "×N": below this many, one decimal.
_WHOLE_RATIO = 10.0


def direction_sign(direction: str) -> float:
    """+1 when the metric is maximised, -1 when it is minimised (an error).

    Example:
        >>> direction_sign("maximize"), direction_sign("minimize")
        (1.0, -1.0)
    """
    return 1.0 if direction == "maximize" else -1.0


def label(name: str | None) -> str:
    """A candidate's name for a sentence: references by their short name, the ensemble as
    such, families as they are.

    Example:
        >>> label("minirocket"), label("cnn1d"), label("ensemble")
        ('MiniRocket', 'cnn1d', 'the ensemble')
    """
    if name == ENSEMBLE:
        return "the ensemble"
    return BASELINE_NAMES.get(name or "", name or "n/a")


def stability_word(share: float) -> str:
    """How settled a verdict re-derived in ``share`` of the resamples is.

    Example:
        >>> stability_word(0.95), stability_word(0.8), stability_word(0.55)
        ('stable', 'leans one way but is not settled', 'a coin toss')
    """
    if share >= STABLE_SHARE:
        return "stable"
    if share < COIN_TOSS_SHARE:
        return "a coin toss"
    return "leans one way but is not settled"


@dataclass(frozen=True)
class Costs(JsonRecord):
    """What a candidate costs, as measured: inference latency per sample (batch 256), peak
    training memory, training seconds and the numbers it stores (parameters, fitted arrays)."""

    name: str
    latency_ms: float | None = None
    memory_mb: float | None = None
    train_time_s: float | None = None
    n_params: int | None = None


def _known(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _lower_by(a: float | None, b: float | None, floor: float) -> bool:
    """``a`` clearly below ``b``: by :data:`CHEAPER_FRACTION` and by at least ``floor``."""
    if not (_known(a) and _known(b)):
        return False
    assert a is not None and b is not None
    return a < b * (1.0 - CHEAPER_FRACTION) and b - a >= floor


def _times(ratio: float) -> str:
    return f"×{ratio:.0f}" if ratio >= _WHOLE_RATIO else f"×{ratio:.2g}"


def _leaner(a: Costs, b: Costs) -> bool:
    return (
        _known(a.memory_mb) and _known(b.memory_mb) and a.memory_mb < b.memory_mb - MEMORY_NOISE_MB  # type: ignore[operator]
    )


def cheaper_parts(a: Costs, b: Costs, *, training: bool = True) -> tuple[str, ...]:
    """Why ``a`` is clearly cheaper than ``b``, as measured figures naming both; empty when it
    is not (or when it is clearly dearer on latency or memory).

    Latency and peak memory always count; with ``training`` the model size and training time
    too, and timings only beyond the absolute floors (:data:`CHEAPER_MIN_MS`,
    :data:`CHEAPER_MIN_S`). The family ranking uses ``training=False``.

    Example:
        >>> fast = Costs("logistic_regression", latency_ms=0.01, train_time_s=0.1, n_params=14)
        >>> slow = Costs("cnn1d", latency_ms=0.04, train_time_s=2.0, n_params=7000)
        >>> for why in cheaper_parts(fast, slow): print(why)
        latency logistic regression 0.01 ms vs cnn1d 0.04 ms per sample (×4 faster)
        model size logistic regression 14 vs cnn1d 7,000 stored numbers (×500 smaller)
        training logistic regression 0.1 s vs cnn1d 2 s (×20 faster)
    """
    name_a, name_b = label(a.name), label(b.name)
    ms = CHEAPER_MIN_MS if training else 0.0
    if _lower_by(b.latency_ms, a.latency_ms, ms) or _leaner(b, a):
        return ()  # clearly dearer on latency or memory
    parts = []
    if _lower_by(a.latency_ms, b.latency_ms, ms) and a.latency_ms:
        parts.append(
            f"latency {name_a} {a.latency_ms:.2g} ms vs {name_b} {b.latency_ms:.2g} ms per "
            f"sample ({_times(b.latency_ms / a.latency_ms)} faster)"  # type: ignore[operator]
        )
    if _leaner(a, b):
        parts.append(
            f"peak training memory {name_a} {a.memory_mb:.3g} MB vs {name_b} {b.memory_mb:.3g} MB"
        )
    if training and a.n_params and b.n_params and a.n_params <= b.n_params * SMALLER_FRACTION:
        parts.append(
            f"model size {name_a} {a.n_params:,} vs {name_b} {b.n_params:,} stored numbers "
            f"({_times(b.n_params / a.n_params)} smaller)"
        )
    if training and _lower_by(a.train_time_s, b.train_time_s, CHEAPER_MIN_S) and a.train_time_s:
        parts.append(
            f"training {name_a} {a.train_time_s:.2g} s vs {name_b} {b.train_time_s:.2g} s "
            f"({_times(b.train_time_s / a.train_time_s)} faster)"  # type: ignore[operator]
        )
    return tuple(parts)
