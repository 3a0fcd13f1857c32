"""Scaling out: trials per minute with 1 and 2 worker processes on PostgreSQL, one run.

Each configuration runs ``archselect fit datasets/gunpoint_train.csv --trials N`` against a
fresh PostgreSQL database (127.0.0.1:5432, user postgres); 1 worker = the fit process
itself, 2 workers = ``--jobs 2`` (two worker processes). Every process uses one torch thread.
The rate is measured from the trials' timestamps (benchmarks/_rate.py). Target: ratio >= 1.7
on 2 cores.

Every trial has the same cost: the benchmark passes search spaces in which every parameter
has one value (``_rate.FIXED_PARAMS``), so the two runs do the same work per trial whatever their
samplers draw, and pruning and early stopping are off (``fixed_space_args``), so every
trial trains the same epochs. Epochs per minute is printed as a check.

Usage: python benchmarks/scaling.py [--trials 16] [--families cnn1d,mlp]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _rate import fixed_space_args, study_rate  # noqa: E402

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
TARGET = 1.7


def _pg_database() -> tuple[str, object]:
    import psycopg2

    name = f"archselect_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(**PG)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    return name, admin


def run(workers: int, trials: int, families: str, data: Path) -> dict[str, float]:
    name, admin = _pg_database()
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    try:
        env = dict(os.environ, ARCHSELECT_STORAGE=url, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        env["PYTHONPATH"] = str(ROOT)
        with tempfile.TemporaryDirectory() as tmp:
            spaces = fixed_space_args(Path(tmp))
            cmd = [
                sys.executable, "-m", "archselect", "fit", str(data), "--trials", str(trials),
                "--families", families, "--jobs", str(workers), "--out", f"{tmp}/run", "--quiet",
                *spaces,
            ]  # fmt: skip
            subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        return study_rate(url)
    finally:
        from sqlalchemy.orm import close_all_sessions

        close_all_sessions()
        cur = admin.cursor()  # type: ignore[attr-defined]
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--families", default="cnn1d,mlp")
    parser.add_argument("--data", type=Path, default=ROOT / "datasets" / "gunpoint_train.csv")
    args = parser.parse_args()
    one = run(1, args.trials, args.families, args.data)
    two = run(2, args.trials, args.families, args.data)
    print(f"cores available: {len(os.sched_getaffinity(0))}")
    print(f"1 worker : {one['trials']} trials in {one['window_s']} s = {one['per_minute']}/min")
    print(f"2 workers: {two['trials']} trials in {two['window_s']} s = {two['per_minute']}/min")
    for name, r in (("1 worker ", one), ("2 workers", two)):
        print(f"{name}: {r['epochs']} epochs = {r['epochs_per_minute']} epochs/min")
    ratio = two["per_minute"] / max(one["per_minute"], 1e-9)
    work = two["epochs_per_minute"] / max(one["epochs_per_minute"], 1e-9)
    print(f"scaling ratio 2 vs 1 workers: trials/min {ratio:.2f}, epochs/min {work:.2f}")
    verdict = "OK" if ratio >= TARGET else "BELOW TARGET"
    print(f"trials/min ratio {ratio:.2f} (target >= {TARGET} on 2 cores): {verdict}")


if __name__ == "__main__":
    main()
