"""A column of image file paths: detection, and opening the files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archselect._errors import DataError, UsageError
from archselect.profile._constants import (
    IMAGE_EXTENSIONS,
    IMAGE_PATH_MIN_FRACTION,
    IMAGE_SAMPLE_FILES,
    MAX_IMAGE_SIDE,
    _Decision,
)

# --- image paths, text and other special layouts --------------------------------------------


def _image_path_columns(features: pd.DataFrame, other: list[str]) -> list[str]:
    found = []
    for col in other:
        values = features[col].dropna().astype("string").head(200).str.lower()
        if len(values) and values.str.endswith(IMAGE_EXTENSIONS).mean() >= IMAGE_PATH_MIN_FRACTION:
            found.append(col)
    return found


def resolve_image_path(value: Any, base_dir: str | None) -> Path:
    """An image path from the data, relative to the CSV's folder (``base_dir``)."""
    path = Path(str(value))
    return path if path.is_absolute() or base_dir is None else Path(base_dir) / path


def open_image(value: Any, base_dir: str | None, row: Any, column: str) -> Any:
    """Open one image file with Pillow; a missing or corrupt file names its data row."""
    from PIL import Image, UnidentifiedImageError

    label = row + 1 if isinstance(row, (int, np.integer)) else row
    if value is None or (isinstance(value, float) and np.isnan(value)) or pd.isna(value):
        raise DataError(f"Image column {column!r} is empty in data row {label}; fill it in.")
    path = resolve_image_path(value, base_dir)
    if path.exists() and not path.is_file():  # a FIFO would block open() forever
        raise DataError(
            f"Image file {str(value)!r} of data row {label} is not a regular file (a folder, "
            "pipe or device); point the row at an image file."
        )
    try:
        img = Image.open(path)
        img.load()
    except Image.DecompressionBombError:
        raise DataError(
            f"Image file {str(value)!r} of data row {label} has more than "
            f"{Image.MAX_IMAGE_PIXELS:,} pixels (a possible decompression bomb); shrink it "
            "or remove that row."
        ) from None
    except FileNotFoundError:
        raise DataError(
            f"Image file {str(value)!r} of data row {label} does not exist (looked in "
            f"{path.parent}); paths are relative to the CSV's folder, so fix the path."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DataError(
            f"Image file {str(value)!r} of data row {label} cannot be read as an image "
            f"({type(exc).__name__}); replace or remove that row."
        ) from None
    return img


def _detect_image_paths(
    frame: pd.DataFrame, columns: list[str], shape: str | None, evidence: dict[str, Any]
) -> _Decision:
    col = columns[0]
    base = frame.attrs.get("base_dir")
    values = frame[col]
    rng = np.random.default_rng(0)
    n = len(values)
    rows = np.sort(rng.choice(n, min(n, IMAGE_SAMPLE_FILES), replace=False))
    sizes, modes = [], set()
    for pos in rows:
        img = open_image(values.iloc[pos], base, values.index[pos], col)
        sizes.append(img.size)  # (W, H)
        modes.add(img.mode)
    gray = modes <= {"L", "1", "I", "I;16", "F", "LA"}
    if shape is not None:
        c, h, w = parse_shape(shape, None)
    else:
        w = int(np.median([s[0] for s in sizes]))
        h = int(np.median([s[1] for s in sizes]))
        scale = min(1.0, MAX_IMAGE_SIDE / max(h, w))
        h, w = max(1, round(h * scale)), max(1, round(w * scale))
        c = 1 if gray else 3
    evidence["image_paths"] = {
        "column": col,
        "sampled_files": len(rows),
        "sizes": sorted({f"{s[0]}x{s[1]}" for s in sizes}),
        "modes": sorted(modes),
        "resized_to": [h, w],
        "base_dir": base,
    }
    return _Decision(
        "spatial",
        "image",
        "image_paths",
        (c, h, w),
        0.95,
        f"column {col!r} holds image file paths ({len(rows)} sampled files opened, modes "
        f"{', '.join(sorted(modes))}): images resized to {h}x{w} with {c} channel(s)",
        [col],
        notes=[f"images from column {col!r} resized to {h}x{w}"],
    )


def parse_shape(shape: str | tuple[int, ...], n_cols: int | None) -> tuple[int, int, int]:
    """``HxW`` or ``HxWxC`` → ``(C, H, W)``; checked against the pixel count when given.

    Example:
        >>> parse_shape("28x28x1", 784)
        (1, 28, 28)
    """
    if isinstance(shape, str):
        try:
            dims = tuple(int(p) for p in re.split(r"[x×,]", shape.lower()) if p)
        except ValueError:
            raise UsageError(
                f"--shape {shape!r} is not of the form HxW or HxWxC (e.g. 28x28x1)."
            ) from None
    else:
        dims = tuple(shape)
    if len(dims) == 2:
        dims = (*dims, 1)
    if len(dims) != 3 or min(dims) < 1:
        raise UsageError(f"--shape {shape!r} is not of the form HxW or HxWxC (e.g. 28x28x1).")
    h, w, c = dims
    if n_cols is not None and h * w * c != n_cols:
        raise UsageError(
            f"--shape {shape!r} needs {h * w * c} pixel columns but the data has {n_cols} "
            "feature columns; give a shape whose product matches."
        )
    return (c, h, w)
