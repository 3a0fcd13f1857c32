"""The image layout: a column of image file paths (detection, opening the files) or pixel
columns given as an image by the user (wide pixels found from structure: the ``wide``
detector of :mod:`.series`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archselect.core.data import Profile
from archselect.core.kinds import LAYOUT_TRAITS, Form, LayoutName, Modality
from archselect.core.specs import ImageSpec
from archselect.errors import DataError, UsageError
from archselect.layouts._base import (
    ColumnOrder,
    Decision,
    DetectContext,
    Detector,
    LayoutPlugin,
    OnnxInput,
    feature_baselines,
)
from archselect.layouts._prepare_rows import (
    base_preprocessing,
    check_numeric_features,
    feature_transform,
    feature_values,
    fit_feature_preprocessing,
    with_scaling,
)
from archselect.layouts._preprocessing import Preprocessing
from archselect.layouts._structure import _colour_name_order, _image_sides
from archselect.layouts._wide import _decide_wide
from archselect.layouts.constants import (
    IMAGE_EXTENSIONS,
    IMAGE_PATH_MIN_FRACTION,
    IMAGE_SAMPLE_FILES,
    MAX_IMAGE_SIDE,
    N_COLOUR_CHANNELS,
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
) -> Decision:
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
    return Decision(
        Modality.SPATIAL,
        LayoutName.IMAGE,
        Form.IMAGE_PATHS,
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


def _forced_image(
    frame: pd.DataFrame, numeric: list[str], other: list[str], shape: str | None, seed: int,
    evidence: dict[str, Any],
) -> Decision:  # fmt: skip
    if other:
        raise DataError(
            f"Image pixels must be numeric, but column {other[0]!r} is not; "
            "remove non-pixel columns or fix their values."
        )
    detected = _decide_wide(frame, numeric, seed, evidence) if len(numeric) > 1 else None
    if shape is not None:
        c, h, w = parse_shape(shape, len(numeric))
    elif detected is not None and detected.layout == LayoutName.IMAGE:
        c, h, w = detected.input_shape
    else:
        sides = _image_sides(len(numeric))
        if not sides:
            raise UsageError(
                f"{len(numeric)} pixel columns do not factorise into an image; "
                "give the shape with --shape HxWxC."
            )
        c, (h, w) = 1, sides[0]
    columns = list(numeric)
    if detected is not None and detected.input_shape == (c, h, w):
        columns = detected.feature_columns  # channel order as detected
    elif c == N_COLOUR_CHANNELS:
        named = _colour_name_order(numeric)
        planar = (named is not None and named[0] == "planar") or evidence.get(
            "channel_order"
        ) == "planar"
        if named is not None:
            columns = [ch[p] for p in range(h * w) for ch in named[1]]
        elif planar:
            columns = [numeric[k * h * w + p] for p in range(h * w) for k in range(c)]
    return Decision(
        Modality.SPATIAL, LayoutName.IMAGE, Form.WIDE_PIXELS, (c, h, w), 1.0,
        "image layout given by the user", columns,
    )  # fmt: skip


def _detect_paths(ctx: DetectContext) -> Decision | None:
    """``image.paths``: a column of image file paths; other columns are left out."""
    if ctx.want not in (None, LayoutName.IMAGE):
        return None
    paths = _image_path_columns(ctx.features, ctx.other)
    if not paths:
        return None
    shape = ctx.shape if isinstance(ctx.shape, str) or ctx.shape is None else None
    result = _detect_image_paths(ctx.frame, paths, shape, ctx.evidence)
    extra = [c for c in ctx.numeric + ctx.other if c != paths[0]]
    result.dropped += extra
    result.notes += [f"column {c!r} dropped: not used with image files" for c in extra]
    return result


def _detect_given(ctx: DetectContext) -> Decision | None:
    """``image.given``: pixel columns the user names an image (``--layout image``/``--shape``)."""
    if ctx.want != LayoutName.IMAGE:
        return None
    shape = "x".join(map(str, ctx.shape)) if isinstance(ctx.shape, tuple) else ctx.shape
    return _forced_image(ctx.features, ctx.numeric, ctx.other, shape, ctx.seed, ctx.evidence)


def _spec(decision: Decision) -> ImageSpec:
    c, h, w = decision.input_shape
    paths = decision.form == Form.IMAGE_PATHS
    return ImageSpec(
        channels=c, height=h, width=w,
        path_column=decision.feature_columns[0] if paths else None,
    )  # fmt: skip


def _pixel_order(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Wide pixels arrive row-major with the channels interleaved: ``(H, W, C)`` per row."""
    c, h, w = input_shape
    return (h, w, c)


# --- preparation ---------------------------------------------------------------------------


def _image_tensor(pre: Preprocessing, frame: pd.DataFrame) -> np.ndarray:
    """Image files → (N, C, H, W), resized, standardised per channel."""
    from PIL import Image

    (col,) = pre.feature_columns
    c, h, w = pre.input_shape
    if col not in frame.columns:
        raise DataError(
            f"The data lacks the image column {col!r} the model was trained on; "
            "pass rows with that column."
        )
    base = frame.attrs.get("base_dir")
    out = np.empty((len(frame), c, h, w), dtype=np.float32)
    mode = "L" if c == 1 else "RGB"
    for i, (row, value) in enumerate(frame[col].items()):
        img = open_image(value, base, row, col).convert(mode)
        if img.size != (w, h):
            img = img.resize((w, h), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.float32)
        out[i] = arr[None] if c == 1 else arr.transpose(2, 0, 1)
    mean = np.asarray(pre.mean, dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(pre.std, dtype=np.float32).reshape(-1, 1, 1)
    if len(pre.mean):
        out -= mean
        out /= std
    return out


def _fit_preprocessing(train: pd.DataFrame, profile: Profile) -> tuple[Preprocessing, list[str]]:
    """Wide pixels: as a table, scaled per channel; image files: one mean/std per channel of
    the decoded (resized) training images."""
    if profile.form != Form.IMAGE_PATHS:
        return fit_feature_preprocessing(train, profile)
    pre = base_preprocessing(profile, np.zeros(0), {})
    images = _image_tensor(pre, train)  # raw pixel values: no scaling fitted yet
    mean, std = images.mean(axis=(0, 2, 3)), images.std(axis=(0, 2, 3))
    return with_scaling(profile, pre, train, mean, std), []


def _transform(pre: Preprocessing, frame: pd.DataFrame) -> np.ndarray:
    """Wide pixels: as a table, reshaped to ``(N, C, H, W)``; image files: decoded."""
    if pre.form == Form.IMAGE_PATHS:
        return _image_tensor(pre, frame)
    return feature_transform(pre, frame)


def _image_file_matrix(frame: pd.DataFrame, column: str, shape: tuple[int, ...]) -> np.ndarray:
    """Pixels of the image files named in ``column``, resized to ``shape`` (C, H, W), as rows
    laid out (H, W, C) like wide pixel columns."""
    from PIL import Image

    c, h, w = shape
    mode = "L" if c == 1 else "RGB"
    out = np.empty((len(frame), h * w * c), dtype=np.float64)
    base = frame.attrs.get("base_dir")
    for i, (row, value) in enumerate(frame[column].items()):
        img = open_image(value, base, row, column).convert(mode)
        if img.size != (w, h):
            img = img.resize((w, h), Image.Resampling.BILINEAR)
        out[i] = np.asarray(img, dtype=np.float64).reshape(-1)
    return out


def _preview_values(frame: pd.DataFrame, profile: Profile) -> np.ndarray:
    """Wide pixels: the columns; image files: their pixels, laid out like wide pixels."""
    if profile.form == Form.IMAGE_PATHS:
        (col,) = profile.feature_columns
        return _image_file_matrix(frame, col, tuple(profile.input_shape))
    return feature_values(frame, profile)


def _check_rows(frame: pd.DataFrame, profile: Profile) -> None:
    """Wide pixels: every cell numeric; image files are checked as they are opened."""
    if profile.form != Form.IMAGE_PATHS:
        check_numeric_features(frame, profile)


#: The image layout (wide pixels found from structure come from the ``wide`` detector).
LAYOUT = LayoutPlugin(
    name=LayoutName.IMAGE,
    modality=Modality.SPATIAL,
    forms=(Form.WIDE_PIXELS, Form.IMAGE_PATHS),
    spec_type=ImageSpec,
    detectors=(Detector("image.paths", _detect_paths), Detector("image.given", _detect_given)),
    spec_from=_spec,
    traits=LAYOUT_TRAITS[LayoutName.IMAGE],
    baselines=feature_baselines,
    options=("--shape",),
    columns=ColumnOrder(_pixel_order, axes=(2, 0, 1), channel=2),  # fed as (C, H, W)
    onnx_inputs={Form.WIDE_PIXELS: OnnxInput.COLUMNS, Form.IMAGE_PATHS: OnnxInput.IMAGES},
    fit_preprocessing=_fit_preprocessing,
    transform=_transform,
    check_rows=_check_rows,
    preview_values=_preview_values,
)
