"""Does refitting the final network on every labelled row beat today's train + validation
refit, measured on an independent test set? (issue: "small data: every labelled row counts")

For each small public data set with an official or fixed held-out test split (never shown to
archselect): load/profile/prepare the training part as ``fit`` does (seed 0), train the
family's default configuration on the training split with validation to choose its epoch
count (as a trial does), then refit it for that many epochs

* ``A``: on train + validation rows (what ``fit`` exports today), and
* ``B``: on train + validation + archselect's own test rows (every labelled row),

with ``--seeds`` seeds each, and score both on the independent test set. Prints accuracy per
set (mean over seeds), the paired difference B - A in points, and the mean over sets.

    python benchmarks/refit_all_rows.py [--seeds 3]

Data: UCR sets inside the aeon wheel with their official splits (ItalyPowerDemand, GunPoint,
ArrowHead, UnitTest) and scikit-learn's breast cancer, wine and iris (80/20, seed 0).
Families: ``cnn1d`` on series, ``mlp`` on tables, each at its ``[default]``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archselect.layouts import transform  # noqa: E402
from archselect.load import load_table  # noqa: E402
from archselect.plan import make_plan  # noqa: E402
from archselect.prepare import prepare  # noqa: E402
from archselect.profile import profile_table  # noqa: E402
from archselect.search import build_network, default_params, split_params, train_config  # noqa: E402
from archselect.train import predict_outputs, torch_threads, train_network  # noqa: E402

SPLIT_SEED = 0
HOLDOUT = 0.2
Frames = tuple[pd.DataFrame, pd.DataFrame, str]


def _wide(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(x.reshape(len(x), -1), columns=[f"t{i}" for i in range(x.shape[-1])])
    frame["label"] = y
    return frame


def _aeon(loader: str) -> Callable[[], Frames]:
    def load() -> Frames:
        import aeon.datasets as ds

        (xtr, ytr), (xte, yte) = (getattr(ds, loader)(split=s) for s in ("train", "test"))
        tr = _wide(np.asarray(xtr)[:, 0, :], ytr)
        return tr, _wide(np.asarray(xte)[:, 0, :], yte), "cnn1d"

    return load


def _sklearn(name: str) -> Callable[[], Frames]:
    def load() -> Frames:
        import sklearn.datasets as ds

        bunch = getattr(ds, f"load_{name}")()
        frame = pd.DataFrame(bunch.data, columns=[f"f{i}" for i in range(bunch.data.shape[1])])
        frame["label"] = bunch.target
        order = np.random.default_rng(SPLIT_SEED).permutation(len(frame))
        n_test = round(len(frame) * HOLDOUT)
        return frame.iloc[order[:-n_test]], frame.iloc[order[-n_test:]], "mlp"

    return load


SETS: dict[str, Callable[[], Frames]] = {
    "ItalyPowerDemand": _aeon("load_italy_power_demand"),
    "GunPoint": _aeon("load_gunpoint"),
    "ArrowHead": _aeon("load_arrow_head"),
    "UnitTest": _aeon("load_unit_test"),
    "breast_cancer": _sklearn("breast_cancer"),
    "wine": _sklearn("wine"),
    "iris": _sklearn("iris"),
}


def run_one(name: str, seeds: int) -> dict[str, float]:
    train, test, family = SETS[name]()
    layout = "series" if family == "cnn1d" else None
    table = load_table(train, target="label")
    profile = profile_table(table, target="label", layout=layout)
    prepared = prepare(table, profile, seed=SPLIT_SEED)
    plan = make_plan(profile, families=(family,), n_trials=1)
    pre = prepared.preprocessing
    _, model_params, shared = split_params(default_params(plan, family))
    model_params.update(plan.space(family).fixed)
    config = train_config(pre.task, {**plan.shared.fixed, **shared}, SPLIT_SEED)
    x_test = transform(pre, test.drop(columns="label"))
    y_test = pre.encode_target(test["label"])
    with torch_threads(1):
        net = build_network(pre, family, model_params, seed=SPLIT_SEED)
        chosen = train_network(
            net, prepared.x_train, prepared.y_train, prepared.x_val, prepared.y_val, config
        )
        epochs = max(1, chosen.best_epoch)
        x_tv, y_tv = prepared.pooled
        x_all = np.concatenate([x_tv, prepared.x_test])
        y_all = np.concatenate([y_tv, prepared.y_test])
        acc: dict[str, list[float]] = {"A": [], "B": []}
        for strategy, (x, y) in {"A": (x_tv, y_tv), "B": (x_all, y_all)}.items():
            for s in range(seeds):
                net = build_network(pre, family, model_params, seed=SPLIT_SEED + s)
                cfg = train_config(pre.task, {**plan.shared.fixed, **shared}, SPLIT_SEED + s)
                train_network(net, x, y, prepared.x_val, prepared.y_val, cfg, fixed_epochs=epochs)
                pred = predict_outputs(net.eval(), x_test).argmax(axis=1)
                acc[strategy].append(100.0 * float((pred == y_test).mean()))
    return {
        "rows": len(train),
        "A_rows": len(x_tv),
        "B_rows": len(x_all),
        "epochs": epochs,
        "A": float(np.mean(acc["A"])),
        "B": float(np.mean(acc["B"])),
        "diff": float(np.mean(np.subtract(acc["B"], acc["A"]))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    names = [n for n in SETS if not args.only or n in args.only.split(",")]
    rows = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            rows[name] = run_one(name, args.seeds)
            print(name, {k: round(v, 2) for k, v in rows[name].items()}, flush=True)
    table = pd.DataFrame(rows).T
    print(table.round(2).to_string())
    print(
        f"mean B - A over {len(table)} sets: {table['diff'].mean():+.2f} points "
        f"(B better on {(table['diff'] > 0).sum()}, worse on {(table['diff'] < 0).sum()})"
    )


if __name__ == "__main__":
    main()
