"""On CPU, is one process with every thread or one single-threaded process per core faster?

Runs the same search (GunPoint, fixed trial budget, default SQLite storage) twice in one
run: ``--jobs 1`` with torch using every core, then ``--jobs <cores>`` with one thread per
process, and prints trials per minute of each (measured from the trials' timestamps, see
benchmarks/_rate.py) and their ratio. Every trial is the same model trained the same way
(``_rate.FIXED_PARAMS``), with pruning and early stopping off, so trials per minute compare
like with like; epochs per minute is printed as a check. archselect's default
(archselect/_parallel.py, CPU_PARALLEL_PROCESSES) follows this measurement.

Usage: python benchmarks/cpu_parallel.py [--trials 16] [--families cnn1d,mlp]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _rate import fixed_space_args, study_rate  # noqa: E402


def run(jobs: int, threads: int, trials: int, families: str, data: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        env["PYTHONPATH"] = str(ROOT)
        env.pop("ARCHSELECT_STORAGE", None)
        cmd = [
            sys.executable, "-m", "archselect", "fit", str(data), "--trials", str(trials),
            "--families", families, "--jobs", str(jobs), "--out", str(out), "--quiet",
            *fixed_space_args(Path(tmp)),
        ]  # fmt: skip
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        return study_rate(f"sqlite:///{out / 'study.db'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--families", default="cnn1d,mlp")
    parser.add_argument("--data", type=Path, default=ROOT / "datasets" / "gunpoint_train.csv")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    one = run(1, cores, args.trials, args.families, args.data)
    many = run(cores, 1, args.trials, args.families, args.data)
    print(f"cores: {cores}")
    print(f"1 process x {cores} threads : {one['per_minute']} trials/min")
    print(f"{cores} processes x 1 thread: {many['per_minute']} trials/min")
    for name, r in (("1 process ", one), (f"{cores} processes", many)):
        print(f"{name}: {r['epochs']} epochs = {r['epochs_per_minute']} epochs/min")
    ratio = many["per_minute"] / max(one["per_minute"], 1e-9)
    work = many["epochs_per_minute"] / max(one["epochs_per_minute"], 1e-9)
    print(f"processes / threads ratio: trials/min {ratio:.2f}, epochs/min {work:.2f}")
    print(f"trials/min ratio {ratio:.2f} (> 1: parallel processes are faster)")


if __name__ == "__main__":
    main()
