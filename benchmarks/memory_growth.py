"""Resident memory over 50 trials, half of which fail after allocating 32 MiB.

Prints the RSS after the 10-trial warm-up, the largest RSS over the next 40 trials, and
the growth, next to the bound the slow test asserts
(``tests/search/test_trial_faults.py::MAX_RSS_GROWTH_MB``). Run from the repository root:

    python -m benchmarks.memory_growth
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.test_trial_faults import MAX_RSS_GROWTH_MB, register_fault_builders, rss_over_trials

import archselect.train as train
from tests.conftest import FAST_SHARED

N_TRIALS = 50
WARMUP = 10
#: The test suite's short-training setting, so 50 trials take about a minute.
FAST_MIN_STEPS = 20


def main() -> None:
    train.MIN_STEPS = FAST_MIN_STEPS
    register_fault_builders()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shared = folder / "shared.toml"
        shared.write_text(FAST_SHARED)
        rss, trials = rss_over_trials(folder, shared, N_TRIALS)
    base = rss[WARMUP - 1]
    peak = max(rss[WARMUP:])
    states = trials["state"].value_counts().to_dict()
    print(f"trials: {len(rss)} ({states})")
    print(
        f"RSS after {WARMUP} trials: {base:.1f} MiB; max over the next {len(rss) - WARMUP}: "
        f"{peak:.1f} MiB"
    )
    print(
        f"growth: {peak - base:.1f} MiB (bound {MAX_RSS_GROWTH_MB:.0f} MiB; a leak of the "
        f"failing trials' 32 MiB would add ~{32 * (len(rss) - WARMUP) // 2} MiB)"
    )
    print("per-trial RSS (MiB): " + " ".join(f"{v:.0f}" for v in rss))


if __name__ == "__main__":
    main()
