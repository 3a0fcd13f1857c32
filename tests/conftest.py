"""Shared fixtures: small real and synthetic tables, and a fast training space."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

#: The module whose minimum-step rules the tests shorten (the rules themselves are tested in
#: tests/train/); test modules take it from here rather than reach into archselect.train.
TRAINING = importlib.import_module("archselect.train._main")
ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "datasets"

FAST_SHARED = """
name = "shared"
[params.lr]
type = "float"
low = 0.003
high = 0.01
log = true
[params.weight_decay]
type = "float"
low = 1e-5
high = 1e-4
log = true
[params.batch_size]
type = "categorical"
choices = [32]
[params.epochs]
type = "int"
low = 3
high = 4
[params.schedule]
type = "categorical"
choices = ["constant"]
"""


def _small_data_rules_off(
    setattr_: Callable[[object, str, object], None], *, ensemble: bool = False
) -> None:
    """Small data gets 4-fold CV trials and a 5-seed final model; most tests' data is small,
    but they are not about those rules, which cost 4-10x their fit time. Turn them off
    (the 5-seed final model stays when ``ensemble``)."""
    # by name: ``archselect.prepare`` the attribute is the stage function, not the package
    setattr_(importlib.import_module("archselect.prepare._splits"), "CV_MAX_ROWS", 0)
    if not ensemble:
        setattr_(importlib.import_module("archselect.run._refit"), "ENSEMBLE_MAX_ROWS", 0)


def _test_rules(setattr_: Callable[[object, str, object], None], *, small_data: bool) -> None:
    """Keep the minimum-step rule small in tests (the rule itself is tested explicitly), and
    the small-data rules off unless ``small_data``."""
    train = TRAINING

    setattr_(train, "MIN_STEPS", 20)
    setattr_(train, "MIN_PATIENCE_STEPS", 10)
    # the order control and the learning curves retrain candidates after every search; their
    # own tests (tests/run/test_controls.py) turn them on
    setattr_(importlib.import_module("archselect.run._controls"), "MEASURE_CONTROLS", False)
    if not small_data:
        _small_data_rules_off(setattr_)


@contextlib.contextmanager
def fast_rules() -> Iterator[None]:
    """The rules :func:`_fast_training` gives each test, for module- and session-scoped
    fixtures (set up before any test's own fixtures, so outside those rules otherwise)."""
    with pytest.MonkeyPatch.context() as mp:
        _test_rules(mp.setattr, small_data=False)
        yield


#: Fits in tests run their trials in the test's own process (the rules above are set in it
#: by monkeypatching); tests about trial processes pass ``jobs``/``--jobs`` themselves.
os.environ.setdefault("ARCHSELECT_JOBS", "1")


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread_per_xdist_worker() -> None:
    """Under pytest-xdist each worker has a core: torch's default (every core) in each of
    them oversubscribes the machine, which made tests that call the stages directly (not
    through ``fit``, which sets one thread itself) 5x slower from run to run."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _fast_training(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """:func:`_test_rules` for every test; the small-data rules stay on for tests marked
    ``small_data_rules``."""
    marked = request.node.get_closest_marker("small_data_rules") is not None
    _test_rules(monkeypatch.setattr, small_data=marked)


@pytest.fixture
def fast_space(tmp_path: Path) -> Path:
    path = tmp_path / "fast_shared.toml"
    path.write_text(FAST_SHARED)
    return path


@pytest.fixture(scope="session")
def digits_frame() -> pd.DataFrame:
    return pd.read_csv(DATASETS / "digits.csv")


@pytest.fixture(scope="session")
def small_digits_csv(tmp_path_factory: pytest.TempPathFactory, digits_frame: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("data") / "digits_small.csv"
    digits_frame.groupby("label").head(30).to_csv(path, index=False)
    return path


def make_series(n: int = 120, length: int = 48, seed: int = 0) -> pd.DataFrame:
    """Two classes of noisy sines that differ in frequency."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4 * np.pi, length)
    labels = rng.integers(0, 2, n)
    rows = [
        np.sin(t * (1.0 + lab) + rng.uniform(0, 6)) + 0.1 * rng.normal(size=length)
        for lab in labels
    ]
    frame = pd.DataFrame(rows, columns=[f"t{i}" for i in range(length)])
    frame.insert(0, "label", np.where(labels == 1, "fast", "slow"))
    return frame


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory: pytest.TempPathFactory, small_digits_csv: Path) -> Path:
    """A finished 4-trial CLI run on small digits (shared: the CLI and report tests read it)."""
    from click.testing import CliRunner

    train = TRAINING
    from archselect.cli import cli

    out = tmp_path_factory.mktemp("runs") / "digits"
    space = tmp_path_factory.mktemp("spaces") / "shared.toml"
    space.write_text(FAST_SHARED)
    import archselect.core.records as baselines

    old = train.MIN_STEPS, train.MIN_PATIENCE_STEPS
    old_exportable = baselines.EXPORTABLE_BASELINES
    train.MIN_STEPS, train.MIN_PATIENCE_STEPS = 20, 10
    # two-epoch networks lose to the RBF SVM on 300 digits, which would then be exported;
    # the tests sharing this run read a network's files (tests/select/test_verdict.py covers the
    # exported reference)
    baselines.EXPORTABLE_BASELINES = ()
    undo: list[tuple[object, str, object]] = []

    def setattr_(obj: object, name: str, value: object) -> None:
        undo.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    # the small-data rules (CV trials, a 5-seed final model) are off, as in most tests;
    # tests/report/test_report.py's cross-validated fit checks them end to end
    _small_data_rules_off(setattr_)
    try:
        args = [str(small_digits_csv), "--trials", "4", "--out", str(out), "--space", str(space)]
        res = CliRunner().invoke(cli, ["fit", *args, "--json"], catch_exceptions=False)
    finally:
        train.MIN_STEPS, train.MIN_PATIENCE_STEPS = old
        baselines.EXPORTABLE_BASELINES = old_exportable
        for obj, name, value in reversed(undo):
            setattr(obj, name, value)
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="session")
def series_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "series.csv"
    make_series().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def tabular_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(1)
    n = 150
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.normal(50, 10, n),
            "city": rng.choice(["north", "south", "east"], n),
        }
    )
    frame["target"] = frame["income"] * 0.5 + (frame["city"] == "north") * 3 + rng.normal(0, 1, n)
    path = tmp_path_factory.mktemp("data") / "tab.csv"
    frame.to_csv(path, index=False)
    return path


#: Tests that run for tens of seconds (processes started, whole fits): scheduled first, so
#: that pytest-xdist's workers do not end the run with one of them while the other idles.
LONG_FIRST = (
    "tests/search/test_signals.py",
    "tests/search/test_scale.py",
    "tests/search/test_search_select.py::test_search_gives_every_family_its_share_and_resumes",
    "tests/search/test_reproducible.py",
    "tests/run/test_budget.py",
    "tests/search/test_trial_faults.py",
    "tests/e2e/test_startup.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first (a stable sort: the same order in every xdist worker)."""

    def rank(item: pytest.Item) -> int:
        node = item.nodeid
        return next((i for i, p in enumerate(LONG_FIRST) if node.startswith(p)), len(LONG_FIRST))

    items.sort(key=rank)
