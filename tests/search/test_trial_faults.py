"""Bad trials never kill the search: each fault becomes a FAIL trial with its reason.

The faults come from builders registered here (the registry is the same one the shipped
families use) and reach the search through ``--space`` files, exactly as a user's own
family would: NaN loss, exploding gradients, a real out-of-memory allocation on CPU, an
injected ``torch.cuda.OutOfMemoryError``, a kernel longer than the sequence, and a
parameter combination the builder refuses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
import torch
from markupsafe import escape
from torch import nn

import archselect
from archselect.models import register_model

#: Allowed resident-memory growth over 40 trials after a 10-trial warm-up. A leak of the
#: 32 MiB each leaking trial allocates would add ~640 MiB; allocator noise stays far below.
MAX_RSS_GROWTH_MB = 96.0
LEAK_ALLOC_FLOATS = 8 * 2**20  # 32 MiB of float32


class _Scaled(nn.Module):
    def __init__(self, n_in: int, n_out: int, fault: str) -> None:
        super().__init__()
        self.lin = nn.Linear(n_in, n_out)
        self.fault = fault

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lin(x.reshape(len(x), -1))
        if not self.training:
            return out
        if self.fault == "nan":
            return out * float("nan")
        if self.fault == "explode" and out.requires_grad:
            out.register_hook(lambda g: g * float("inf"))
        if self.fault == "cuda_oom":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        if self.fault == "leak":
            big = torch.ones(LEAK_ALLOC_FLOATS)
            raise MemoryError(f"simulated: holding {big.numel() * 4 >> 20} MiB")
        return out


def _fault_builder(fault: str):
    def build(input_shape: tuple[int, ...], n_outputs: int, *, unit: int = 1) -> nn.Module:
        return _Scaled(int(np.prod(input_shape)), n_outputs, fault)

    return build


def _huge(input_shape: tuple[int, ...], n_outputs: int, *, unit: int = 1) -> nn.Module:
    # 2e11 float32 weights = 800 GB: the allocation itself fails (a real CPU out-of-memory)
    return nn.Linear(int(np.prod(input_shape)), 50_000_000_000)


class _Conv(nn.Module):
    def __init__(self, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 2, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x.reshape(len(x), 1, -1)).mean(dim=2)


def _kernel(input_shape: tuple[int, ...], n_outputs: int, *, unit: int = 1) -> nn.Module:
    return _Conv(kernel=int(np.prod(input_shape)) + 5)


def _refuse(input_shape: tuple[int, ...], n_outputs: int, *, unit: int = 1) -> nn.Module:
    raise ValueError(f"width {unit * 0} with depth {unit} cannot be built")


def register_fault_builders() -> list[str]:
    """Register the faulty families; returns their names."""
    builders = {f"fault_{f}": _fault_builder(f) for f in ("nan", "explode", "cuda_oom", "leak")}
    builders.update(fault_huge=_huge, fault_kernel=_kernel, fault_build=_refuse)
    for name, build in builders.items():
        register_model(name, layouts=("table",))(build)
    return list(builders)


@pytest.fixture(autouse=True, scope="module")
def _fault_builders() -> Iterator[None]:
    """Register the faulty families for this module only (other tests list the registry)."""
    from archselect.models import unregister_model

    names = register_fault_builders()
    yield
    for name in names:
        unregister_model(name)


EXPECTED = {
    "fault_nan": "training loss became nan",
    "fault_explode": "gradients exploded",
    "fault_huge": "can't allocate memory",
    "fault_cuda_oom": "OutOfMemoryError: CUDA out of memory",
    "fault_kernel": "Kernel size can't be greater than actual input size",
    "fault_build": "cannot be built",
}


def _space_file(folder: Path, name: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\nlayouts = ["table"]\n'
        '[params.unit]\ntype = "categorical"\nchoices = [1]\n'
    )
    return path


def _frame(n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["label"] = np.where(x[:, 0] + 0.3 * rng.normal(size=n) > 0, "pos", "neg")
    return frame


def test_every_fault_is_a_failed_trial_and_the_search_goes_on(
    tmp_path: Path, fast_space: Path
) -> None:
    families = ("mlp", *EXPECTED)
    spaces = (*(_space_file(tmp_path, f) for f in EXPECTED), fast_space)
    run = archselect.fit(
        _frame(),
        out=tmp_path / "run",
        trials=len(families) + 1,
        families=families,
        spaces=spaces,
    )
    trials = pd.read_csv(run.run_dir / "trials.csv")
    trials = trials[trials["kind"] == "trial"]
    assert len(trials) == len(families) + 1  # the search went on after every failure
    for family, reason in EXPECTED.items():
        rows = trials[trials["family"] == family]
        assert len(rows) >= 1, family
        assert set(rows["state"]) == {"FAIL"}, family
        assert rows["error"].str.contains(reason, regex=False).all(), rows["error"].tolist()
    assert (trials.loc[trials["family"] == "mlp", "state"] == "COMPLETE").any()
    rec = run.recommendation
    assert rec.family == "mlp"
    page = (run.run_dir / "report.html").read_text(encoding="utf-8")
    failures = page[page.index('id="failures"') :]
    for reason in EXPECTED.values():
        assert str(escape(reason)) in failures, reason


def test_a_search_where_every_trial_fails_still_answers(tmp_path: Path, fast_space: Path) -> None:
    run = archselect.fit(
        _frame(),
        out=tmp_path / "run",
        trials=2,
        families=("fault_nan",),
        spaces=(_space_file(tmp_path, "fault_nan"), fast_space),
    )
    assert run.recommendation.family is None or run.recommendation.family != "fault_nan"
    trials = pd.read_csv(run.run_dir / "trials.csv")
    assert set(trials.loc[trials["kind"] == "trial", "state"]) == {"FAIL"}
    assert (run.run_dir / "report.html").exists()
    assert json.loads((run.run_dir / "recommendation.json").read_text())["headline"]


def rss_over_trials(
    folder: Path, shared_space: Path, n_trials: int = 50
) -> tuple[list[float], pd.DataFrame]:
    """Run ``n_trials`` (half of them failing after allocating 32 MiB); RSS after each, MiB."""
    from archselect.load import load_table
    from archselect.plan import make_plan
    from archselect.prepare import prepare
    from archselect.profile import profile_table
    from archselect.search import run_search

    table = load_table(_frame())
    profile = profile_table(table)
    prepared = prepare(table, profile)
    plan = make_plan(
        profile,
        families=("mlp", "fault_leak"),
        n_trials=n_trials,
        spaces=(_space_file(folder, "fault_leak"), shared_space),
    )
    plan = type(plan)(**{**plan.__dict__, "share_per_family": n_trials // 2})
    proc = psutil.Process()
    rss: list[float] = []
    result = run_search(
        prepared,
        plan,
        storage=f"sqlite:///{folder / 'study.db'}",
        on_trial=lambda t: rss.append(proc.memory_info().rss / 2**20),
    )
    frame = pd.DataFrame([t.to_dict() for t in result.trials])
    return rss, frame


@pytest.mark.slow
def test_memory_is_released_between_trials(tmp_path: Path, fast_space: Path) -> None:
    rss, trials = rss_over_trials(tmp_path, fast_space, 50)
    assert len(rss) == 50
    assert (trials["state"] == "FAIL").sum() == 25
    assert (trials["state"] == "COMPLETE").sum() == 25
    growth = max(rss[10:]) - rss[9]
    assert growth < MAX_RSS_GROWTH_MB, f"RSS grew {growth:.1f} MiB over 40 trials"
