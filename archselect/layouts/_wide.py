"""Wide numeric tables: pixels (grayscale or colour) or time steps, from the evidence."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from archselect.core.kinds import Form, LayoutName, Modality
from archselect.layouts._base import Decision
from archselect.layouts._structure import (
    _colour_name_order,
    _confidence,
    _image_sentence,
    _image_sides,
    _lag_corr,
    _nan0,
    _pair_corr,
    _periodic_score,
    _periodic_sentence,
    _prefix_groups,
    _random_corr,
    _sample_matrix,
    _score_images,
    _sequence_score,
    _sequence_sentence,
    _standardise,
    _z_evidence,
)
from archselect.layouts.constants import (
    COLOUR_MIN_INTERLEAVE,
    IMAGE_MIN_BUMP,
    IMAGE_MIN_GAIN,
    IMAGE_MIN_WRAP_DROP,
    N_COLOUR_CHANNELS,
)

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
) -> Decision:
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
        return Decision(
            Modality.SPATIAL,
            LayoutName.IMAGE,
            Form.WIDE_PIXELS,
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
        return Decision(
            Modality.SPATIAL,
            LayoutName.IMAGE,
            Form.WIDE_PIXELS,
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
            return Decision(
                Modality.SEQUENTIAL,
                LayoutName.SERIES,
                Form.WIDE_GROUPS,
                (t, c),
                _confidence(score, 0.1),
                _sequence_sentence(
                    gev, f"{c} series of {t} steps ({', '.join(p for p, _ in groups)})"
                ),
                [col for _, g in groups for col in g],
            )

    score = _sequence_score(ev)
    if score > 0:
        return Decision(
            Modality.SEQUENTIAL,
            LayoutName.SERIES,
            Form.WIDE_SERIES,
            (n_cols, 1),
            _confidence(score, 0.1),
            _sequence_sentence(ev, "an ordered sequence"),
            list(columns),
        )
    periodic = _periodic_score(ev)
    if periodic > 0:
        return Decision(
            Modality.SEQUENTIAL,
            LayoutName.SERIES,
            Form.WIDE_SERIES,
            (n_cols, 1),
            _confidence(periodic, 0.1),
            _periodic_sentence(ev, "an ordered sequence"),
            list(columns),
        )
    scores = [score, periodic, *(c.get("score", -1.0) for c in ev["image_candidates"])]
    return Decision(
        Modality.TABULAR,
        LayoutName.TABLE,
        Form.TABLE,
        (n_cols,),
        _confidence(-max(scores), 0.1),
        f"neighbouring columns correlate ({_nan0(ev['corr_lag1']):.2f}) about as much as "
        f"random pairs ({_nan0(ev['corr_random']):.2f}): no spatial or sequential order",
        list(columns),
    )
