"""The layout registry: every layout by name, and the calls that dispatch on a layout.

A leaf of the package: it imports no layout module (``archselect.layouts`` fills it with the
built-in ones), so the value types and the default preparation can ask a layout for its
answers without an import circle. :class:`~archselect.layouts._preprocessing.Preprocessing`
is a plain value; turning rows into model input is the layout's :func:`transform`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from archselect.errors import UsageError

if TYPE_CHECKING:
    from archselect.layouts._base import LayoutPlugin
    from archselect.layouts._preprocessing import Preprocessing

#: Every registered layout by name (the built-in ones first; see ``register_layout``).
LAYOUTS: dict[str, LayoutPlugin] = {}


def plugin_for(name: str) -> LayoutPlugin:
    """The registered layout called ``name``.

    Raises:
        UsageError: No layout has that name.
    """
    try:
        return LAYOUTS[name]
    except KeyError:
        raise UsageError(
            f"Unknown layout {name!r}; this archselect knows {', '.join(LAYOUTS)}."
        ) from None


def transform(pre: Preprocessing, frame: pd.DataFrame) -> np.ndarray:
    """Raw rows → float32 model input of shape ``(N, *input_shape)``.

    The one path from a DataFrame to tensors (training, ``predict`` and the export); the
    layout's :attr:`~archselect.layouts.LayoutPlugin.transform` does the work. Image files
    resolve against ``frame.attrs["base_dir"]`` (set by ``load_table``). Text: int64 token
    ids ``(N, T)``. Forecast: every input window ``(N, W, C)`` of the (regularised,
    time-sorted) history, the last one last; with several series, each series' windows in
    turn (series in order of first appearance).
    """
    if pre.resample > 1:  # the layout's own shape first, then the shorter resolution
        own = dataclasses.replace(pre, input_shape=pre.source_shape, resample=1, source_shape=())
        return aggregate(plugin_for(pre.layout).transform(own, frame), pre.resample, pre.layout)
    return plugin_for(pre.layout).transform(pre, frame)


def aggregate(x: np.ndarray, k: int, layout: str) -> np.ndarray:
    """Piecewise-aggregate series ``(N, T, C)`` to ``(N, ceil(T / k), C)``: each new step is
    the mean of ``k`` consecutive steps (the last of fewer); on padded series (a layout whose
    last channel is the 0/1 mask of real steps) the mask's maximum, so a step is real when
    any step it averages is.

    Example:
        >>> x = np.arange(10, dtype=np.float32).reshape(1, 5, 2)
        >>> aggregate(x, 2, "series")[0].tolist()
        [[1.0, 2.0], [5.0, 6.0], [8.0, 9.0]]
    """
    if k <= 1:
        return x
    n, t, c = x.shape
    steps = -(-t // k)
    padded = np.full((n, steps * k, c), np.nan, dtype=np.float32)
    padded[:, :t] = x
    blocks = padded.reshape(n, steps, k, c)
    out = np.nanmean(blocks, axis=2).astype(np.float32)
    if plugin_for(layout).masked:
        out[..., -1] = np.nanmax(blocks[..., -1], axis=2)
    return out


def resampled(pre: Preprocessing, k: int) -> Preprocessing:
    """``pre`` with the resolution fidelity ``k`` (see :func:`aggregate`): its model input is
    ``ceil(T / k)`` steps long. ``k`` of 1 gives ``pre`` back at its own resolution."""
    base = pre.source_shape or pre.input_shape
    if k <= 1:
        return dataclasses.replace(pre, input_shape=base, resample=1, source_shape=())
    steps = -(-int(base[0]) // k)
    return dataclasses.replace(
        pre, input_shape=(steps, *base[1:]), resample=k, source_shape=tuple(base)
    )


def samples(pre: Preprocessing, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per model sample, in :func:`transform`'s order: the rows themselves, or where
    the layout groups rows into samples (long format) the first row of each id (ids in order
    of first appearance)."""
    if plugin_for(pre.layout).grouped:
        assert pre.id_column is not None
        return frame.drop_duplicates(pre.id_column)
    return frame


def reshape(x: np.ndarray, layout: str, input_shape: tuple[int, ...]) -> np.ndarray:
    """Flat (N, F) features → the layout's tensor shape (the layout's column order:
    :attr:`archselect.layouts.LayoutPlugin.columns`)."""
    return plugin_for(layout).to_tensor(x, tuple(input_shape))
