"""Wide numeric tables: pixels (grayscale or colour) or time steps, from the evidence."""

from __future__ import annotations

import dataclasses
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
    view_evidence,
    view_sequence_sentence,
)
from archselect.layouts.constants import (
    COLOUR_MIN_INTERLEAVE,
    IMAGE_MIN_BUMP,
    IMAGE_MIN_GAIN,
    IMAGE_MIN_WRAP_DROP,
    N_COLOUR_CHANNELS,
    READINGS_MIN_CONFIDENCE,
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


def _colour_decision(
    z: np.ndarray, varying: np.ndarray, columns: list[str], seed: int, evidence: dict[str, Any]
) -> Decision | None:
    """A colour image (interleaved or planar channels) when one passes every test."""
    names = [str(c) for c in columns]
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
    if best_colour is None:
        return None
    hyp, cand, score = best_colour
    h, w = cand["height"], cand["width"]
    channels = hyp["channel_columns"]
    # model order: interleaved (H, W, C) per row, whatever the file order
    ordered = [columns[channels[c][p]] for p in range(h * w) for c in range(3)]
    evidence["channel_order"] = hyp["channel_order"]
    what = f"a {h}x{w} colour image, channels {hyp['channel_order']} (decided by {hyp['by']})"
    return Decision(
        Modality.SPATIAL, LayoutName.IMAGE, Form.WIDE_PIXELS, (3, h, w),
        _confidence(score, 0.1), _image_sentence(hyp["image"], cand, what), ordered,
    )  # fmt: skip


def _gray_decision(ev: dict[str, Any], columns: list[str]) -> Decision | None:
    """A grayscale image when an H x W factorisation passes every test."""
    cand = _score_images(ev)
    if cand is None:
        return None
    h, w = cand["height"], cand["width"]
    return Decision(
        Modality.SPATIAL, LayoutName.IMAGE, Form.WIDE_PIXELS, (1, h, w),
        _confidence(cand["score"], 0.1), _image_sentence(ev, cand, f"a {h}x{w} image"),
        list(columns),
    )  # fmt: skip


def _group_decision(
    z: np.ndarray, varying: np.ndarray, names: list[str], seed: int, evidence: dict[str, Any]
) -> Decision | None:
    """Several series of equal length from prefix groups (``x_0..x_T, y_0..y_T``)."""
    groups = _prefix_groups(names)
    if groups is None:
        return None
    position = {n: i for i, n in enumerate(names)}
    stacked = np.concatenate([z[:, [position[c] for c in g]] for _, g in groups], axis=0)
    stacked_varying = np.logical_or.reduce([varying[[position[c] for c in g]] for _, g in groups])
    gev = _z_evidence(stacked, stacked_varying, seed, images=False)
    evidence["groups"] = {"prefixes": [p for p, _ in groups], "structure": gev}
    score = _sequence_score(gev)
    if score <= 0:
        return None
    t, c = len(groups[0][1]), len(groups)
    what = f"{c} series of {t} steps ({', '.join(p for p, _ in groups)})"
    return Decision(
        Modality.SEQUENTIAL, LayoutName.SERIES, Form.WIDE_GROUPS, (t, c),
        _confidence(score, 0.1), _sequence_sentence(gev, what),
        [col for _, g in groups for col in g],
    )  # fmt: skip


def sequence_views(
    values: np.ndarray, ev: dict[str, Any], seed: int, evidence: dict[str, Any]
) -> dict[str, float]:
    """The sequence score of every view (``raw``, and ``row``/``diff`` of
    :func:`~archselect.layouts._structure.view_evidence`, recorded in
    ``evidence["structure_views"]``)."""
    views = view_evidence(values, ev, seed=seed)
    evidence["structure_views"] = views
    scores = {"raw": _sequence_score(ev)}
    for name, vev in views.items():
        scores[name] = _sequence_score(vev, signed_only=name == "diff")
    return scores


def _sequence_decision(
    values: np.ndarray, ev: dict[str, Any], seed: int, evidence: dict[str, Any],
    columns: list[str],
) -> tuple[Decision | None, float]:  # fmt: skip
    """One ordered sequence, from the view that shows it most clearly, or a periodic one;
    also the best score of every test (for the tabular reading's confidence)."""
    scores = sequence_views(values, ev, seed, evidence)
    # the values as they are when they suffice, else the view that shows the order best
    view = "raw" if scores["raw"] > 0 else max(scores, key=lambda k: scores[k])
    score = scores[view]
    what = "an ordered sequence"
    if score > 0:
        views = evidence["structure_views"]
        sentence = (
            _sequence_sentence(ev, what)
            if view == "raw"
            else view_sequence_sentence(view, views[view], ev, what)
        )
        evidence["sequence_view"] = view
        return Decision(
            Modality.SEQUENTIAL, LayoutName.SERIES, Form.WIDE_SERIES, (len(columns), 1),
            _confidence(score, 0.1), sentence, list(columns),
        ), score  # fmt: skip
    periodic = _periodic_score(ev)
    if periodic > 0:
        return Decision(
            Modality.SEQUENTIAL, LayoutName.SERIES, Form.WIDE_SERIES, (len(columns), 1),
            _confidence(periodic, 0.1), _periodic_sentence(ev, what), list(columns),
        ), periodic  # fmt: skip
    return None, max(score, periodic)


def _table_decision(ev: dict[str, Any], best: float, columns: list[str]) -> Decision:
    """No order found: a table, the surer the further every test fell below its threshold."""
    scores = [best, *(c.get("score", -1.0) for c in ev["image_candidates"])]
    return Decision(
        Modality.TABULAR,
        LayoutName.TABLE,
        Form.TABLE,
        (len(columns),),
        _confidence(-max(scores), 0.1),
        f"neighbouring columns correlate ({_nan0(ev['corr_lag1']):.2f}) about as much as "
        f"random pairs ({_nan0(ev['corr_random']):.2f}), on the values, on each row's "
        "deviations from its mean and on their first differences: no spatial or sequential "
        "order",
        list(columns),
    )


def _doubt(confidence: float, a: str, b: str) -> str:
    return (
        f"; the profile could not tell {a} from {b} (confidence {confidence:.2f}, below "
        f"{READINGS_MIN_CONFIDENCE}): both readings are searched"
    )


def _image_doubt(found: Decision, ev: dict[str, Any]) -> Decision:
    """An unsure grayscale image whose columns show no sequence: the image reading's plan
    already holds the table's (``mlp`` and the same references), so both are searched. One
    that also passes the sequence test gets a note instead (the sequence families would
    need the pixels as steps, an input reshape the families do not make yet)."""
    if found.confidence >= READINGS_MIN_CONFIDENCE:
        return found
    if _sequence_score(ev) > 0:
        # the sequence families would need the pixels reshaped into steps: not searched
        note = (
            f"the profile could not tell an image from a sequence (confidence "
            f"{found.confidence:.2f}, below {READINGS_MIN_CONFIDENCE}); only the image "
            "reading is searched: give --layout series to search the sequence reading"
        )
        return dataclasses.replace(found, notes=[*found.notes, note])
    return dataclasses.replace(
        found,
        decision=found.decision + _doubt(found.confidence, "an image", "a table"),
        readings=(LayoutName.IMAGE, LayoutName.TABLE),
    )


def _sequence_doubt(found: Decision) -> Decision:
    """An unsure sequence: its plan adds the table's references to the sequence families
    (which hold the table's ``mlp``)."""
    if found.confidence >= READINGS_MIN_CONFIDENCE:
        return found
    return dataclasses.replace(
        found,
        decision=found.decision + _doubt(found.confidence, "a sequence", "a table"),
        readings=(LayoutName.SERIES, LayoutName.TABLE),
    )


def _table_doubt(found: Decision, ev: dict[str, Any], best_sequence: float) -> Decision:
    """An unsure table: the closest other reading (a sequence, or an image of the candidate
    shape that came closest) becomes the layout, so both families can be searched on the
    same columns, and the table's references join its own."""
    if found.confidence >= READINGS_MIN_CONFIDENCE:
        return found
    columns = found.feature_columns
    images = [c for c in ev["image_candidates"] if "score" in c]
    best_image = max(images, key=lambda c: c["score"], default=None)
    near = (
        f"neighbouring columns correlate ({_nan0(ev['corr_lag1']):.2f}) more than random pairs "
        f"({_nan0(ev['corr_random']):.2f}), though short of the"
    )
    if best_image is not None and best_image["score"] > best_sequence:
        h, w = best_image["height"], best_image["width"]
        return Decision(
            Modality.SPATIAL, LayoutName.IMAGE, Form.WIDE_PIXELS, (1, h, w), found.confidence,
            f"{near} {h}x{w} image test's thresholds (by {-best_image['score']:.2f})"
            + _doubt(found.confidence, "a table", f"a {h}x{w} image")
            + f", on the columns as a {h}x{w} image",
            list(columns), readings=(LayoutName.TABLE, LayoutName.IMAGE),
        )  # fmt: skip
    return Decision(
        Modality.SEQUENTIAL, LayoutName.SERIES, Form.WIDE_SERIES, (len(columns), 1),
        found.confidence,
        f"{near} sequence test's thresholds (its closest view by {-best_sequence:.2f})"
        + _doubt(found.confidence, "a table", "a sequence")
        + ", on the columns in file order as one sequence (scaled together)",
        list(columns), readings=(LayoutName.TABLE, LayoutName.SERIES),
    )  # fmt: skip


def _decide_wide(
    frame: pd.DataFrame, columns: list[str], seed: int, evidence: dict[str, Any]
) -> Decision:
    """Image (gray or colour), multivariate groups, univariate series or table, in that
    order, each from its evidence (recorded in ``evidence``); an unsure gray image, series
    or table is searched under both readings (:data:`READINGS_MIN_CONFIDENCE`)."""
    names = [str(c) for c in columns]
    values = _sample_matrix(frame, columns, seed)
    z, varying = _standardise(values)
    ev = _z_evidence(z, varying, seed)
    evidence["structure"] = ev
    colour = _colour_decision(z, varying, list(columns), seed, evidence)
    if colour is not None:
        return colour
    gray = _gray_decision(ev, list(columns))
    if gray is not None:
        return _image_doubt(gray, ev)
    groups = _group_decision(z, varying, names, seed, evidence)
    if groups is not None:
        return groups
    sequence, best = _sequence_decision(values, ev, seed, evidence, list(columns))
    if sequence is not None:
        return _sequence_doubt(sequence)
    return _table_doubt(_table_decision(ev, best, list(columns)), ev, best)
