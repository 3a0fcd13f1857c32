"""Units of the text and forecasting paths: tokenisation, vocabulary, frequency, gaps,
windows and the time-ordered split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from archselect import DataError
from archselect.layouts import _text_tokens as tx
from archselect.layouts import forecast as fc
from archselect.layouts import transform
from archselect.load import load_table
from archselect.prepare import prepare
from archselect.profile import profile_frame, profile_table
from tests.conftest import DATASETS

# --- text ----------------------------------------------------------------------------------


def test_word_tokens_are_lowercased_words_and_marks() -> None:
    assert tx.tokenize("It's GREAT, really.", "word") == [
        "it",
        "'",
        "s",
        "great",
        ",",
        "really",
        ".",
    ]


def test_char_tokens_skip_spaces_and_serve_chinese() -> None:
    assert tx.tokenize("好 电影!", "char") == ["好", "电", "影", "!"]


def test_vocabulary_is_frequency_capped_and_fitted_on_given_texts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tx, "MAX_VOCAB", 2)
    enc = tx.fit_text_encoding("t", ["a a a b b c c d", "b a", "e"], "word", 5)
    assert enc.vocabulary == ("a", "b")  # c (2x) cut by the cap, d/e seen once
    ids = enc.encode(["c a b", "a a a a a a a"])
    assert ids.dtype == np.int64 and ids.shape == (2, 5)
    assert ids[0].tolist() == [0, 0, tx.OOV, 2, 3]  # front padding, unknown -> 1
    assert ids[1].tolist() == [2] * 5  # truncated to the length


def test_tokenizer_choice_follows_spaces() -> None:
    zh = tx.free_text_evidence(
        pd.Series(["这个酒店的服务非常好，房间也很干净，下次还会再来住"] * 3 + ["差"])
    )
    en = tx.free_text_evidence(pd.Series(["a fine and moving film overall", "dull and slow"]))
    assert tx.choose_tokenizer(zh)[0] == "char"
    assert tx.choose_tokenizer(en)[0] == "word"
    assert tx.choose_tokenizer(zh, "word")[0] == "word"


def test_length_is_a_capped_percentile() -> None:
    assert tx.choose_length(np.arange(1, 101)) == 96
    assert tx.choose_length(np.full(10, 5000)) == tx.MAX_LENGTH
    assert tx.choose_length(np.full(10, 1)) == tx.MIN_LENGTH


def test_identifiers_are_not_text() -> None:
    ids = pd.Series([f"user_{i:06d}" for i in range(100)])
    assert not tx.free_text_evidence(ids)["is_text"]


def test_profile_and_prepare_chinese_reviews_as_char_text() -> None:
    frame = pd.read_csv(DATASETS / "reviews_zh.csv").head(300)
    table = load_table(frame)
    profile = profile_table(table)
    assert (profile.modality, profile.layout) == ("sequential", "text")
    assert profile.evidence["text"]["tokenizer"] == "char"
    hist = profile.evidence["text"]["length_histogram"]
    assert sum(hist["counts"]) == 300 and len(hist["edges"]) == len(hist["counts"]) + 1
    prepared = prepare(table, profile)
    pre = prepared.preprocessing
    assert prepared.x_train.dtype == np.int64
    assert prepared.x_train.shape[1] == profile.input_shape[0] == pre.text.max_length
    # the vocabulary saw the training rows only: a token only in test rows is unknown
    train_tokens = {
        t for s in frame.iloc[list(prepared.split.train)]["text"] for t in tx.tokenize(s, "char")
    }
    assert set(pre.text.vocabulary) <= train_tokens
    assert pre.to_dict()["text"]["vocabulary"][:3] == list(pre.text.vocabulary[:3])


# --- forecasting ---------------------------------------------------------------------------


def _monthly(n: int = 120, start: str = "2000-01-01") -> pd.DataFrame:
    t = np.arange(n)
    y = 10 + 0.05 * t + np.sin(2 * np.pi * t / 12) + 0.05 * np.random.default_rng(0).normal(size=n)
    return pd.DataFrame({"month": pd.date_range(start, periods=n, freq="MS"), "sales": y})


@pytest.mark.parametrize(
    ("freq", "group"), [("D", "D"), ("h", "h"), ("MS", "M"), ("W-SUN", "W"), ("QS", "Q")]
)
def test_frequency_detection(freq: str, group: str) -> None:
    times = pd.Series(pd.date_range("2021-01-01", periods=40, freq=freq))
    assert fc.detect_frequency(times)["group"] == group


def test_frequency_from_median_step_when_irregular() -> None:
    times = pd.Series(pd.date_range("2021-01-01", periods=40, freq="D").delete([5, 17]))
    found = fc.detect_frequency(times)
    assert found["group"] == "D" and "median step" in found["rule"]


def test_small_gaps_are_filled_by_interpolation() -> None:
    times = pd.Series(pd.date_range("2021-01-01", periods=50, freq="D").delete([10, 11]))
    values = np.arange(50.0)[np.r_[0:10, 12:50]][:, None]
    grid, filled, info = fc.regularise(times, values, "D")
    assert len(grid) == 50 and info["missing_timestamps"] == 2 and info["longest_gap"] == 2
    np.testing.assert_allclose(filled[:, 0], np.arange(50.0))


def test_large_gaps_are_refused_with_a_clear_error() -> None:
    times = pd.Series(pd.date_range("2021-01-01", periods=100, freq="D").delete(range(20, 40)))
    with pytest.raises(DataError, match="longest gap 20 steps"):
        fc.regularise(times, np.zeros((80, 1)), "D")


def test_duplicate_times_are_refused() -> None:
    times = pd.Series(pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-02"]))
    with pytest.raises(DataError, match="more than once"):
        fc.regularise(times, np.zeros((3, 1)), "D")


def test_windows_and_targets_line_up() -> None:
    v = np.arange(10.0)
    x = fc.windows(v[:, None], 4)
    y = fc.window_targets(v, 4, 2)
    assert x.shape == (7, 4, 1) and y.shape == (5, 2)
    for i in range(len(y)):
        assert x[i, -1, 0] + 1 == y[i, 0]  # the target starts right after the window


def test_time_ordered_split_never_mixes_time() -> None:
    n, w, h = 200, 12, 6
    train, val, test, val_start, test_start = fc.time_ordered_split(n, w, h)
    assert max(train) + w + h <= val_start  # training targets end before validation
    assert min(val) + w >= val_start and max(val) + w + h <= test_start
    assert min(test) + w >= test_start and max(test) + w + h == n  # test: the latest steps
    assert list(train) == sorted(train) and max(train) < min(val) < min(test)


def test_profile_detects_a_forecast_with_season_window_and_horizon() -> None:
    profile = profile_frame(_monthly())
    assert profile.layout == "forecast" and profile.task == "regression"
    ev = profile.evidence["forecast"]
    assert (ev["frequency"], ev["season"], ev["horizon"]) == ("MS", 12, 12)
    assert profile.input_shape == (ev["window"], 1) and ev["window"] >= ev["season"]
    assert "thresholds" in ev and ev["fill_policy"]
    assert profile.n_outputs == 12
    given = profile_frame(_monthly(), horizon=3, window=10)
    assert (given.evidence["forecast"]["horizon"], given.input_shape) == (3, (10, 1))


def test_prepare_forecast_scales_on_training_steps_only() -> None:
    frame = _monthly(160)
    frame.loc[150:, "sales"] += 1000.0  # a jump in the test period must not leak into scaling
    table = load_table(frame)
    profile = profile_table(table, horizon=4, window=12)
    prepared = prepare(table, profile)
    pre = prepared.preprocessing
    assert prepared.split.time_ordered
    assert pre.forecast is not None
    level, scale = pre.forecast.series_scales[""]
    assert level < 20 and scale < 5  # fitted before the jump
    assert prepared.y_train.shape[1] == 4 and prepared.x_train.shape[1:] == (12, 1)
    # transform of the whole history gives the same windows as training used
    np.testing.assert_allclose(transform(pre, frame)[list(prepared.split.test)], prepared.x_test)


def test_mase_scale_is_the_in_sample_seasonal_naive_error() -> None:
    y = np.tile(np.arange(4.0), 10)
    assert fc.mase_scale(y, 4) == 1.0  # zero seasonal error falls back to scale 1
    assert fc.mase_scale(y, 1) == pytest.approx(np.mean(np.abs(np.diff(y))))
    assert fc.mase_scale(np.arange(10.0), 1) == 1.0


def test_dated_rows_with_a_class_label_stay_a_table() -> None:
    frame = _monthly(60)
    frame["label"] = ["up", "down"] * 30
    profile = profile_frame(frame)
    assert profile.layout == "table" and "month" in profile.evidence["time_columns"]
