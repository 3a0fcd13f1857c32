"""Reproducible search: the same data, settings and seed give the same trials (parameters,
states, metrics) and the same recommendation with one trial process or two, and when a run
is resumed with a larger budget (synchronous batches, see :mod:`archselect.search`).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest

import archselect
import archselect.search as search
from archselect.search import Batches
from archselect.search._objective import _FamilyPruner
from archselect.search._study import _BatchSampler
from tests.conftest import ROOT, make_series

#: Two-epoch trials on a tiny series set; ``[fixed]`` also reaches the worker processes
#: (the conftest's monkeypatching of the step minimums does not).
SHARED = """
name = "shared"
[params.lr]
type = "float"
low = 0.003
high = 0.03
log = true
[params.batch_size]
type = "categorical"
choices = [16]
[fixed]
epochs = 2
schedule = "constant"
min_steps = 6
min_patience_steps = 4
"""
MLP = """
name = "mlp"
layouts = ["series"]
[params.layers]
type = "int"
low = 1
high = 2
[params.width]
type = "categorical"
choices = [8, 16]
"""
CNN1D = """
name = "cnn1d"
layouts = ["series"]
[params.blocks]
type = "int"
low = 1
high = 2
[params.width]
type = "categorical"
choices = [8, 16]
[params.kernel]
type = "categorical"
choices = [3, 5]
"""
TRIALS = 6
#: 60 rows: the small-data rules (4-fold CV trials, a 5-seed final model) are part of what
#: must reproduce
pytestmark = pytest.mark.small_data_rules
#: trials.csv columns that must not depend on timing (the rest are times and latencies).
EXACT = ("number", "family", "state", "epochs", "best_epoch", "n_params", "cv_folds")
NUMERIC = ("val_metric", "test_metric", "train_metric", "gap")
TOLERANCE = 1e-6
#: recommendation.json fields that name the verdict.
VERDICT = ("kind", "recommended", "family")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[Path, ...]]:
    d = tmp_path_factory.mktemp("repro")
    make_series(n=60, length=16).to_csv(d / "tiny.csv", index=False)
    spaces = []
    for name, text in (("shared", SHARED), ("mlp", MLP), ("cnn1d", CNN1D)):
        (d / f"{name}.toml").write_text(text)
        spaces.append(d / f"{name}.toml")
    return d / "tiny.csv", tuple(spaces)


def _fit(tiny: tuple[Path, tuple[Path, ...]], out: Path, jobs: int, trials: int = TRIALS) -> Path:
    csv, spaces = tiny
    archselect.fit(
        csv,
        out=out,
        trials=trials,
        families=("mlp", "cnn1d"),
        spaces=spaces,
        jobs=jobs,
        seed=3,
    )
    return out


def _trials(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "trials.csv").query("kind == 'trial'").reset_index(drop=True)


def _same_params(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(
        abs(a[k] - b[k]) <= TOLERANCE if isinstance(a[k], float) else a[k] == b[k] for k in a
    )


def _differences(a: Path, b: Path) -> list[str]:
    """Every field of the two runs' trials and verdicts that differs, in words."""
    ta, tb = _trials(a), _trials(b)
    if len(ta) != len(tb):
        return [f"{len(ta)} vs {len(tb)} trials"]
    out = []
    for (_, ra), (_, rb) in zip(ta.iterrows(), tb.iterrows(), strict=True):
        n = ra["number"]
        out += [
            f"trial {n} {c}: {ra[c]} vs {rb[c]}"
            for c in EXACT
            if ra[c] != rb[c] and not (pd.isna(ra[c]) and pd.isna(rb[c]))
        ]
        for c in NUMERIC:
            if pd.isna(ra[c]) != pd.isna(rb[c]) or abs(ra[c] - rb[c]) > TOLERANCE:
                out.append(f"trial {n} {c}: {ra[c]} vs {rb[c]}")
        if not _same_params(json.loads(ra["params"]), json.loads(rb["params"])):
            out.append(f"trial {n} params: {ra['params']} vs {rb['params']}")
        ha, hb = json.loads(ra["history_val"]), json.loads(rb["history_val"])
        if len(ha) != len(hb) or any(abs(x - y) > TOLERANCE for x, y in zip(ha, hb, strict=False)):
            out.append(f"trial {n} history_val: {ha} vs {hb}")
    va, vb = (json.loads((r / "recommendation.json").read_text()) for r in (a, b))
    out += [
        f"recommendation {k}: {va.get(k)} vs {vb.get(k)}"
        for k in VERDICT
        if va.get(k) != vb.get(k)
    ]
    return out


def _batches_respected(run: Path) -> None:
    """No trial started before every trial of the earlier batches had finished."""
    study = optuna.load_study(
        study_name=search.STUDY_NAME,
        storage=search.make_storage(f"sqlite:///{(run / 'study.db').resolve()}"),
    )
    batches = search.study_batches(study)
    assert batches == Batches(first=2, size=search.BATCH_SIZE)
    trials = study.get_trials(deepcopy=False)
    for t in trials:
        earlier = [u for u in trials if u.number < batches.start(t.number)]
        assert t.datetime_start is not None
        assert all(
            u.datetime_complete and u.datetime_complete <= t.datetime_start for u in earlier
        )
    search.close_storage(study)


def test_two_processes_and_one_resumed_give_the_same_trials_and_verdict(
    tiny: tuple[Path, tuple[Path, ...]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--jobs 2`` against ``--jobs 1`` run as 4 trials, then resumed to 6. (A second
    ``--jobs 2`` run would cost as much again: every worker process imports torch.)"""
    # the references are not what is compared here (scikit-learn, fitted once per run)
    # (prepare_study, which fits them, lives in the package's _study module)
    study_module = importlib.import_module("archselect.search._study")
    monkeypatch.setattr(study_module, "run_baselines", lambda *a, **k: [])
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the worker processes import this tree
    two = _fit(tiny, tmp_path / "two", jobs=2)
    one = _fit(tiny, tmp_path / "one", jobs=1, trials=TRIALS - 2)
    _fit(tiny, one, jobs=1)  # resumed with the full budget
    assert len(_trials(two)) == TRIALS
    assert _differences(two, one) == []
    _batches_respected(two)


def _study(sampler: optuna.samplers.BaseSampler, values: list[float]) -> optuna.Study:
    """An in-memory study with one finished trial per value (x = value)."""
    study = optuna.create_study(sampler=sampler, direction="maximize")
    dist = optuna.distributions.FloatDistribution(0.0, 1.0)
    for v in values:
        study.add_trial(
            optuna.trial.create_trial(params={"x": v}, distributions={"x": dist}, value=v)
        )
    return study


def test_a_trial_is_sampled_from_the_finished_batches_only() -> None:
    """Trials 10 and 11 share a batch: trial 11's draw ignores how trial 10 came out."""
    earlier = [i / 10 for i in range(10)]  # 10 trials: past TPE's random start-up
    draws = []
    for trial_10 in (0.05, 0.95):
        study = _study(_BatchSampler(7, Batches(first=2, size=4)), [*earlier, trial_10])
        draws.append(study.ask().suggest_float("x", 0.0, 1.0))
    assert draws[0] == draws[1]
    again = _study(_BatchSampler(7, Batches(first=2, size=4)), [*earlier, 0.5])
    assert again.ask().suggest_float("x", 0.0, 1.0) == draws[0]


def test_pruning_compares_with_finished_batches_only() -> None:
    """Trial 3 (batch [1, 5)) is compared with trial 0 alone, not with its batch mates."""
    dist = optuna.distributions.CategoricalDistribution(["a"])
    median = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    decisions = []
    for batches in (Batches(first=1, size=4), None):
        study = optuna.create_study(direction="maximize", pruner=_FamilyPruner(median, batches))
        for v in (0.1, 0.9, 0.9):
            study.add_trial(
                optuna.trial.create_trial(
                    params={"family": "a"},
                    distributions={"family": dist},
                    value=v,
                    intermediate_values={0: v},
                )
            )
        trial = study.ask()
        trial.suggest_categorical("family", ["a"])
        trial.report(0.5, 0)
        decisions.append(trial.should_prune())
    assert decisions == [False, True]
