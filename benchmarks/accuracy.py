"""Accuracy on two public data sets, next to published figures.

* GunPoint (UCR): ``archselect fit`` on the official train split
  (``datasets/gunpoint_train.csv``, 50 rows), predictions on the official test split
  (``datasets/gunpoint_test.csv``, 150 rows).
* digits (scikit-learn, 1,797 rows): the rows are shuffled with
  ``numpy.random.default_rng(0).permutation``; the last 20 % of that order (360 rows) is
  held out for testing, the first 80 % (1,437 rows) is given to ``fit``.

Each fit gets the same fixed ``--timeout`` (default 4 minutes) and the default search spaces;
archselect splits what it is given into its own train / validation / test parts, and the
held-out rows are never shown to it. For reference the script also fits 1-NN (Euclidean) and,
when aeon is installed, MiniRocket on exactly the same rows.

    python benchmarks/accuracy.py [--timeout 4m] [--only gunpoint|digits]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import archselect
from archselect.baselines import minirocket_available
from archselect.cli import parse_duration

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "datasets"
#: Published test accuracies (%): GunPoint from the UCR/UEA bake-offs (FCN and ResNet:
#: Fawaz et al. 2019; MiniRocket: Dempster et al. 2021; 1-NN DTW: UCR archive), digits
#: from scikit-learn's SVC example.
PUBLISHED = {
    "gunpoint": {"FCN": 100.0, "ResNet": 99.1, "MiniRocket": 99.3, "1-NN DTW": 90.7},
    "digits": {"SVC": 97.0},
}
TARGETS = {"gunpoint": 97.0, "digits": 98.0}
HOLDOUT_FRACTION = 0.2
SPLIT_SEED = 0


def _splits(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    if name == "gunpoint":
        return pd.read_csv(DATA / "gunpoint_train.csv"), pd.read_csv(DATA / "gunpoint_test.csv")
    frame = pd.read_csv(DATA / "digits.csv")
    order = np.random.default_rng(SPLIT_SEED).permutation(len(frame))
    n_test = round(len(frame) * HOLDOUT_FRACTION)
    return frame.iloc[order[:-n_test]], frame.iloc[order[-n_test:]]


def _references(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    xtr, ytr = train.drop(columns="label").to_numpy(float), train["label"].to_numpy()
    xte, yte = test.drop(columns="label").to_numpy(float), test["label"].to_numpy()
    out = {
        "1-NN Euclidean": 100.0
        * float((KNeighborsClassifier(1).fit(xtr, ytr).predict(xte) == yte).mean())
    }
    if minirocket_available():
        from aeon.classification.convolution_based import MiniRocketClassifier

        mr = MiniRocketClassifier(random_state=0).fit(xtr[:, None, :], ytr)
        out["MiniRocket"] = 100.0 * float((mr.predict(xte[:, None, :]) == yte).mean())
    return out


def run(name: str, timeout_s: float, workdir: Path) -> float:
    train, test = _splits(name)
    path = workdir / f"{name}_train.csv"
    train.to_csv(path, index=False)
    start = time.perf_counter()
    result = archselect.fit(path, out=workdir / name, timeout=timeout_s, force=True)
    elapsed = time.perf_counter() - start
    pred = result.predict(test.drop(columns="label"))["prediction"].to_numpy()
    acc = 100.0 * float((pred.astype(str) == test["label"].astype(str).to_numpy()).mean())
    rec = result.recommendation
    search = result.search_result
    print(f"\n== {name}: fit on {len(train)} rows, test on {len(test)} held-out rows ==")
    print(
        f"archselect ({rec.family}, {len(search.trials)} trials, {elapsed:.0f}s): "
        f"test accuracy {acc:.1f}%  target >= {TARGETS[name]:.0f}%  "
        f"{'OK' if acc >= TARGETS[name] else 'BELOW TARGET'}"
    )
    for fam in rec.families:
        val = "n/a" if fam.val_metric is None else f"{100 * fam.val_metric:.1f}%"
        print(f"  family {fam.family:<13} best val {val:>6}  ({fam.completed}/{fam.trials} done)")
    for b in search.baselines:
        val = "n/a" if b.val_metric is None else f"{100 * b.val_metric:.1f}%"
        print(f"  baseline {b.name:<22} val {val:>6}  {b.note or b.error or ''}")
    for ref, value in _references(train, test).items():
        print(f"  same rows, {ref}: {value:.1f}%")
    for ref, value in PUBLISHED[name].items():
        print(f"  published {ref}: {value:.1f}%")
    return acc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", default="4m")
    parser.add_argument("--only", choices=("gunpoint", "digits"))
    args = parser.parse_args()
    timeout_s = parse_duration(args.timeout)
    names = [args.only] if args.only else ["gunpoint", "digits"]
    with tempfile.TemporaryDirectory() as tmp:
        accs = {n: run(n, timeout_s, Path(tmp)) for n in names}
    print(
        "\nsummary: "
        + ", ".join(f"{n} {a:.1f}% (target {TARGETS[n]:.0f}%)" for n, a in accs.items())
    )


if __name__ == "__main__":
    main()
