"""The numbers of the report and its data section: plot numbers, sample pictures, evidence.

Private to :mod:`archselect.report`: the pieces of ``report_context`` that describe the data
(PNG ``data:`` URIs of sample images, the preview plots' numbers, the profiler's evidence and
tests) and the number formats every section shares. Stdlib, NumPy and the verdict's formats
only: no training stack.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from archselect.core.kinds import PreviewKind
from archselect.core.verdict import unit_for

__all__ = [
    "MAX_EVIDENCE_ROWS",
    "MAX_SERIES_PLOTS",
    "PLOT_DIGITS",
    "Rows",
    "evidence_rows",
    "finite",
    "fmt",
    "image_rows",
    "num",
    "nums",
    "preview_plots",
    "structure_checks",
]

#: Significant digits of the numbers embedded for the plots (keeps a 100-trial page small).
PLOT_DIGITS = 5
#: Channels of a multichannel series pictured at most (one plot each).
MAX_SERIES_PLOTS = 4
#: Evidence entries listed at most (nested evidence is flattened to dotted keys).
MAX_EVIDENCE_ROWS = 120


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def num(value: Any, digits: int = PLOT_DIGITS) -> float | None:
    """A plot number: finite floats rounded to ``digits`` significant digits, else None."""
    if not finite(value):
        return None
    return float(f"{float(value):.{digits}g}")


def nums(values: Iterable[Any]) -> list[float | None]:
    return [num(v) for v in values]


def fmt(value: Any, metric: str | None = None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if metric is not None and finite(value):
        return unit_for(metric).value(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


# --- PNG pictures of image rows ----------------------------------------------------------------


def _png(pixels: np.ndarray) -> bytes:
    """Encode uint8 ``(H, W)`` grey or ``(H, W, 3)`` RGB pixels as a PNG (stdlib only)."""
    height, width = pixels.shape[:2]
    colour_type = 2 if pixels.ndim == 3 else 0
    raw = b"".join(b"\x00" + pixels[r].tobytes() for r in range(height))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + tag
            + body
            + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def image_rows(preview: Any) -> list[dict[str, Any]]:
    """Sample images grouped by label, each as a PNG data URI (shared grey/colour scale)."""
    h, w, c = preview.shape
    cubes = []
    for s in preview.samples:
        arr = np.asarray([np.nan if v is None else v for v in s.values], dtype=np.float64)
        cubes.append(arr.reshape(h, w, c))
    if not cubes:
        return []
    stack = np.stack(cubes)
    finite = stack[np.isfinite(stack)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    scale = (hi - lo) or 1.0
    scaled = np.nan_to_num((stack - lo) / scale * 255.0, nan=0.0).clip(0, 255).astype(np.uint8)
    groups: dict[str, list[str]] = {}
    for s, cube in zip(preview.samples, scaled, strict=True):
        pixels = cube[:, :, :3] if c >= 3 else cube[:, :, 0]
        encoded = base64.b64encode(_png(np.ascontiguousarray(pixels))).decode("ascii")
        groups.setdefault(s.label, []).append("data:image/png;base64," + encoded)
    return [{"label": label, "images": images} for label, images in groups.items()]


# --- the data section ---------------------------------------------------------------------------


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)) and value and isinstance(value[0], dict):
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, out)
    elif isinstance(value, (list, tuple)):
        out.append((prefix, ", ".join(fmt(v) for v in value)))
    else:
        out.append((prefix, fmt(value)))


Rows = list[tuple[str, str]]


def evidence_rows(evidence: dict[str, Any]) -> tuple[Rows, Rows]:
    """(measured evidence, thresholds), flattened to ``(key, value)`` rows."""
    thresholds: list[tuple[str, str]] = []
    _flatten("", evidence.get("thresholds", {}), thresholds)
    measured: list[tuple[str, str]] = []
    _flatten("", {k: v for k, v in evidence.items() if k != "thresholds"}, measured)
    return measured[:MAX_EVIDENCE_ROWS], thresholds


def structure_checks(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    """The profiler's tests as measured-versus-threshold rows, where the evidence has them."""
    st = evidence.get("structure")
    th = evidence.get("thresholds", {})
    if not isinstance(st, dict) or not isinstance(th, dict):
        return []
    rows: list[dict[str, Any]] = []

    def add(what: str, measured: Any, threshold: Any) -> None:
        if finite(measured) and finite(threshold):
            rows.append(
                {
                    "what": what,
                    "measured": fmt(float(measured)),
                    "threshold": fmt(float(threshold)),
                    "passes": float(measured) > float(threshold),
                }
            )

    add(
        "sequence: offset-1 correlation above random pairs",
        st.get("gain_lag1"),
        th.get("seq_min_gain"),
    )
    add(
        f"sequence: decay from lag 1 to lag {st.get('far_lag', '?')}",
        st.get("decay"),
        th.get("seq_min_decay"),
    )
    for cand in st.get("image_candidates", [])[:3]:
        if not isinstance(cand, dict):
            continue
        size = f"{cand.get('height')}x{cand.get('width')}"
        add(
            f"image {size}: offset-1 correlation above random",
            st.get("gain_lag1"),
            th.get("image_min_gain"),
        )
        add(
            f"image {size}: offset-W correlation above random",
            cand.get("gain_w"),
            th.get("image_min_gain"),
        )
        add(f"image {size}: offset W beats offset W/2", cand.get("bump"), th.get("image_min_bump"))
        add(
            f"image {size}: row ends correlate less than row interiors",
            cand.get("wrap_drop"),
            th.get("image_min_wrap_drop"),
        )
    return rows


def preview_plots(preview: Any) -> dict[str, Any]:
    """Plot data for the data section: distribution, series samples, text lengths."""
    data: dict[str, Any] = {"classes": None, "target_hist": None, "series": None, "text": None}
    if preview is None:
        return data
    if preview.class_counts:
        data["classes"] = {
            "labels": list(preview.class_counts),
            "counts": list(preview.class_counts.values()),
        }
    if preview.target_hist is not None:
        data["target_hist"] = {
            "edges": nums(preview.target_hist.edges),
            "counts": list(preview.target_hist.counts),
        }
    if preview.kind == PreviewKind.SERIES and preview.samples:
        channels, steps = preview.shape
        data["series"] = {
            "stride": preview.stride,
            "channels": min(channels, MAX_SERIES_PLOTS),
            "steps": steps,
            "samples": [
                {"label": s.label, "values": nums(s.values[: channels * steps])}
                for s in preview.samples
            ],
        }
    if preview.kind == PreviewKind.TEXT and preview.text_lengths:
        data["text"] = {
            "unit": preview.text_unit,
            "groups": [
                {"label": k, "edges": nums(v.edges), "counts": list(v.counts)}
                for k, v in preview.text_lengths.items()
            ],
        }
    return data
