"""Profiler speed and memory on a 60,000 x 785 pixel CSV (MNIST-sized).

Prints, measured in the same run:

* (load + profile time) / (``pandas.read_csv(path, engine="pyarrow")`` time) — target <= 1.5;
* peak memory growth of load + profile / size of the pixels as a float32 array — target <= 3.

Each measurement runs in a fresh subprocess (so peak memory is that step's own), after the
imports; the file is read once beforehand so both start from a warm page cache. The two
are alternated ``--repeats`` times and the best time of each is kept.

Usage::

    python benchmarks/profile_speed.py [--rows 60000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SIDE = 28
TARGET_TIME_RATIO = 1.5
TARGET_MEMORY_RATIO = 3.0
CHUNK_ROWS = 5000

_CHILD = r"""
import json, resource, sys, time
import pandas as pd
sys.path.insert(0, {root!r})
import archselect  # noqa: F401  (imports are not part of the measurement)
from archselect.load import load_table
from archselect.profile import profile_table
import psutil
path, what = sys.argv[1], sys.argv[2]
before = psutil.Process().memory_info().rss
start = time.perf_counter()
if what == "pandas":
    frame = pd.read_csv(path, engine="pyarrow")
    info = {{"shape": list(frame.shape)}}
else:
    prof = profile_table(load_table(path))
    info = {{"modality": prof.modality, "layout": prof.layout, "shape": prof.input_shape}}
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": elapsed, "peak_growth": peak - before, **info}}))
"""


def write_pixels_csv(path: Path, rows: int, seed: int = 0) -> None:
    """``label, pixel0..pixel783``: smooth blob images as integers 0..255, written in chunks."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    names = ["label", *(f"pixel{i}" for i in range(SIDE * SIDE))]
    writer = None
    for start in range(0, rows, CHUNK_ROWS):
        n = min(CHUNK_ROWS, rows - start)
        img = np.zeros((n, SIDE, SIDE), dtype=np.float32)
        for _ in range(3):
            cy, cx = rng.uniform(4, 24, (2, n, 1, 1))
            s = rng.uniform(2, 5, (n, 1, 1))
            img += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s**2))
        pixels = np.clip(img / img.max(axis=(1, 2), keepdims=True) * 255, 0, 255)
        pixels = pixels.astype(np.int64).reshape(n, -1)
        pixels[pixels < 30] = 0  # blank background, as in MNIST
        labels = rng.integers(0, 10, n)
        columns = [pa.array(labels)] + [pa.array(pixels[:, j]) for j in range(SIDE * SIDE)]
        table = pa.Table.from_arrays(columns, names=names)
        if writer is None:
            writer = pacsv.CSVWriter(
                str(path), table.schema, write_options=pacsv.WriteOptions(quoting_style="none")
            )
        writer.write_table(table)
    assert writer is not None
    writer.close()


def _child(path: Path, what: str) -> dict[str, float]:
    code = _CHILD.format(root=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), what], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pixels.csv"
        t0 = time.perf_counter()
        write_pixels_csv(path, args.rows)
        size_mb = path.stat().st_size / 2**20
        print(
            f"wrote {args.rows} x 785 CSV ({size_mb:.0f} MiB) in {time.perf_counter() - t0:.1f}s"
        )
        path.read_bytes()  # warm the page cache for both readers
        pandas_runs, ours_runs = [], []
        for _ in range(args.repeats):
            pandas_runs.append(_child(path, "pandas"))
            ours_runs.append(_child(path, "archselect"))
        best_pandas = min(r["seconds"] for r in pandas_runs)
        best_ours = min(r["seconds"] for r in ours_runs)
        peak = min(r["peak_growth"] for r in ours_runs)
        float32_bytes = args.rows * SIDE * SIDE * 4
        print(
            f"profile: {ours_runs[0]['modality']} {ours_runs[0]['layout']} {ours_runs[0]['shape']}"
        )
        print(f"pandas.read_csv(engine='pyarrow'): {best_pandas:.2f}s (best of {args.repeats})")
        print(f"archselect load + profile:        {best_ours:.2f}s (best of {args.repeats})")
        ratio = best_ours / best_pandas
        mem = peak / float32_bytes
        print(
            f"time ratio (load+profile / read_csv): {ratio:.2f}  (target <= {TARGET_TIME_RATIO})"
        )
        print(
            f"peak memory / float32 array: {mem:.2f}  ({peak / 2**20:.0f} MiB / "
            f"{float32_bytes / 2**20:.0f} MiB; target <= {TARGET_MEMORY_RATIO})"
        )
        pandas_mem = min(r["peak_growth"] for r in pandas_runs) / float32_bytes
        print(f"(for reference, pandas.read_csv alone: {pandas_mem:.2f}x the float32 array)")


if __name__ == "__main__":
    main()
