"""Does ``make demo`` use both cores (issue 29)? The CPU use of each phase of its fit.

Runs ``make demo``'s command (``archselect fit datasets/digits.csv --trials 12``) in a fresh
process while :class:`fair_fight.Sampler` reads, every half second, the CPU seconds of the
fit's whole process tree (psutil) and the machine's busy share (``/proc/stat``). Printed, all
measured in this run: for each phase of ``recommendation.json``'s phase seconds (start, load,
profile, prepare, baselines, search, length latency, controls, final model, report) its wall
seconds and the tree's CPU seconds / (wall x cores), then the same over the whole command.
The phases after the search (the controls and the final model) run on two lanes: ``fit``'s
process and a job of the run's job server beside it.

    python benchmarks/demo_cpu.py [--trials 12] [--data datasets/digits.csv] [--keep DIR]

Target: the search, the controls and the final model each ≥ 0.8 of all cores on a quiet
2-core machine (a phase of a few seconds is noise: its row says so).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fair_fight import run_sampled

ROOT = Path(__file__).resolve().parents[1]
#: Phases that must keep every core busy, and the share they must reach.
BUSY_PHASES = ("search", "controls", "final model")
TARGET = 0.80
#: A phase shorter than this many seconds holds too few samples to judge.
SHORT_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--data", type=Path, default=ROOT / "datasets" / "digits.csv")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    out = (args.keep or Path(tempfile.mkdtemp(prefix="demo_cpu_"))) / "run"
    cmd = [sys.executable, "-m", "archselect", "fit", str(args.data), "--trials"]
    cmd += [str(args.trials), "--out", str(out), "--force", "-q"]
    wall, sampler = run_sampled(cmd, args.data.name)
    phases = json.loads((out / "recommendation.json").read_text())["phase_seconds"]
    cores = psutil.cpu_count() or 1
    print(f"{cores} cores; {args.data.name}, --trials {args.trials}; wall {wall:.0f} s")
    print(f"   {'phase':<16} {'wall s':>7} {'cpu/cores':>10}  machine busy")
    at = sampler.started
    for name, seconds in phases.items():
        if name == "total" or name.startswith("trials: "):
            continue
        cpu, busy = sampler.between(at, at + seconds)
        mark = ""
        if name in BUSY_PHASES:
            short = seconds < SHORT_S
            mark = "(short)" if short else ("ok" if cpu >= TARGET else f"below {TARGET:.0%}")
        print(f"   {name:<16} {seconds:>7.1f} {cpu:>10.0%}  {busy:>6.0%}  {mark}")
        at += seconds
    cpu, busy = sampler.between(sampler.started, sampler.started + wall)
    print(f"   {'whole command':<16} {wall:>7.1f} {cpu:>10.0%}  {busy:>6.0%}")


if __name__ == "__main__":
    main()
