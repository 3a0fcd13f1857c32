"""scikit-learn estimator: the library's own checks, plus arrays, frames and meta-estimators.

Every check of ``sklearn.utils.estimator_checks`` runs; the ones that fit the estimator many
times are marked ``slow`` (``make test-slow``), the default run keeps those that fit at most
once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import estimator_checks_generator

from archselect import ArchSelectClassifier, ArchSelectRegressor, DataError

TINY = str(Path(__file__).resolve().parents[1] / "spaces" / "tiny_shared.toml")


@pytest.fixture(autouse=True)
def _tiny_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """One trial of two epochs is all these checks need (they test the API, not accuracy)."""
    from tests.conftest import TRAINING as train

    monkeypatch.setattr(train, "MIN_STEPS", 2)
    monkeypatch.setattr(train, "MIN_PATIENCE_STEPS", 1)


#: Checks that cannot apply, and why (reported as xfail, strict: they must fail), by
#: estimator and check. A classifier passes check_fit2d_1sample: one sample is one class,
#: which it refuses in the words scikit-learn looks for ("one class").
EXPECTED_FAILED = {
    ("ArchSelectRegressor", "check_fit2d_1sample"): (
        "archselect holds out validation and test rows, so it needs 10 rows"
    ),
}

#: Checks that run in the default suite: they fit at most once (or only test errors).
FAST_CHECKS = {
    "check_estimator_cloneable",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order",
    "check_estimators_unfitted",
    "check_requires_y_none",
    "check_fit2d_1sample",
    "check_fit1d",
    "check_complex_data",
    "check_estimators_empty_data_messages",
    "check_classifiers_one_label",
    "check_classifiers_regression_target",
    "check_fit_check_is_fitted",
    "check_n_features_in_after_fitting",
    "check_fit2d_predict1d",
}

ESTIMATORS = [
    ArchSelectClassifier(trials=1, spaces=(TINY,)),
    ArchSelectRegressor(trials=1, spaces=(TINY,)),
]


def _check_name(check: Callable[..., Any]) -> str:
    func = getattr(check, "func", check)
    return str(func.__name__)


def _params() -> list[Any]:
    params = []
    for est in ESTIMATORS:
        for estimator, check in estimator_checks_generator(est, legacy=True):
            name = _check_name(check)
            marks: list[Any] = [] if name in FAST_CHECKS else [pytest.mark.slow]
            why = EXPECTED_FAILED.get((type(est).__name__, name))
            if why is not None:
                marks.append(pytest.mark.xfail(reason=why, strict=True))
            ident = f"{type(est).__name__}-{name}-{len(params)}"
            params.append(pytest.param(estimator, check, id=ident, marks=marks))
    return params


@pytest.mark.parametrize(("estimator", "check"), _params())
def test_sklearn_estimator_checks(estimator: Any, check: Callable[[Any], None]) -> None:
    check(estimator)


def _images(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """(N, 1, 8, 8) images: a bright top half or a bright bottom half."""
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    x = rng.normal(0, 0.3, (n, 1, 8, 8))
    x[y == 0, :, :4] += 1.0
    x[y == 1, :, 4:] += 1.0
    return x, np.where(y == 1, "bottom", "top")


def test_fits_images_and_sequences_as_arrays() -> None:
    x, y = _images()
    clf = ArchSelectClassifier(trials=1, spaces=(TINY,)).fit(x, y)
    assert clf.best_family_ in ("cnn2d", "mlp")
    # these blobs are easy: a reference may win (then it is the exported model)
    kind = clf.recommendation_.kind
    exported = {"family": "weights.pt", "baseline": "baseline.skops"}.get(kind, "ensemble.json")
    assert (Path(clf.run_dir_) / "model" / exported).exists()
    assert list(clf.classes_) == ["bottom", "top"]
    proba = clf.predict_proba(x[:5])
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert set(clf.predict(x)) <= {"bottom", "top"}
    assert 0.0 <= clf.score(x, y) <= 1.0
    assert clf.model_.preprocessing.input_shape == (1, 8, 8)
    # the temporary run directory goes with the estimator; a pickled copy still predicts
    import gc
    import pickle

    copy = pickle.loads(pickle.dumps(clf))
    run_root = Path(clf.run_dir_).parent
    del clf
    gc.collect()
    assert not run_root.exists()
    assert list(copy.predict(x[:3])) == list(copy.predict(x[:3]))
    assert copy.predict_proba(x[:3]).shape == (3, 2)

    t = np.linspace(0, 4 * np.pi, 32)
    rng = np.random.default_rng(1)
    series = np.stack([np.sin(t * (1 + i % 2) + rng.uniform(0, 6)) for i in range(60)])
    target = series[:, -8:].mean(axis=1)
    reg = ArchSelectRegressor(trials=1, families=("cnn1d",), spaces=(TINY,))
    reg.fit(series[:, :, None], target)
    # the one family searched (two epochs may leave it at chance, out of the verdict)
    assert [f.family for f in reg.recommendation_.families] == ["cnn1d"]
    assert reg.best_family_ in ("cnn1d", None) and reg.recommended_ is not None
    assert reg.model_.preprocessing.input_shape == (32, 1)
    assert reg.predict(series[:3, :, None]).shape == (3,)
    with pytest.raises(DataError, match="shape"):
        reg.predict(series[:3, :16, None])


def test_multichannel_sequences_keep_their_channels() -> None:
    x = np.random.default_rng(0).normal(size=(40, 20, 2)).cumsum(axis=1)
    reg = ArchSelectRegressor(trials=1, families=("cnn1d",), spaces=(TINY,))
    reg.fit(x, x[:, -1, 0])
    assert reg.model_.preprocessing.input_shape == (20, 2)
    assert reg.predict(x[:4]).shape == (4,)


def test_clone_pipeline_and_cross_val_score_on_a_frame() -> None:
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame["city"] = rng.choice(["north", "south"], 60)
    y = (frame["a"] > 0).astype(int).to_numpy()
    est = ArchSelectClassifier(trials=1, spaces=(TINY,), seed=3)
    twin = clone(est)
    assert twin.get_params() == est.get_params() and not hasattr(twin, "model_")
    pipe = make_pipeline(FunctionTransformer(lambda f: f.assign(a2=f["a"] ** 2)), est)
    scores = cross_val_score(pipe, frame, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


@pytest.mark.slow
def test_grid_search_over_its_own_options() -> None:
    from sklearn.model_selection import GridSearchCV

    x, y = _images(80)
    grid = GridSearchCV(
        ArchSelectClassifier(trials=1, spaces=(TINY,)),
        {"families": [("cnn2d",), ("mlp",)]},
        cv=2,
    )
    grid.fit(x, y)
    assert grid.best_params_["families"] in [("cnn2d",), ("mlp",)]
    assert grid.best_estimator_.best_family_ == grid.best_params_["families"][0]


def test_the_same_seed_gives_the_same_model() -> None:
    """Initial weights follow the seed too: a second fit in the same process (whose global
    random state has moved on) trains the very same networks."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 3)), np.arange(30) % 3
    fits = [ArchSelectClassifier(trials=1, spaces=(TINY,)).fit(x, y) for _ in range(2)]
    histories = [pd.read_csv(Path(f.run_dir_) / "trials.csv")["history_val"] for f in fits]
    assert list(histories[0]) == list(histories[1])
    np.testing.assert_array_equal(fits[0].predict_proba(x), fits[1].predict_proba(x))


def test_fitted_on_a_frame_it_predicts_arrays_by_position() -> None:
    """scikit-learn's convention: rows without names are read in the training columns'
    order, with its warning; the families and space may be given as single strings."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = np.where(frame["a"] > 0, "up", "down")
    clf = ArchSelectClassifier(trials=1, families="mlp", spaces=TINY).fit(frame, y)
    assert clf.best_family_ == "mlp"
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = clf.predict(frame.to_numpy())
    assert list(from_array) == list(clf.predict(frame))
    wrong = pytest.raises(ValueError, match="X has 3 features, but ArchSelectClassifier is")
    with pytest.warns(UserWarning, match="does not have valid feature names"), wrong:
        clf.predict(np.zeros((2, 3)))


def test_one_class_is_named_as_the_caller_wrote_it() -> None:
    x = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(DataError, match=r"y holds one class only \('z'\)"):
        ArchSelectClassifier(trials=1).fit(x, ["z"] * 30)
