"""Text and forecasting on the shipped data: each family's test metric against the baselines.

Fits ``datasets/co2_monthly.csv`` (forecast; RMSE, MAE, MASE on the latest 20 % of months),
``datasets/movie_reviews_en.csv`` (English, word tokens) and ``datasets/reviews_zh.csv``
(Chinese, character tokens; accuracy) with a fixed budget each, then prints one row per
family (its best trial's test metric) and per baseline, and the exported model's test
metric. Also runs ``predict`` on the forecast run and prints the next horizon.

    python benchmarks/text_forecast.py [--timeout 3m] [--trials N] [--only co2_monthly ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import archselect
from archselect.cli import parse_duration

ROOT = Path(__file__).resolve().parent.parent
SETS = ("co2_monthly", "movie_reviews_en", "reviews_zh")


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if metric == "accuracy" else f"{value:.3f}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--timeout", default="3m", help="budget per data set (default 3m)")
    ap.add_argument("--trials", type=int, default=None, help="trial budget per data set")
    ap.add_argument("--only", nargs="+", choices=SETS, default=list(SETS))
    ap.add_argument("--out", type=Path, default=None, help="keep the run directories here")
    args = ap.parse_args(argv)
    root = args.out or Path(tempfile.mkdtemp(prefix="archselect-bench-"))
    for name in args.only:
        start = time.perf_counter()
        run = archselect.fit(
            ROOT / "datasets" / f"{name}.csv",
            out=root / name,
            timeout=parse_duration(args.timeout),
            trials=args.trials,
            force=True,
        )
        elapsed = time.perf_counter() - start
        rec, result = run.recommendation, run.search_result
        metric = rec.metric
        print(f"\n== {name}: {run.profile.decision} ({elapsed:.0f} s)")
        print(f"{'model':<28} {'val ' + metric:>12} {'test ' + metric:>12} {'MAE':>8} {'MASE':>8}")
        for f in rec.families:
            print(
                f"{f.family:<28} {_fmt(f.val_metric, metric):>12} "
                f"{_fmt(f.test_metric, metric):>12} "
                f"{_fmt(f.extra_metrics.get('test_mae'), 'x'):>8} "
                f"{_fmt(f.extra_metrics.get('test_mase'), 'x'):>8}  ({f.completed} trials)"
            )
        for b in result.baselines:
            print(
                f"{b.name + ' (baseline)':<28} {_fmt(b.val_metric, metric):>12} "
                f"{_fmt(b.test_metric, metric):>12} "
                f"{_fmt(b.extra_metrics.get('test_mae'), 'x'):>8} "
                f"{_fmt(b.extra_metrics.get('test_mase'), 'x'):>8}"
            )
        print(
            f"winner {rec.family}; exported model test {metric} "
            f"{_fmt(rec.final_test_metric, metric)}"
        )
        if run.profile.layout == "forecast":
            print(run.predict(ROOT / "datasets" / f"{name}.csv").to_string(index=False))
    print(f"\nrun directories: {root}")


if __name__ == "__main__":
    main()
