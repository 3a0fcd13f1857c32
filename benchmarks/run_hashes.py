"""Hash what a refactoring must not change: fit four small data sets with a fixed trial
budget and print, per set, a hash of the profile, the plan (without the run's time and
machine), each trial's family, state, parameters and metrics, and the recommendation's choice
and figures. Run it on two checkouts and compare the lines (same hashes: same behaviour).

Usage (from a checkout's root, with its .venv):
    python benchmarks/run_hashes.py --out /tmp/hashes_new
    python benchmarks/run_hashes.py --repo /tmp/old_checkout --out /tmp/hashes_old

Measured for the house step two (issue 32): bcb5959 and fa25fe0 print the same 16 hashes
(digits 200 rows, GunPoint, breast cancer 200 rows, CO2 monthly forecast; 3 trials, seed 0).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parents[1]
DATASETS = HERE / "datasets"
SPACE = HERE / "tests" / "spaces" / "tiny_shared.toml"
TRIALS = "3"
#: trials.csv columns that are the same in every run of the same command (no timings).
STABLE_COLUMNS = (
    "kind",
    "number",
    "family",
    "name",
    "state",
    "val_metric",
    "test_metric",
    "epochs",
    "best_epoch",
    "params",
)
#: recommendation.json fields that state the choice and its figures.
STABLE_FIELDS = (
    "family",
    "recommended",
    "kind",
    "trial",
    "val_metric",
    "test_metric",
    "final_test_metric",
    "runner_up",
    "margin",
    "margin_interval",
)


def _cases(data: Path) -> dict[str, Path]:
    data.mkdir(parents=True, exist_ok=True)
    pd.read_csv(DATASETS / "digits.csv").iloc[:200].to_csv(data / "digits200.csv", index=False)
    pd.read_csv(DATASETS / "breast_cancer.csv").iloc[:200].to_csv(data / "bc200.csv", index=False)
    return {
        "digits200": data / "digits200.csv",
        "gunpoint": DATASETS / "gunpoint_train.csv",
        "bc200": data / "bc200.csv",
        "co2": DATASETS / "co2_monthly.csv",
    }


def _parts(run: Path) -> dict[str, str]:
    plan = json.loads((run / "plan.json").read_text())
    plan.pop("run", None)
    trials = pd.read_csv(run / "trials.csv")
    trials = trials[[c for c in STABLE_COLUMNS if c in trials.columns]].round(6)
    rec = json.loads((run / "recommendation.json").read_text())
    return {
        "profile": json.dumps(json.loads((run / "profile.json").read_text()), sort_keys=True),
        "plan": json.dumps(plan, sort_keys=True),
        "trials": trials.to_csv(index=False),
        "rec": json.dumps({k: rec.get(k) for k in STABLE_FIELDS}, sort_keys=True, default=str),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=HERE, help="the checkout to run")
    parser.add_argument("--out", type=Path, required=True, help="folder for the run dirs")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(args.repo))
    for name, data in _cases(args.out / "data").items():
        run = args.out / name
        cmd = [
            sys.executable,
            "-m",
            "archselect",
            "fit",
            str(data),
            "--trials",
            TRIALS,
            "--seed",
            "0",
            "--space",
            str(SPACE),
            "--out",
            str(run),
            "--quiet",
            "--force",
        ]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=args.repo)
        if done.returncode != 0:
            print(f"{name}: exit {done.returncode}: {done.stderr.strip()[-300:]}")
            continue
        hashes = {k: hashlib.sha256(v.encode()).hexdigest()[:12] for k, v in _parts(run).items()}
        print(name, " ".join(f"{k}={v}" for k, v in hashes.items()), flush=True)


if __name__ == "__main__":
    main()
