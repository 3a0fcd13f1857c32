"""Warm start from a portfolio: ``[[portfolio]]`` entries in a family's TOML are checked
when loaded and tried right after the family's default, before the sampler."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from archselect import UsageError
from archselect.core.spaces import load_space, space_dir
from archselect.load import load_table
from archselect.plan import make_plan
from archselect.profile import profile_table
from archselect.search import (
    ATTR_PORTFOLIO,
    default_params,
    open_study,
    portfolio_params,
    queue_next_slot,
)
from tests.conftest import make_series

MLP = """
name = "mlp"
layouts = ["series", "series_padded", "table", "image", "forecast"]

[params.width]
type = "categorical"
choices = [16, 32]

[params.dropout]
type = "float"
low = 0.0
high = 0.5

[default]
width = 16
dropout = 0.1
"""


def _space(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "mlp.toml"
    path.write_text(MLP + extra, encoding="utf-8")
    return path


def test_portfolio_entries_are_loaded_and_filtered_by_layout(tmp_path: Path) -> None:
    path = _space(
        tmp_path,
        """
[[portfolio]]
layouts = ["image"]
width = 32

[[portfolio]]
width = 32
dropout = 0.3
lr = 0.003
""",
    )
    space = load_space("", path=path)
    assert len(space.portfolio) == 2
    assert space.portfolio_for("series") == [{"width": 32, "dropout": 0.3, "lr": 0.003}]
    assert [e["width"] for e in space.portfolio_for("image")] == [32, 32]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("depth = 3", "names 'depth', which is not a parameter"),
        ("width = 64", "width = 64 is not in its space"),
        ("lr = 5.0", "lr = 5.0 is not in its space"),
        ('layouts = "image"', "'layouts' must be a list"),
    ],
)
def test_a_bad_portfolio_entry_is_refused_with_its_name(
    tmp_path: Path, entry: str, message: str
) -> None:
    path = _space(tmp_path, f"\n[[portfolio]]\n{entry}\n")
    with pytest.raises(UsageError, match=message):
        load_space("", path=path)


def test_a_familys_default_may_override_shared_training_values(tmp_path: Path) -> None:
    """A family's first trial may train with its own lr or batch size (the GRU does: the
    shared 1e-3 left it near chance in its share); a value outside the space is refused."""
    good = tmp_path / "good"
    good.mkdir()
    text = MLP.replace("[default]\n", "[default]\nlr = 0.003\nbatch_size = 64\n")
    (good / "mlp.toml").write_text(text, encoding="utf-8")
    table = load_table(make_series(n=60, length=16))
    plan = make_plan(
        profile_table(table), families=("mlp",), n_trials=2, spaces=(good / "mlp.toml",)
    )
    first = default_params(plan, "mlp")
    assert (first["lr"], first["batch_size"]) == (0.003, 64) and "mlp.lr" not in first
    assert first["weight_decay"] == plan.shared.default["weight_decay"]  # the rest shared
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "mlp.toml").write_text(MLP.replace("[default]\n", "[default]\nlr = 5.0\n"))
    with pytest.raises(UsageError, match=r"lr = 5\.0 is not in its space"):
        load_space("", path=bad / "mlp.toml")


def test_every_shipped_portfolio_entry_is_in_its_space() -> None:
    for path in sorted(space_dir().glob("*.toml")):
        family, _, layout = path.stem.partition(".")
        space = load_space(family, layout=layout or None)  # raises on a bad entry
        for entry in space.portfolio:
            assert set(entry) - {"layouts"}, f"{path.name}: an empty portfolio entry"


def test_the_portfolio_is_tried_after_the_default_and_before_the_sampler(
    tmp_path: Path,
) -> None:
    path = _space(
        tmp_path,
        """
[[portfolio]]
width = 32
lr = 0.003

[[portfolio]]
layouts = ["image"]
width = 16
""",
    )
    table = load_table(make_series(n=60, length=16))
    profile = profile_table(table)
    plan = make_plan(profile, families=("mlp", "cnn1d"), timeout_s=60.0, spaces=(path,))
    assert plan.share_per_family >= 3
    study = open_study(f"sqlite:///{tmp_path / 'study.db'}", plan, enqueue=True)
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    # a time budget queues the first round only; the later slots one at a time, when no
    # trial waits, so that a promoted trial queued meanwhile runs first
    assert len(waiting) == len(plan.family_names)
    queued = []
    while True:
        if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
            if not queue_next_slot(study, plan):
                break
            continue
        trial = study.ask()
        frozen = study._storage.get_trial(trial._trial_id)
        queued.append((frozen.system_attrs["fixed_params"], frozen.user_attrs))
        study.tell(trial, 0.0)
    assert len(queued) == plan.share_per_family * len(plan.family_names)
    mlp = [(f, a) for f, a in queued if f["family"] == "mlp"]
    default = {"family": "mlp", "mlp.width": 16, "mlp.dropout": 0.1, **plan.shared.default}
    assert mlp[0][0] == default
    assert mlp[1][0] == {"family": "mlp", "mlp.width": 32, "lr": 0.003}  # the series entry only
    assert mlp[2][0] == {"family": "mlp"}  # past the portfolio: the sampler's
    assert [a.get(ATTR_PORTFOLIO) for _, a in mlp] == [None, 1, None]
    assert portfolio_params(plan, "mlp", 1) is None
    # a trial queued by promotion goes before the next slot
    study.enqueue_trial({"family": "cnn1d"}, user_attrs={"promoted_from": 1})
    assert queue_next_slot(study, plan)
    assert len(study.get_trials(states=(optuna.trial.TrialState.WAITING,))) == 1


def test_a_portfolio_value_outside_the_runs_own_space_is_left_to_the_sampler(
    tmp_path: Path,
) -> None:
    """With a user's shared space whose lr range excludes the entry's, the entry keeps its
    family parameters and the sampler draws lr (Optuna would otherwise warn and use it)."""
    path = _space(tmp_path, "\n[[portfolio]]\nwidth = 32\nlr = 0.003\n")
    shared = tmp_path / "shared.toml"
    shared.write_text(
        'name = "shared"\n[params.lr]\ntype = "float"\nlow = 0.01\nhigh = 0.1\nlog = true\n',
        encoding="utf-8",
    )
    table = load_table(make_series(n=60, length=16))
    plan = make_plan(
        profile_table(table), families=("mlp",), timeout_s=60.0, spaces=(path, shared)
    )
    assert portfolio_params(plan, "mlp", 0) == {"family": "mlp", "mlp.width": 32}
