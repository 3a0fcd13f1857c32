"""The verdict's words: one number format per metric, the cheaper-by floors, the structure
checks in words, and a recommendation restated from its own fields."""

from __future__ import annotations

import dataclasses

import pytest

from archselect.core.recommendation import (
    CurvePoint,
    FamilySummary,
    LearningCurve,
    OrderControl,
    Recommendation,
)
from archselect.core.verdict import (
    MEMORY_NOISE_MB,
    Costs,
    RecommendationKind,
    cheaper_parts,
    describe,
    parse_number,
    restate,
    unit_for,
)
from archselect.core.verdict._structure import curves_sentence, order_sentence


def test_every_difference_is_printed_once_in_its_own_unit() -> None:
    acc, rmse, brier = unit_for("accuracy"), unit_for("rmse"), unit_for("brier")
    # the intervals: stored as fractions, printed as points once, not ×100 twice
    assert acc.interval((-0.05, 0.2)) == "95% interval [−5.0, +20.0] points"
    assert acc.signed(-0.0083) == "−0.8 points" and acc.value(0.975) == "97.5%"
    assert rmse.interval((-0.0746, 0.056)) == "95% interval [−0.0746, +0.0560] RMSE"
    assert rmse.value(1234.5678) == "1235" and rmse.name == "RMSE"
    assert brier.interval((-0.12, 0.265)) == "95% interval [−0.120, +0.265]"
    assert acc.interval(None).startswith("no interval")
    assert parse_number("−0.0746") == -0.0746 and parse_number("+20.0") == 20.0


def test_cheaper_needs_a_difference_above_the_noise_floors() -> None:
    fast = Costs("mlp", latency_ms=0.01, memory_mb=10.0, train_time_s=1.0, n_params=1000)
    slow = Costs("cnn1d", latency_ms=0.05, memory_mb=10.0 + MEMORY_NOISE_MB - 1, n_params=1500)
    parts = cheaper_parts(fast, slow)
    assert parts == ("latency mlp 0.01 ms vs cnn1d 0.05 ms per sample (×5 faster)",)
    # clearly dearer on memory: not cheaper, whatever the latency
    fat = dataclasses.replace(fast, memory_mb=10.0 + 2 * MEMORY_NOISE_MB + 20)
    assert cheaper_parts(fat, slow) == ()
    # a microsecond per sample is timer noise when training costs count
    tiny = Costs("a", latency_ms=0.001), Costs("b", latency_ms=0.005)
    assert cheaper_parts(*tiny) == () and cheaper_parts(*tiny, training=False) != ()
    assert RecommendationKind.BASELINE == "baseline"  # old files' strings compare equal


def _order(uses: bool, interval: tuple[float, float] | None) -> OrderControl:
    return OrderControl("mlp", "accuracy", 0.90, 0.89, 0.01, interval, uses, 100, 10, 2.0)


def test_the_order_control_says_what_the_shuffle_shows() -> None:
    acc = unit_for("accuracy")
    table = order_sentence(_order(False, (-0.02, 0.04)), acc, "table")
    assert table.startswith("mlp in order 90.0%, columns shuffled 89.0%: order is worth +1.0")
    assert table.endswith(": no order to use.")
    series = order_sentence(_order(False, (-0.02, 0.04)), acc, "series")
    assert series.endswith("within noise, this model does not use the order of the steps.")
    image = order_sentence(_order(True, (0.3, 0.4)), acc, "image")
    assert "pixels shuffled" in image and image.endswith("uses the order of the pixels.")


def _curve(name: str, metrics: tuple[float, ...], slope: float) -> LearningCurve:
    fractions = (0.25, 0.5, 1.0)
    points = tuple(CurvePoint(f, int(f * 400), m) for f, m in zip(fractions, metrics, strict=True))
    return LearningCurve(name, points, slope)


def test_learning_curves_rise_cross_or_would_tie() -> None:
    acc = unit_for("accuracy")
    crossing = curves_sentence(
        [_curve("cnn1d", (0.6, 0.8, 0.9), 0.1), _curve("mlp", (0.7, 0.75, 0.78), 0.03)], acc, 1.0
    )
    assert crossing is not None and "the two curves cross within the measured rows" in crossing
    flat = curves_sentence(
        [_curve("cnn1d", (0.9, 0.9, 0.9), 0.0), _curve("mlp", (0.6, 0.6, 0.6), 0.0)], acc, 1.0
    )
    assert flat is not None and "cnn1d gains 0.0 points per doubling (flat)" in flat
    assert "they would not tie within 16× the rows" in flat
    # an error metric falls as it improves: a negative slope is a gain
    rmse = curves_sentence([_curve("lstm", (2.0, 1.6, 1.2), -0.4)], unit_for("rmse"), -1.0)
    assert rmse == "More rows: lstm gains 0.400 RMSE per doubling (still rising)."
    assert curves_sentence([], acc, 1.0) is None


def _rec(**fields) -> Recommendation:
    row = dict(best_trial=0, test_metric=0.9, train_time_s=1.0, n_params=9, latency_b1_ms=0.1,
               latency_b256_ms=0.01, peak_memory_mb=1.0, gap=0.0, trials=1, completed=1,
               pruned=0, failed=0)  # fmt: skip
    base = dict(
        family="cnn1d", trial=0, params={}, metric="accuracy", direction="maximize",
        val_metric=0.95, test_metric=0.9, runner_up=None, runner_up_val_metric=None,
        margin=None, margin_interval=None, within_noise=False, baseline_best=None,
        baseline_val_metric=None, baseline_test_metric=None, baseline_beats_deep=False,
        profile_confidence=0.9, families=(FamilySummary("cnn1d", val_metric=0.95, **row),),
        recommended="cnn1d", top_scorer="cnn1d", interval_unit="metric",
    )  # fmt: skip
    return Recommendation(**{**base, **fields})


def test_a_recommendation_is_restated_from_its_fields_and_old_ones_keep_their_words() -> None:
    rec = restate(_rec(rule={"recommended_by": "score"}, final_test_metric=0.93))
    assert rec.headline == (
        "Use cnn1d: validation accuracy 95.0%; no other candidate. On the held-out test rows "
        "(never used for choosing), the exported model, cnn1d refit on train + validation, "
        "scores test accuracy 93.0%."
    )
    assert restate(rec) == rec  # words from numbers: the same numbers, the same words
    text = describe(rec)
    assert text.title == "archselect report — cnn1d" and text.star == "cnn1d"
    cost = "0.01 ms per sample at batch 256, 9 stored numbers, trained in 1 s"
    assert text.cost == cost + ", peak training memory 1 MB"
    old = _rec(headline="Use cnn1d: as an old run said it.", reasons=("stored",))
    assert describe(old).headline == "Use cnn1d: as an old run said it."
    assert describe(old).reasons == ("stored",) and restate(old) == old


@pytest.mark.parametrize("metric", ["rmse", "mae"])
def test_an_older_runs_regression_interval_is_not_shown_in_the_wrong_unit(metric: str) -> None:
    rec = _rec(
        metric=metric, direction="minimize", interval_unit="", rule={"recommended_by": "score"},
        paired={"a": "cnn1d", "b": "mlp", "margin": 0.01, "interval": [-0.07, 0.05]},
    )  # fmt: skip
    assert "[−0.0700" not in describe(rec).headline and "no interval" in describe(rec).headline
