"""Structure evidence: correlations between neighbouring, lagged and random columns, and
what the column names say.

The correlations are measured on three views of the values: the columns as they are
(``raw``), each row's deviations from its own mean (``row``: measured when a per-row offset
dominates, as in spectra, growth curves and dose-response curves, where every column
correlates with every other), and the first differences along the candidate axis
(``diff``: neighbouring differences of a smooth curve correlate positively, those of
shuffled or unrelated columns negatively, since each pair shares one column with opposite
signs)."""

from __future__ import annotations

import itertools
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from archselect.layouts.constants import (
    _COLOUR_PREFIXES,
    _NUMBERED,
    IMAGE_MIN_BUMP,
    IMAGE_MIN_GAIN,
    IMAGE_MIN_WRAP_DROP,
    MAX_ASPECT,
    MIN_GROUP_STEPS,
    MIN_IMAGE_SIDE,
    N_COLOUR_CHANNELS,
    OFFSET_MIN_CORR,
    PAIR_CHUNK,
    RANDOM_PAIRS,
    SAMPLE_ROWS,
    SEQ_MAX_PERIOD,
    SEQ_MIN_DECAY,
    SEQ_MIN_GAIN,
    SEQ_MIN_PERIODIC_GAIN,
    SEQ_MIN_RELATIVE_GAIN,
)

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


def _filled(values: np.ndarray) -> np.ndarray:
    """The values as float64 with every missing or non-finite cell set to its column's mean
    (0 for a column with no finite value)."""
    x = values.astype(np.float64, copy=True)
    x[~np.isfinite(x)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(x, axis=0) if len(x) else np.zeros(x.shape[1])
    means = np.where(np.isnan(means), 0.0, means)
    return np.where(np.isnan(x), means, x)


def _standardise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns to zero mean and unit variance (NaN → column mean); which columns vary."""
    x = _filled(values)
    std = x.std(axis=0)
    varying = std > 1e-12
    z = (x - x.mean(axis=0)) / np.where(varying, std, 1.0)
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


def _z_evidence(
    z: np.ndarray, varying: np.ndarray, seed: int, *, images: bool = True
) -> dict[str, Any]:
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
    if not images:
        return evidence
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


def _row_deviations(z: np.ndarray, varying: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``row`` view: each row of the standardised columns less its own mean, over its own
    spread (the varying columns only), standardised again per column."""
    dev = np.zeros_like(z)
    if varying.sum() >= 2:
        part = z[:, varying] - z[:, varying].mean(axis=1, keepdims=True)
        spread = part.std(axis=1, keepdims=True)
        dev[:, varying] = part / np.where(spread > 1e-12, spread, 1.0)
    rz, row_varying = _standardise(dev)
    return rz, row_varying & varying


def view_evidence(values: np.ndarray, raw: dict[str, Any], *, seed: int = 0) -> dict[str, Any]:
    """The structure of the ``row`` and ``diff`` views (see the module's docstring) beside
    the ``raw`` evidence already measured: the ``row`` view only when random column pairs
    correlate at least :data:`OFFSET_MIN_CORR` (a per-row offset dominates). Each view's
    dict is :func:`structure_evidence`'s without the image candidates.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> curve = np.sin(np.linspace(0, 3, 40))
        >>> x = rng.normal(0, 5, (200, 1)) + rng.uniform(0.5, 1.5, (200, 1)) * curve
        >>> views = view_evidence(x, structure_evidence(x))
        >>> sorted(views), views["row"]["corr_lag1"] > views["row"]["corr_random"]
        (['diff', 'row'], True)
    """
    out: dict[str, Any] = {}
    x = _filled(values)
    if _nan0(raw.get("corr_random_signed")) >= OFFSET_MIN_CORR:
        z, varying = _standardise(x)
        out["row"] = _z_evidence(*_row_deviations(z, varying), seed, images=False)
    if x.shape[1] > 2:
        dz, d_varying = _standardise(np.diff(x, axis=1))
        out["diff"] = _z_evidence(dz, d_varying, seed, images=False)
    return out


def _nan0(x: float | None) -> float:
    return 0.0 if x is None or not np.isfinite(x) else float(x)


def _confidence(margin: float, scale: float) -> float:
    """Map a margin over a threshold (in units of ``scale``) to 0.5 … 0.99."""
    return float(np.clip(0.5 + 0.5 * np.tanh(max(margin, 0.0) / scale), 0.5, 0.99))


def _score_images(ev: dict[str, Any]) -> dict[str, Any] | None:
    """Score each image candidate; return the best one that passes every test."""
    r1, rr = _nan0(ev["corr_lag1"]), _nan0(ev["corr_random"])
    # as for a sequence, the signed gain counts too: when a few classes drive every pixel,
    # random pairs correlate in absolute value about as much as neighbours, though with
    # either sign, while neighbours correlate positively
    gain1 = max(r1 - rr, _nan0(ev["corr_lag1_signed"]) - _nan0(ev["corr_random_signed"]))
    ev["gain_lag1_image"] = gain1
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
        f"{_nan0(ev.get('gain_lag1_image')):.2f} and {cand['gain_w']:.2f} (threshold "
        f"{IMAGE_MIN_GAIN}), offset {w} beats offset {max(1, w // 2)} by "
        f"{cand['bump']:.2f} (> {IMAGE_MIN_BUMP}), and neighbours across row ends correlate "
        f"less ({cand['corr_lag1_across_rows']:.2f} vs {cand['corr_lag1_inside_rows']:.2f}): "
        f"{what}"
    )


def _sequence_score(ev: dict[str, Any], *, signed_only: bool = False) -> float:
    """How clearly neighbours correlate beyond random pairs and then decay (> 0: a sequence).

    ``signed_only`` (the ``diff`` view): only the signed gain counts, since neighbouring
    differences share a column and so correlate in absolute value even when shuffled.
    """
    r1, rr = _nan0(ev["corr_lag1"]), _nan0(ev["corr_random"])
    signed = _nan0(ev["corr_lag1_signed"]) - _nan0(ev["corr_random_signed"])
    gain = signed if signed_only else max(r1 - rr, signed)
    relative = (r1 - rr) / max(1.0 - rr, 1e-9)  # share of the headroom above random pairs
    if signed_only:
        relative = signed / max(1.0 - _nan0(ev["corr_random_signed"]), 1e-9)
    decay = r1 - _nan0(ev["corr_min_longer_lag"])
    ev["gain_lag1"], ev["relative_gain_lag1"], ev["decay"] = gain, relative, decay
    ev["sequence_score"] = min(
        max(gain - SEQ_MIN_GAIN, relative - SEQ_MIN_RELATIVE_GAIN), decay - SEQ_MIN_DECAY
    )
    return float(ev["sequence_score"])


def _periodic_score(ev: dict[str, Any]) -> float:
    """How clearly the columns repeat with a short period L (2 … SEQ_MAX_PERIOD): the lag-L
    and lag-2L correlations both above random pairs by SEQ_MIN_PERIODIC_GAIN; the smaller
    margin of the best L. Sets ``period`` and ``periodic_score`` in ``ev``.

    Example:
        >>> ev = {"corr_random": 0.3, "corr_by_lag": {"1": 0.2, "2": 0.2, "4": 0.9, "8": 0.85}}
        >>> round(_periodic_score(ev), 2), ev["period"]
        (0.15, 4)
    """
    rr = _nan0(ev["corr_random"])
    by_lag = {int(k): _nan0(v) for k, v in ev["corr_by_lag"].items()}
    margins = {
        lag: min(by_lag[lag], by_lag[2 * lag]) - rr - SEQ_MIN_PERIODIC_GAIN
        for lag in by_lag
        if 2 <= lag <= SEQ_MAX_PERIOD and 2 * lag in by_lag
    }
    best = max(margins.values(), default=None)
    # the shortest lag close to the best (a period-4 signal also repeats at 8)
    period = (
        min((lag for lag, m in margins.items() if m >= best - 0.05), default=None)
        if (best is not None)
        else None
    )
    ev["period"] = period
    ev["periodic_score"] = margins[period] if period is not None else -1.0
    return float(ev["periodic_score"])


def _periodic_sentence(ev: dict[str, Any], what: str) -> str:
    lag = ev["period"]
    by_lag = ev["corr_by_lag"]
    return (
        f"columns {lag} and {2 * lag} apart correlate ({_nan0(by_lag[str(lag)]):.2f}, "
        f"{_nan0(by_lag[str(2 * lag)]):.2f}) more than random pairs "
        f"({_nan0(ev['corr_random']):.2f}) by over {SEQ_MIN_PERIODIC_GAIN} although "
        f"neighbours correlate {_nan0(ev['corr_lag1']):.2f}: {what} repeating every {lag} steps"
    )


def view_sequence_sentence(view: str, ev: dict[str, Any], raw: dict[str, Any], what: str) -> str:
    """The sequence sentence of the ``row`` or ``diff`` view that decided."""
    if view == "row":
        return (
            f"a per-row offset dominates (random column pairs correlate "
            f"{_nan0(raw['corr_random_signed']):.2f}, threshold {OFFSET_MIN_CORR}); on each "
            f"row's deviations from its own mean, {_sequence_sentence(ev, what)}"
        )
    return (
        f"first differences of neighbouring columns correlate "
        f"{_nan0(ev['corr_lag1_signed']):+.2f} with the next difference, above random pairs "
        f"of differences ({_nan0(ev['corr_random_signed']):+.2f}) by {ev['gain_lag1']:.2f} "
        f"(threshold {SEQ_MIN_GAIN}), and decay to {_nan0(ev['corr_min_longer_lag']):.2f} at "
        f"longer lags: {what}"
    )


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


def name_evidence(names: list[str]) -> dict[str, Any]:
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
