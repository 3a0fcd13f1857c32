import dataclasses
import importlib
from pathlib import Path

import optuna
import pytest

from archselect.load import load_table
from archselect.plan import Plan, fair_share, make_plan
from archselect.prepare import prepare
from archselect.profile import profile_table
from archselect.search import SearchResult, best_by_family, mask_url, run_search, storage_url
from archselect.select import Recommendation, select
from tests.conftest import FAST_SHARED, fast_rules


@pytest.fixture(scope="module")
def series_setup(series_csv: Path, tmp_path_factory: pytest.TempPathFactory):
    table = load_table(series_csv)
    prof = profile_table(table)
    with fast_rules():
        prep = prepare(table, prof)
    space = tmp_path_factory.mktemp("space") / "fast_shared.toml"
    space.write_text(FAST_SHARED)
    plan = make_plan(prof, families=("cnn1d", "gru", "mlp"), n_trials=6, spaces=(space,))
    return prof, prep, plan


def test_fair_share_rule() -> None:
    assert fair_share(12, 2) == 3
    assert fair_share(60, 5) == 6
    assert fair_share(4, 5) == 1
    assert fair_share(None, 3) == 3


def test_plan_round_trip_and_validation(series_setup) -> None:
    _, _, plan = series_setup
    assert Plan.from_json(plan.to_json()) == plan
    assert plan.family_names == ("cnn1d", "gru", "mlp")
    assert plan.shared.params[0].low == 0.003  # the user's shared space replaced the shipped one


def test_search_gives_every_family_its_share_and_resumes(series_setup, tmp_path: Path) -> None:
    prof, prep, plan = series_setup
    url = storage_url(tmp_path, None)
    seen = []
    result = run_search(prep, plan, storage=url, on_trial=seen.append)
    assert len(result.trials) == 6 and len(seen) == 6
    fams = [t.family for t in result.trials]
    assert all(fams.count(f) == 2 for f in plan.family_names)
    done = [t for t in result.trials if t.state == "COMPLETE"]
    assert done and all(
        t.n_params and t.latency_b1_ms and t.val_scores() is not None for t in done
    )
    assert {b.name for b in result.baselines} == set(plan.baselines)
    # each family's best trial is timed at sequence lengths T, 2T, 4T; other trials are not
    # (the product's notion of best: ties in the metric go to the lower Brier score)
    best = {fam: t.number for fam, t in best_by_family(result).items()}
    for t in done:
        if t.number == best[t.family]:
            assert t.seq_len == prep.x_train.shape[1]
            assert t.latency_len1x_ms and t.latency_len2x_ms and t.latency_len4x_ms
        else:
            assert t.seq_len is None and t.latency_len4x_ms is None
    assert SearchResult.from_json(result.to_json()) == result
    # the study is a plain optuna study
    study = optuna.load_study(study_name="archselect", storage=url)
    assert len(study.trials) == len(result.trials)
    assert all("family" in t.user_attrs for t in study.trials)
    # resuming with the same budget trains nothing new
    again = run_search(prep, plan, storage=url)
    assert [t.number for t in again.trials] == [t.number for t in result.trials]
    rec = select(result, plan, prof)
    assert rec.family in plan.family_names and rec.reasons
    assert Recommendation.from_json(rec.to_json()) == rec
    assert rec.margin_interval is None or rec.margin_interval[0] <= rec.margin_interval[1]


def test_failing_trial_is_recorded_and_search_goes_on(
    series_setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _prof, prep, plan = series_setup
    # where trials build their networks (the package re-exports a function of that name)
    search = importlib.import_module("archselect.search._objective")

    real = search.create_model

    def flaky(name: str, **kw):
        if name == "gru":
            raise MemoryError("simulated out of memory")
        return real(name, **kw)

    monkeypatch.setattr(search, "create_model", flaky)
    # one trial per family, no references: this test is about the failing trial
    plan = dataclasses.replace(plan, n_trials=3, share_per_family=1, baselines=())
    result = run_search(prep, plan, storage=storage_url(tmp_path, None))
    failed = [t for t in result.trials if t.state == "FAIL"]
    assert failed and all(t.family == "gru" and "MemoryError" in (t.error or "") for t in failed)
    assert any(t.state == "COMPLETE" for t in result.trials)


def test_mask_url_hides_password() -> None:
    assert mask_url("postgresql://user:s3cret@db:5432/x") == "postgresql://user:***@db:5432/x"
    assert "s3cret" not in mask_url("mysql+pymysql://root:s3cret@127.0.0.1/test")
    assert mask_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"


def _scored_trial(
    number: int,
    family: str,
    correct: list[int],
    brier: list[float],
    ms: float,
    memory_mb: float | None = None,
):
    import numpy as np

    from archselect.core.metrics import encode_scores
    from archselect.search import TrialRecord

    return TrialRecord(
        number=number,
        family=family,
        state="COMPLETE",
        val_metric=float(np.mean(correct)),
        test_metric=0.5,
        latency_b256_ms=ms,
        peak_memory_mb=memory_mb,
        val_scores_b64=encode_scores(np.asarray(correct, dtype=float)),
        val_brier_b64=encode_scores(np.asarray(brier, dtype=float)),
    )


@pytest.mark.parametrize("sure_family", ["cnn1d", "mlp"])
def test_tied_accuracy_is_separated_by_the_brier_score(series_setup, sure_family: str) -> None:
    """Ten validation rows all right for both: 1/0 accuracy cannot tell them apart, the
    per-row Brier score can; the cheaper family wins only when the Brier score cannot."""
    prof, _, plan = series_setup
    sure, unsure = [0.01] * 10, [0.3] * 10
    trials = (
        _scored_trial(0, "cnn1d", [1] * 10, sure if sure_family == "cnn1d" else unsure, ms=0.05),
        _scored_trial(1, "mlp", [1] * 10, sure if sure_family == "mlp" else unsure, ms=0.01),
    )
    result = SearchResult("s", "sqlite://", "accuracy", "maximize", trials, ())
    rec = select(result, plan, prof)
    assert rec.family == sure_family and rec.runner_up in {"cnn1d", "mlp"}
    assert not rec.within_noise
    if sure_family == "cnn1d":  # the dearer family keeps its place, and the reason says why
        assert any("Brier" in r for r in rec.reasons)
    same = tuple(
        _scored_trial(t.number, t.family, [1] * 10, [0.1, 0.2] * 5, ms=t.latency_b256_ms or 0)
        for t in trials
    )
    rec = select(SearchResult("s", "sqlite://", "accuracy", "maximize", same, ()), plan, prof)
    assert rec.family == "mlp" and rec.within_noise  # truly within noise: the cheaper one


@pytest.mark.parametrize(
    ("winner_mb", "runner_ms", "runner_mb", "preferred", "why"),
    [
        # clearly faster
        (0.07, 0.01, 6.5, "mlp", "latency mlp 0.01 ms vs cnn1d 0.045 ms per sample (×4.5 faster)"),
        (0.07, 0.043, 0.01, "cnn1d", None),  # 4 % faster, a few MB leaner: noise, no swap
        (0.07, 0.043, 200.0, "cnn1d", None),  # a little faster but far more memory
        (0.07, 0.044, 100.0, "cnn1d", None),
        # clearly leaner
        (300.0, 0.046, 90.0, "mlp", "peak training memory mlp 90 MB vs cnn1d 300 MB"),
    ],
)
def test_the_cheaper_family_is_preferred_only_beyond_measurement_noise(
    series_setup,
    winner_mb: float,
    runner_ms: float,
    runner_mb: float,
    preferred: str,
    why: str | None,
) -> None:
    """Within noise on validation accuracy, the runner-up replaces the winner only when it is
    clearly cheaper: a tiny model's RSS growth (0-8 MB) or a 5 % latency difference is noise."""
    prof, _, plan = series_setup
    ahead = [1] * 20
    behind = [1] * 19 + [0]
    trials = (
        _scored_trial(0, "cnn1d", ahead, [0.1] * 20, ms=0.045, memory_mb=winner_mb),
        _scored_trial(1, "mlp", behind, [0.1] * 20, ms=runner_ms, memory_mb=runner_mb),
    )
    rec = select(SearchResult("s", "sqlite://", "accuracy", "maximize", trials, ()), plan, prof)
    assert rec.within_noise
    assert rec.family == preferred
    cheaper = [r for r in rec.reasons if "so the cheaper" in r]
    if why is None:
        assert not cheaper
    else:
        assert len(cheaper) == 1 and f"({why})" in cheaper[0]
        assert "and cheaper" in rec.headline


def test_user_space_without_layouts_fits_the_family(series_setup, tmp_path: Path) -> None:
    prof, _, _ = series_setup
    space = tmp_path / "cnn1d.toml"
    space.write_text('name = "cnn1d"\n[params.width]\ntype = "categorical"\nchoices = [8]\n')
    plan = make_plan(prof, families=("cnn1d",), n_trials=2, spaces=(space,))
    assert plan.space("cnn1d").layouts and prof.layout in plan.space("cnn1d").layouts
    assert [p.name for p in plan.space("cnn1d").params] == ["width"]


@pytest.mark.parametrize("pruning", [True, False])
def test_pruning_can_be_switched_off(series_setup, tmp_path: Path, pruning: bool) -> None:
    from archselect.search import open_study

    prof, _, _ = series_setup
    plan = make_plan(prof, families=("mlp",), n_trials=2, pruning=pruning)
    assert Plan.from_json(plan.to_json()).pruning is pruning
    study = open_study(f"sqlite:///{tmp_path / 's.db'}", plan)
    assert isinstance(study.pruner, optuna.pruners.NopPruner) is not pruning


@pytest.mark.parametrize(("base_val", "words"), [(1.0, "only ties with"), (0.8, "beats")])
def test_a_tie_with_the_best_baseline_is_not_called_a_win(
    series_setup, base_val: float, words: str
) -> None:
    from archselect.baselines import BaselineResult

    prof, _, plan = series_setup
    trials = (_scored_trial(0, "cnn1d", [1] * 10, [0.01] * 10, ms=0.05),)
    base = (BaselineResult("knn_euclidean", val_metric=base_val, test_metric=0.9, train_time_s=0),)
    rec = select(SearchResult("s", "sqlite://", "accuracy", "maximize", trials, base), plan, prof)
    said = [r for r in rec.reasons if "best non-deep reference, 1-nearest neighbour" in r]
    assert len(said) == 1 and words in said[0] and not rec.baseline_beats_deep
