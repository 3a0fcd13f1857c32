"""Greedy ensemble selection (Caruana et al. 2004) on constructed members."""

from __future__ import annotations

import numpy as np
import pytest

from archselect.core.ensemble_selection import (
    blend,
    cross_fit_outputs,
    decode_outputs,
    encode_outputs,
    greedy_weights,
    loss,
    row_scores,
)


def _members(n: int = 300, k: int = 3, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Three classifiers that each err on a different third of the rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    members = []
    for m in range(3):
        p = np.full((n, k), 0.1 / (k - 1))
        p[np.arange(n), y] = 0.9
        wrong = np.arange(n) % 3 == m
        other = (y[wrong] + 1) % k
        p[wrong] = 0.1
        p[np.flatnonzero(wrong), other] = 0.6
        p[np.flatnonzero(wrong), y[wrong]] = 0.3
        p /= p.sum(axis=1, keepdims=True)
        members.append(p)
    return members, y


def test_ensemble_beats_every_member_when_they_err_on_different_rows() -> None:
    members, y = _members()
    singles = [loss(m, y, "classification")[0] for m in members]
    w = greedy_weights(members, y, "classification")
    ens = loss(blend(members, w), y, "classification")[0]
    assert min(singles) > 0.3
    assert ens < min(singles) - 0.3
    assert np.count_nonzero(w) >= 2


def test_weights_sum_to_one_and_are_deterministic() -> None:
    members, y = _members(seed=1)
    w1 = greedy_weights(members, y, "classification", rounds=25)
    w2 = greedy_weights(members, y, "classification", rounds=25)
    assert w1.sum() == pytest.approx(1.0)
    assert (w1 >= 0).all()
    np.testing.assert_array_equal(w1, w2)
    # weights are counts of the rounds of the best prefix (at most 25)
    assert any(np.allclose(w1 * r, np.round(w1 * r), atol=1e-9) for r in range(1, 26))


def test_never_worse_than_the_best_single_member_on_its_rows() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, size=200)
    members = [rng.dirichlet(np.ones(4), size=200) for _ in range(5)]
    best = min(loss(m, y, "classification") for m in members)
    w = greedy_weights(members, y, "classification")
    assert loss(blend(members, w), y, "classification") <= best


def test_one_good_member_among_noise_takes_all_the_weight() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, size=100)
    good = np.eye(2)[y] * 0.8 + 0.1
    noise = [rng.dirichlet(np.ones(2), size=100) for _ in range(3)]
    w = greedy_weights([*noise, good], y, "classification")
    assert w[-1] == pytest.approx(1.0)


def test_regression_members_average_out_opposite_errors() -> None:
    rng = np.random.default_rng(5)
    y = rng.normal(size=120)
    up, down = (y + 0.5)[:, None], (y - 0.5)[:, None]
    w = greedy_weights([up, down], y, "regression")
    assert w.tolist() == [0.5, 0.5]
    assert loss(blend([up, down], w), y, "regression")[0] < 1e-12


def _regression_members(n: int = 400, seed: int = 8) -> tuple[list[np.ndarray], np.ndarray]:
    """A plain noisy member, then two whose errors cancel: one high where the other is low."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    swing = 0.6 * np.sign(rng.normal(size=n))  # each row: one member too high, one too low
    plain = y + 0.7 * rng.normal(size=n)  # MSE about 0.49
    high = y + swing + 0.1 * rng.normal(size=n)  # MSE about 0.37: the best single members
    low = y - swing + 0.1 * rng.normal(size=n)
    return [m[:, None] for m in (plain, high, low)], y


def test_regression_selection_picks_the_two_complementary_members_and_beats_each() -> None:
    members, y = _regression_members()
    singles = [loss(m, y, "regression")[0] for m in members]
    w = greedy_weights(members, y, "regression")
    assert w[0] == 0.0
    np.testing.assert_allclose(w[1:], [0.5, 0.5], atol=0.1)
    ens = loss(blend(members, w), y, "regression")[0]
    assert ens < min(singles) / 10  # the swings cancel: the mean is nearly exact
    honest, parts = cross_fit_outputs(members, y, "regression", seed=0)
    assert all(p[0] == 0.0 and p[1] > 0.0 and p[2] > 0.0 for p in parts)
    scores = row_scores(honest, y, "regression")
    np.testing.assert_allclose(scores, -((honest[:, 0] - y) ** 2))
    assert -scores.mean() < min(singles) / 10  # weights chosen on other rows win as well


def test_regression_predictions_round_trip_in_float32() -> None:
    pred = np.random.default_rng(9).normal(scale=3.0, size=(10000, 1))
    text = encode_outputs(pred, precise=True)
    assert text.startswith("1/f32:")
    back = decode_outputs(text)
    assert back is not None and back.shape == (8192, 1)  # the per-row scores' cap
    np.testing.assert_allclose(back, pred[:8192], rtol=1e-6)  # float16 would be off by 1e-3
    assert decode_outputs("x/f32:AAAA") is None


def test_cross_fit_scores_every_row_with_weights_chosen_elsewhere() -> None:
    members, y = _members(n=301, seed=6)
    out, weights = cross_fit_outputs(members, y, "classification", seed=0)
    assert out.shape == members[0].shape
    assert len(weights) == 2
    assert all(w.sum() == pytest.approx(1.0) for w in weights)
    singles = [loss(m, y, "classification")[0] for m in members]
    assert loss(out, y, "classification")[0] < min(singles)
    again, _ = cross_fit_outputs(members, y, "classification", seed=0)
    np.testing.assert_array_equal(out, again)


def test_cross_fit_is_not_optimistic_on_pure_noise() -> None:
    """Members that guess: weights chosen on the same rows look better than chance; the
    cross-fitted score does not (on average over draws)."""
    in_sample, honest = [], []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 2, size=60)
        members = [rng.dirichlet(np.ones(2), size=60) for _ in range(8)]
        w = greedy_weights(members, y, "classification")
        in_sample.append(loss(blend(members, w), y, "classification")[0])
        out, _ = cross_fit_outputs(members, y, "classification", seed=seed)
        honest.append(loss(out, y, "classification")[0])
    assert np.mean(in_sample) < 0.45
    assert np.mean(honest) > np.mean(in_sample) + 0.03


def test_outputs_round_trip_and_are_capped() -> None:
    p = np.random.default_rng(7).dirichlet(np.ones(10), size=5000)
    back = decode_outputs(encode_outputs(p))
    assert back is not None
    assert back.shape == (3276, 10)  # 32,768 values at most
    np.testing.assert_allclose(back, p[:3276], atol=1e-3)
    assert decode_outputs(None) is None
    assert decode_outputs("3:AAAA") is None  # 2 values cannot fill rows of 3


def test_no_members_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        greedy_weights([], np.zeros(3, dtype=int), "classification")
