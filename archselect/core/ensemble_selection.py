"""Greedy ensemble selection (Caruana et al., 2004) over stored per-row model outputs.

Numpy only. Each member is a matrix of per-row outputs on the same rows: class
probabilities ``(N, K)`` (classification) or predictions ``(N, 1)`` in scaled units
(regression). The ensemble is a weighted mean of the members; the weights are counts of a
forward selection *with replacement*: each round adds the member that most lowers the loss
of the running mean, a member may be added many times, and the result is the prefix (number
of rounds) whose loss was lowest. Round 1 picks the best single member, so on the rows the
weights are chosen on the ensemble never does worse than it. Classification lowers the error
rate (the Brier score breaks its many ties), regression the mean squared error of the
averaged predictions.

Choosing the weights on the rows they are then scored on is optimistic;
:func:`cross_fit_outputs` scores every row with weights chosen on the other rows only, so an
ensemble's figure is comparable with a single model's.

Outputs are stored with the trials as text (:func:`encode_outputs`): float16 probabilities
or float32 regression predictions (standardised-target units, the units the per-row squared
errors of :func:`archselect.core.metrics.per_sample_scores` are in: float16 would round a
prediction of 2 by 0.001, as much as a good model's error), at most
:data:`MAX_OUTPUT_CELLS` values per split, so a trial's record grows by a bounded, small
amount (about 87 kB of base64 at the cap).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np

from archselect.core.metrics import per_sample_scores

__all__ = [
    "CROSS_FIT_FOLDS",
    "ENSEMBLE_ROUNDS",
    "MAX_OUTPUT_CELLS",
    "blend",
    "cross_fit_outputs",
    "decode_outputs",
    "encode_outputs",
    "greedy_weights",
    "log_outputs",
    "loss",
    "row_scores",
    "stored_rows",
]

#: Rounds of the greedy selection (weights are multiples of 1 / rounds).
ENSEMBLE_ROUNDS = 25
#: Parts of the rows the honest score rotates over: weights chosen on the others.
CROSS_FIT_FOLDS = 2
#: Values (rows × columns) of one split's stored outputs; rows beyond are not stored.
MAX_OUTPUT_CELLS = 32768
#: Stored rows never exceed the per-row scores' cap (:data:`archselect.core.metrics`).
_MAX_ROWS = 8192
#: Probabilities are clipped here before a logarithm.
_EPS = 1e-12
#: A loss lower by less than this is a tie (ties keep the earlier, simpler choice).
_TIE = 1e-12
#: The header's mark of float32 values (``"K/f32:…"``); a header without it is float16.
#: Readers that predate it refuse such text (``int("1/f32")`` fails): no outputs, no error.
_PRECISE_MARK = "/f32"


def encode_outputs(outputs: np.ndarray, *, precise: bool = False) -> str:
    """Per-row outputs ``(N, K)`` as ``"K:base64 float16"``, the first rows up to the cap.

    ``precise``: float32 values instead (``"K/f32:…"``), for regression predictions.

    Example:
        >>> decode_outputs(encode_outputs(np.array([[0.25, 0.75], [1.0, 0.0]])))
        array([[0.25, 0.75],
               [1.  , 0.  ]])
        >>> decode_outputs(encode_outputs(np.array([2.25, -0.5]), precise=True)).ravel()
        array([ 2.25, -0.5 ])
    """
    out = np.asarray(outputs, dtype=np.float64)
    out = out.reshape(len(out), -1)
    cols = max(1, out.shape[1])
    rows = stored_rows(len(out), cols)
    dtype, mark = (np.float32, _PRECISE_MARK) if precise else (np.float16, "")
    body = base64.b64encode(out[:rows].astype(dtype).tobytes()).decode()
    return f"{cols}{mark}:{body}"


def stored_rows(n: int, cols: int) -> int:
    """How many of ``n`` rows with ``cols`` outputs each :func:`encode_outputs` keeps."""
    return min(n, _MAX_ROWS, MAX_OUTPUT_CELLS // max(1, cols))


def decode_outputs(text: str | None) -> np.ndarray | None:
    """The inverse of :func:`encode_outputs` (float64); None for no or malformed text."""
    if not text or ":" not in text:
        return None
    head, body = text.split(":", 1)
    precise = head.endswith(_PRECISE_MARK)
    dtype = np.float32 if precise else np.float16
    try:
        cols = int(head.removesuffix(_PRECISE_MARK))
        flat = np.frombuffer(base64.b64decode(body), dtype=dtype).astype(np.float64)
    except ValueError:
        return None
    if cols < 1 or len(flat) % cols:
        return None
    return flat.reshape(-1, cols)


def blend(members: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """The weighted mean of the members' outputs."""
    out = np.zeros_like(np.asarray(members[0], dtype=np.float64))
    for m, w in zip(members, weights, strict=True):
        if w:
            out += float(w) * np.asarray(m, dtype=np.float64)
    return out


def loss(outputs: np.ndarray, y: np.ndarray, task: str) -> tuple[float, float]:
    """What the selection lowers: (error rate, mean Brier score) for classification — the
    metric first, its proper score to break its many ties — or (mean squared error, 0)."""
    if task == "classification":
        wrong = float((outputs.argmax(axis=1) != y).mean())
        p = outputs.copy()
        p[np.arange(len(y)), y] -= 1.0
        return wrong, float((p**2).sum(axis=1).mean())
    return float(((outputs[:, 0] - y) ** 2).mean()), 0.0


def row_scores(outputs: np.ndarray, y: np.ndarray, task: str) -> np.ndarray:
    """Per-row score of outputs, higher is better: 1/0 correct (classification) or minus
    the squared error of the prediction ``outputs[:, 0]`` (regression, scaled units) — the
    per-row scores the selection's paired intervals compare.

    Example:
        >>> row_scores(np.array([[1.5], [0.0]]), np.array([1.0, 0.0]), "regression").tolist()
        [-0.25, -0.0]
    """
    scores = per_sample_scores(task, outputs, y)
    return scores if task == "classification" else -scores


def greedy_weights(
    members: Sequence[np.ndarray], y: np.ndarray, task: str, rounds: int = ENSEMBLE_ROUNDS
) -> np.ndarray:
    """Member weights (summing to 1) chosen by greedy forward selection with replacement.

    Members are tried in the given order, so on a tie the earlier one (put the best single
    member first) is kept; the same inputs always give the same weights.

    Example:
        >>> y = np.array([0, 1, 1, 0])
        >>> a = np.array([[.9, .1], [.1, .9], [.6, .4], [.6, .4]])  # row 2 wrong
        >>> b = np.array([[.9, .1], [.6, .4], [.1, .9], [.6, .4]])  # row 1 wrong
        >>> c = np.array([[.9, .1], [.1, .9], [.1, .9], [.1, .9]])  # row 3 wrong
        >>> greedy_weights([a, b, c], y, "classification", rounds=4).tolist()  # no row wrong
        [0.5, 0.5, 0.0]
    """
    if not members:
        raise ValueError("greedy_weights needs at least one member")
    if rounds < 1:
        raise ValueError(f"greedy_weights needs at least one round, not {rounds}")
    counts = np.zeros(len(members))
    total = np.zeros_like(np.asarray(members[0], dtype=np.float64))
    best: tuple[tuple[float, float], np.ndarray] | None = None
    for r in range(1, rounds + 1):
        pick, pick_loss = 0, (np.inf, np.inf)
        for j, m in enumerate(members):
            cand = loss((total + m) / r, y, task)
            if _below(cand, pick_loss):
                pick, pick_loss = j, cand
        counts[pick] += 1
        total += members[pick]
        if best is None or _below(pick_loss, best[0]):
            best = (pick_loss, counts / r)
    assert best is not None
    return best[1].copy()


def _below(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """``a`` lower than ``b`` beyond ties, comparing the first value, then the second."""
    if a[0] < b[0] - _TIE:
        return True
    return abs(a[0] - b[0]) <= _TIE and a[1] < b[1] - _TIE


def cross_fit_outputs(
    members: Sequence[np.ndarray],
    y: np.ndarray,
    task: str,
    seed: int,
    rounds: int = ENSEMBLE_ROUNDS,
    folds: int = CROSS_FIT_FOLDS,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Every row's ensemble output from weights chosen on the other parts of the rows.

    The rows are split at random (``seed``) into ``folds`` parts; for each part the weights
    are chosen on the rest and applied to it. Returns the per-row outputs and each part's
    weights.
    """
    n = len(y)
    parts = np.array_split(np.random.default_rng(seed).permutation(n), max(2, folds))
    out = np.zeros_like(np.asarray(members[0], dtype=np.float64))
    chosen = []
    for part in parts:
        rest = np.setdiff1d(np.arange(n), part)
        w = greedy_weights([m[rest] for m in members], y[rest], task, rounds)
        out[part] = blend([m[part] for m in members], w)
        chosen.append(w)
    return out, chosen


def log_outputs(proba: np.ndarray) -> np.ndarray:
    """Log-probabilities, read as logits by the per-row metric helpers."""
    return np.log(np.clip(proba, _EPS, None))
