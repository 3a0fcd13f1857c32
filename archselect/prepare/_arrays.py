"""The prepared arrays, written once by ``fit`` and memory-mapped by every local process.

Trial workers and reference jobs read the same ``.npy`` files (``RUN_DIR/.work/arrays``),
so the data is loaded, profiled and prepared once, by the ``fit`` process, while the
workers are still importing torch; nothing is prepared again per process, and the pages
are shared. The folder is one of the run directory's own files
(``archselect.rundir.WORK``) and is removed when the run ends.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from archselect.layouts import ForecastOrigins, Preprocessing
from archselect.prepare._splits import PlotSeries, Prepared, Split

__all__ = ["ARRAY_NAMES", "load_prepared", "save_prepared"]

#: The arrays of a :class:`Prepared`, one ``.npy`` file each.
ARRAY_NAMES = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
#: The rest of it (preprocessing, split, forecast extras), as JSON.
META = "prepared.json"


def _origins_to_json(origins: ForecastOrigins | None) -> dict[str, Any] | None:
    """A forecast's origins as JSON (each series' values as a list of numbers)."""
    if origins is None:
        return None
    out: dict[str, Any] = {}
    for f in dataclasses.fields(origins):
        value = getattr(origins, f.name)
        if f.name == "values":
            value = [np.asarray(v, dtype=np.float64).tolist() for v in value]
        out[f.name] = value
    return out


def _origins_from_json(raw: dict[str, Any] | None) -> ForecastOrigins | None:
    if raw is None:
        return None
    tuples = {k: tuple(tuple(x) if isinstance(x, list) else x for x in v)
              for k, v in raw.items() if isinstance(v, list) and k != "values"}  # fmt: skip
    values = tuple(np.asarray(v, dtype=np.float64) for v in raw["values"])
    return ForecastOrigins(**{**raw, **tuples, "values": values})


def save_prepared(prepared: Prepared, folder: Path) -> Path:
    """Write ``prepared`` to ``folder`` (arrays as ``.npy``, the rest as JSON); the JSON is
    written last, by rename, so a reader that finds it finds every array.

    Example:
        >>> import numpy as np, pandas as pd, tempfile
        >>> from archselect.load import load_table
        >>> from archselect.prepare import load_prepared, prepare, save_prepared
        >>> from archselect.profile import profile_table
        >>> rng = np.random.default_rng(0)
        >>> frame = pd.DataFrame({"a": rng.normal(size=60), "y": [0, 1] * 30})
        >>> table = load_table(frame)
        >>> p = prepare(table, profile_table(table))
        >>> folder = save_prepared(p, Path(tempfile.mkdtemp()))
        >>> q = load_prepared(folder)
        >>> bool((q.x_train == p.x_train).all()), q.preprocessing == p.preprocessing
        (True, True)
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name in ARRAY_NAMES:
        np.save(folder / f"{name}.npy", np.ascontiguousarray(getattr(prepared, name)))
    meta: dict[str, Any] = {
        **prepared.to_dict(),
        "times": list(prepared.times),
        "series": list(prepared.series),
        "plot": prepared.plot.to_dict() if prepared.plot is not None else None,
        "window_series": list(prepared.window_series),
        "window_target_times": list(prepared.window_target_times),
        "origins": _origins_to_json(prepared.origins),
    }
    tmp = folder / (META + ".tmp")
    tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(tmp, folder / META)
    return folder


def load_prepared(folder: Path) -> Prepared:
    """The :class:`Prepared` saved in ``folder``, its arrays memory-mapped read-only."""
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in ARRAY_NAMES}
    plot = meta.get("plot")
    return Prepared(
        preprocessing=Preprocessing.from_dict(meta["preprocessing"]),
        split=Split.from_dict(meta["split"]),
        notes=tuple(meta.get("notes", ())),
        times=tuple(meta.get("times", ())),
        series=tuple(meta.get("series", ())),
        plot=PlotSeries.from_dict(plot) if plot else None,
        window_series=tuple(meta.get("window_series", ())),
        window_target_times=tuple(meta.get("window_target_times", ())),
        origins=_origins_from_json(meta.get("origins")),
        **arrays,
    )
