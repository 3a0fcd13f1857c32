"""Does the data show its own structure? The profile's reading, the order control and the
learning curves on sets with order, their shuffled twins, a table and offset-dominated
spectra (issue 31).

For each set, in a fresh process: ``archselect profile`` (the reading on the columns as
given) and ``archselect fit --timeout BUDGET --seed 0``; printed, all from this run:

* the reading: layout, confidence, and both readings when the profile was unsure;
* the order control: in order / shuffled, the drop with its 95 % interval, and whether the
  model uses the order — target: the interval excludes 0 on every ordered set (above 0)
  and includes 0 on every shuffled twin and the table ("no order to use" counts);
* the learning curves' slope per doubling of the rows, per candidate;
* the controls' cost: the ``controls`` phase over the budget — target ≤ 0.20;
* offset-dominated spectra read as a sequence (target).

A shuffled twin is fitted with its original's layout given (``--layout series`` or
``--shape 8x8``), so that a deep network trains on the shuffled order and the control
shuffles it once more: the experiment the control makes, on data whose order was already
destroyed. Its ``profile`` reading (without the option) is printed beside it.

Sets (nothing is downloaded): an MNIST-1D-like set (4,000 × 40, ten shifted, scaled and
noised templates; the real MNIST-1D with ``--mnist1d CSV``) and its time-shuffled twin,
scikit-learn's digits (8 × 8) and its pixel-permuted twin, scikit-learn's breast cancer
(a table), GunPoint (the repository's train + test rows, 200 × 150), and synthetic spectra
(300 × 150, a per-row offset and slope far above three bands; regression on one band).

    python benchmarks/structure.py [--timeout 3m] [--only digits,spectra] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archselect.cli import parse_duration  # noqa: E402

#: Targets (see the module docstring).
MAX_CONTROLS_SHARE = 0.20
SEED = 0


@dataclass(frozen=True)
class Set:
    """A benchmark set: how to build its frame, the target column, what it should show."""

    build: Callable[[argparse.Namespace], pd.DataFrame]
    target: str
    #: ``ordered`` (the control's interval above 0), ``none`` (it includes 0), ``sequence``
    #: (the profile must read a sequence; the control is printed).
    expect: str
    #: Options for ``fit`` (a shuffled twin gets its original's layout).
    fit_options: tuple[str, ...] = ()


def _wide(x: np.ndarray, y: np.ndarray, prefix: str = "t") -> pd.DataFrame:
    frame = pd.DataFrame(x, columns=[f"{prefix}{i}" for i in range(x.shape[1])])
    frame["label"] = y
    return frame


def _mnist1d(args: argparse.Namespace) -> pd.DataFrame:
    """The real MNIST-1D training rows when given, else a synthetic set of the same recipe
    (Greydanus 2020: ten templates, each shifted, scaled, sheared and noised per sample)."""
    if args.mnist1d:
        return pd.read_csv(args.mnist1d)
    rng = np.random.default_rng(SEED)
    n, length, grid = 4000, 40, np.linspace(0, 1, 12)
    templates = rng.normal(size=(10, 12))
    y = rng.integers(0, 10, n)
    t = np.linspace(0, 1, length)
    x = np.empty((n, length))
    for i, c in enumerate(y):
        shift, scale = rng.uniform(-0.2, 0.2), rng.uniform(0.8, 1.2)
        base = np.interp((t - shift) * scale, grid, templates[c])
        x[i] = base + rng.uniform(-0.5, 0.5) * (t - 0.5) + 0.25 * rng.normal(size=length)
    return _wide(x, y)


def _shuffled(build: Callable[[argparse.Namespace], pd.DataFrame], target: str):  # type: ignore[no-untyped-def]
    """The same rows with the feature columns in one fixed random order, renamed in that
    order (so no name gives the old order away)."""

    def make(args: argparse.Namespace) -> pd.DataFrame:
        frame = build(args)
        features = [c for c in frame.columns if c != target]
        order = np.random.default_rng(SEED + 1).permutation(len(features))
        out = frame[[features[i] for i in order]].copy()
        out.columns = [f"c{i}" for i in range(len(features))]
        out[target] = frame[target].to_numpy()
        return out

    return make


def _digits(_args: argparse.Namespace) -> pd.DataFrame:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _wide(bunch.data, bunch.target, prefix="pixel")


def _breast_cancer(_args: argparse.Namespace) -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    return _wide(bunch.data, bunch.target, prefix="f")


def _gunpoint(_args: argparse.Namespace) -> pd.DataFrame:
    parts = [pd.read_csv(ROOT / "datasets" / f"gunpoint_{s}.csv") for s in ("train", "test")]
    return pd.concat(parts, ignore_index=True)


def _spectra(_args: argparse.Namespace) -> pd.DataFrame:
    """Three Gaussian bands (heights ~1) on a per-row offset (sd 5) and slope (sd 2); the
    target is the middle band's height."""
    rng = np.random.default_rng(SEED)
    n, length = 300, 150
    w = np.linspace(0, 1, length)
    conc = rng.uniform(0, 1, n)
    heights = np.stack([rng.uniform(0.5, 1.5, n), conc, rng.uniform(0.2, 1.0, n)], axis=1)
    bands = sum(
        heights[:, [k]] * np.exp(-((w - c) ** 2) / (2 * s**2))
        for k, (c, s) in enumerate(((0.25, 0.04), (0.5, 0.06), (0.72, 0.03)))
    )
    x = rng.normal(0, 5, (n, 1)) + rng.normal(0, 2, (n, 1)) * w + bands
    frame = pd.DataFrame(x + 0.01 * rng.normal(size=(n, length)))
    frame.columns = [f"nm{900 + 4 * i}" for i in range(length)]
    frame["concentration"] = conc
    return frame


SETS: dict[str, Set] = {
    "mnist1d": Set(_mnist1d, "label", "ordered"),
    "mnist1d_shuffled": Set(_shuffled(_mnist1d, "label"), "label", "none", ("--layout", "series")),
    "digits": Set(_digits, "label", "ordered"),
    "digits_permuted": Set(_shuffled(_digits, "label"), "label", "none", ("--shape", "8x8")),
    "breast_cancer": Set(_breast_cancer, "label", "none"),
    "gunpoint": Set(_gunpoint, "label", "ordered"),
    "spectra": Set(_spectra, "concentration", "sequence"),
}


def _archselect(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("archselect")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, check=False)


def _reading(csv: Path, target: str) -> dict:  # type: ignore[type-arg]
    res = _archselect("profile", str(csv), "--target", target, "--json")
    if res.returncode != 0:
        return {"error": res.stderr.strip()[-300:]}
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def _control_text(control: dict | None, metric: str) -> str:  # type: ignore[type-arg]
    if not control:
        return "not measured"
    if control.get("interval") is None:
        return f"{control.get('note') or 'no interval'}"
    unit = 100.0 if metric == "accuracy" else 1.0
    lo, hi = (v * unit for v in control["interval"])
    return (
        f"{control['family']}: in order {control['in_order']:.4g}, shuffled "
        f"{control['shuffled']:.4g}, drop {control['diff'] * unit:+.3g} [{lo:+.3g}, {hi:+.3g}]"
        f"{' (uses the order)' if control['uses_order'] else ''}"
    )


def _meets(expect: str, profile: dict, control: dict | None) -> bool:  # type: ignore[type-arg]
    interval = (control or {}).get("interval")
    if expect == "ordered":
        return interval is not None and interval[0] > 0
    if expect == "none":
        return control is not None and (interval is None or interval[0] <= 0 <= interval[1])
    return profile.get("layout") == "series"


def run_set(name: str, spec: Set, args: argparse.Namespace, work: Path) -> bool:
    """Fit one set and print its line; whether it meets its targets."""
    csv = work / f"{name}.csv"
    spec.build(args).to_csv(csv, index=False)
    reading = _reading(csv, spec.target)
    out = work / name
    start = time.perf_counter()
    res = _archselect(
        "fit", str(csv), "--target", spec.target, "--timeout", args.timeout, "--seed",
        str(SEED), "--out", str(out), "--force", *spec.fit_options,
    )  # fmt: skip
    wall = time.perf_counter() - start
    if res.returncode != 0:
        print(f"{name}: fit failed (exit {res.returncode}): {res.stderr.strip()[-300:]}")
        return False
    rec = json.loads((out / "recommendation.json").read_text())
    profile = json.loads((out / "profile.json").read_text())
    budget = parse_duration(args.timeout)
    share = rec.get("phase_seconds", {}).get("controls", 0.0) / budget
    both = (
        f", both readings {tuple(reading.get('readings', ()))}" if reading.get("readings") else ""
    )
    curves = "; ".join(
        f"{c['candidate']} {c['slope_per_doubling']:+.3g}/doubling"
        for c in rec.get("learning_curves", ())
        if c.get("slope_per_doubling") is not None
    )
    ok = _meets(spec.expect, profile, rec.get("order_control")) and share <= MAX_CONTROLS_SHARE
    print(
        f"{name}: reading {reading.get('layout')} ({reading.get('confidence')}{both}); "
        f"fitted as {profile['layout']}; verdict {rec.get('recommended')}; order control "
        f"{_control_text(rec.get('order_control'), rec['metric'])}; curves {curves or '-'}; "
        f"controls {share:.0%} of the budget; wall {wall:.0f} s; "
        f"target ({spec.expect}) {'met' if ok else 'MISSED'}"
    )
    for note in rec.get("notes", ()):
        if "order control" in note or "learning curve" in note:
            print(f"    note: {note}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", default="3m")
    parser.add_argument("--only", default=None, help="comma-separated set names")
    parser.add_argument("--mnist1d", default=None, help="the real MNIST-1D training CSV")
    parser.add_argument("--keep", default=None, help="keep the run directories here")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(SETS)
    unknown = [n for n in names if n not in SETS]
    if unknown:
        parser.error(f"unknown set {unknown[0]!r}; choose from {', '.join(SETS)}")
    print(f"load average before: {os.getloadavg()[0]:.2f}; budget {args.timeout} per set")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        met = [run_set(n, SETS[n], args, work) for n in names]
    print(f"load average after: {os.getloadavg()[0]:.2f}; targets met on {sum(met)}/{len(met)}")


if __name__ == "__main__":
    main()
