import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from archselect import UsageError
from archselect.load import load_table
from archselect.profile import THRESHOLDS, Profile, profile_frame, profile_table
from tests.conftest import make_series


def test_digits_is_an_8x8_image(digits_frame: pd.DataFrame) -> None:
    p = profile_frame(digits_frame)
    assert (p.modality, p.layout, p.input_shape) == ("spatial", "image", (1, 8, 8))
    assert p.target == "label" and p.task == "classification"
    assert p.evidence["thresholds"] == THRESHOLDS
    assert p.evidence["structure"]["corr_lag1"] > p.evidence["structure"]["corr_random"]


def test_permuted_pixels_are_tabular(digits_frame: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    pixels = digits_frame.drop(columns="label")
    shuffled = pixels.iloc[:, rng.permutation(64)]
    shuffled.columns = [f"c{i}" for i in range(64)]
    shuffled["label"] = digits_frame["label"]
    assert profile_frame(shuffled).modality == "tabular"


def test_series_is_sequential_and_shuffled_series_is_not() -> None:
    frame = make_series(length=144)
    p = profile_frame(frame)
    assert (p.modality, p.input_shape) == ("sequential", (144, 1))
    rng = np.random.default_rng(3)
    cols = ["label", *[f"t{i}" for i in rng.permutation(144)]]
    assert profile_frame(frame[cols]).modality == "tabular"


def test_sixteen_unrelated_features_are_tabular() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 16)), columns=[f"f{i}" for i in range(16)])
    frame["y"] = rng.integers(0, 2, 200)
    p = profile_frame(frame)
    assert p.modality == "tabular" and p.input_shape == (16,)


def test_breast_cancer_is_tabular() -> None:
    data = load_breast_cancer(as_frame=True).frame
    assert profile_frame(data).modality == "tabular"


def test_target_rules_and_task() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)})
    p = profile_frame(frame)
    assert p.target == "b" and "last column" in p.target_rule and p.task == "regression"
    assert not any("--task" in n for n in p.notes)  # a real-valued target: no hint
    with pytest.raises(UsageError, match="closest names"):
        profile_frame(frame, target="bb_missing")


@pytest.mark.parametrize(
    ("n", "values", "task"),
    [
        (36, [0, 1, 2], "classification"),  # a small labelled set: class codes 0..2
        (390, list(range(1, 38)), "classification"),  # 37 classes coded 1..37, ~10 rows each
        (16, [1, 2, 3, 4], "classification"),  # 4 rows per code
        (200, list(range(20, 61)), "regression"),  # ages 20..60: not codes
        (60, list(range(0, 31)), "regression"),  # 0..30 on 60 rows: two rows per value
        (2000, list(range(0, 200)), "regression"),  # more values than classes allowed
    ],
)
def test_integer_targets_are_classes_when_they_look_like_class_codes(
    n: int, values: list[int], task: str
) -> None:
    rng = np.random.default_rng(0)
    y = np.resize(np.asarray(values), n)  # every value present
    frame = pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.normal(size=n), "y": rng.permutation(y)}
    )
    p = profile_frame(frame, target="y")
    assert p.task == task, p.evidence["task_rule"]
    if task == "classification" and len(values) > 2 and n / len(values) < 20:
        assert "class codes" in p.evidence["task_rule"]
    # a whole-number target read as regression says how to ask for classes instead
    hints = [n for n in p.notes if "--task classification" in n]
    assert len(hints) == (task == "regression"), p.notes
    if hints:
        assert f"{len(values)} distinct whole numbers" in hints[0]
        assert not any("--task" in n for n in profile_frame(frame, target="y", task=task).notes)
    assert THRESHOLDS["min_rows_per_class_code"] == 3


def test_shape_override_must_match() -> None:
    frame = pd.DataFrame(np.zeros((20, 13)), columns=[f"p{i}" for i in range(12)] + ["label"])
    frame["label"] = [0, 1] * 10
    with pytest.raises(UsageError, match="needs 16 pixel columns"):
        profile_frame(frame, shape="4x4")
    assert profile_frame(frame, shape="3x4").input_shape == (1, 3, 4)


def test_profile_round_trips_json(digits_frame: pd.DataFrame) -> None:
    p = profile_frame(digits_frame)
    assert Profile.from_json(p.to_json()) == p


def test_a_periodic_series_whose_neighbours_do_not_correlate_is_a_sequence() -> None:
    """A mains-like signal sampled four times a cycle (lag-1 correlation near 0, lags 4 and
    8 near 1, as in UCR's ACSF1) is a sequence; the period is in the evidence."""
    rng = np.random.default_rng(0)
    n, length = 200, 256
    steps = np.arange(length)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    x = rng.uniform(0.5, 2, (n, 1)) * np.sin(2 * np.pi * steps / 4 + phase)
    x = x + 0.3 * rng.normal(size=(n, length))
    frame = pd.DataFrame(x, columns=[f"c{i}" for i in range(length)])
    frame["label"] = (rng.uniform(size=n) > 0.5).astype(int)
    prof = profile_table(load_table(frame, target="label"), target="label")
    assert (prof.modality, prof.layout) == ("sequential", "series")
    structure = prof.evidence["structure"]
    # |correlation| repeats every 2 steps already (anti-phase at 2, in phase at 4)
    assert structure["period"] in (2, 4) and structure["periodic_score"] > 0
    assert structure["sequence_score"] <= 0  # the lag-1 rule alone would say table
    assert prof.evidence["thresholds"]["seq_min_periodic_gain"] > 0


def test_an_unsure_profile_plans_both_readings_and_its_shuffled_twin_is_sure() -> None:
    """Faint order (issue 31, item 2): below READINGS_MIN_CONFIDENCE the profile keeps both
    readings, the plan searches the sequence families with the table's own references;
    the same columns shuffled are a table, surely."""
    from archselect.plan import make_plan
    from tests.corpus import noisy_series

    frame = noisy_series(4.0)
    prof = profile_frame(frame)
    assert prof.readings == ("table", "series") and prof.layout == "series"
    assert prof.confidence < THRESHOLDS["readings_min_confidence"]
    plan = make_plan(prof, n_trials=6)
    assert plan.readings == ("table", "series")
    assert {"cnn1d", "mlp"} <= set(plan.family_names)
    assert {"minirocket", "k_nearest_neighbours", "svm_rbf"} <= set(plan.baselines)
    order = np.random.default_rng(0).permutation(64)
    shuffled = frame[[*(f"s{i}" for i in order), "label"]]
    twin = profile_frame(shuffled)
    assert twin.layout == "table" and twin.readings == ()
    assert twin.confidence >= THRESHOLDS["readings_min_confidence"]
    assert make_plan(twin, n_trials=6).readings == ()


def test_offset_dominated_spectra_read_as_a_sequence_from_the_row_view() -> None:
    """Spectra on a per-row offset: every column correlates ~0.99 with every other, so the
    raw test cannot see the order; each row's deviations from its mean can."""
    from tests.corpus import offset_spectra

    values, conc = offset_spectra(120, 100, 5)
    frame = pd.DataFrame(values, columns=[f"w{i}" for i in range(100)])
    frame["conc"] = conc
    prof = profile_frame(frame, target="conc")
    assert (prof.layout, prof.task) == ("series", "regression")
    assert prof.evidence["sequence_view"] == "row"
    row = prof.evidence["structure_views"]["row"]
    assert row["sequence_score"] > 0 and prof.evidence["structure"]["sequence_score"] <= 0
    assert "per-row offset dominates" in prof.decision
    shuffled = frame[[*(f"w{i}" for i in np.random.default_rng(1).permutation(100)), "conc"]]
    assert profile_frame(shuffled, target="conc").layout == "table"


def test_an_unsure_image_that_is_also_a_sequence_says_only_the_image_is_searched() -> None:
    """Image or sequence: the sequence families would need the pixels as steps, which they do
    not read yet, so the profile names the doubt and the option instead of claiming both."""
    from tests.corpus import blob_images, image_frame

    imgs = blob_images(300, 12, 12, 4)
    imgs = imgs + 0.7 * np.random.default_rng(1).normal(size=imgs.shape)
    prof = profile_frame(image_frame(imgs, [f"p{i}" for i in range(144)]))
    assert prof.layout == "image" and prof.readings == ()
    assert prof.confidence < THRESHOLDS["readings_min_confidence"]
    assert any("could not tell an image from a sequence" in n for n in prof.notes)
