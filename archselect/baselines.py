"""Non-deep reference models on the same split, so the report can say how much a deep
family earns — and candidates in their own right: one that beats the deep families is
recommended and exported (see :mod:`archselect.export._reference`).

Every data set gets logistic regression (ridge for regression) and HistGradientBoosting on
the flattened features; tables and images also get k-nearest neighbours and an RBF
support-vector machine on standardised features; sequences also get 1-nearest-neighbour on
Euclidean distance and MiniRocket (from ``aeon``, in the default install). Where ``aeon``
cannot be installed, the MiniRocket row is kept with ``note`` saying why it was skipped.
Each result keeps its per-row validation scores (out-of-fold where the study
cross-validates), as the deep trials do, so the selection compares them row by row.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR

from archselect.baselines_forecast import STATS_REFERENCES, forecast_reference
from archselect.core.ensemble_selection import encode_outputs
from archselect.core.metrics import (
    decode_scores as decode_scores,
)
from archselect.core.metrics import (
    encode_scores,
    per_sample_scores,
    score,
)
from archselect.core.records import (
    BASELINE_DESCRIPTIONS,
    BASELINE_NAMES,
    EXPORTABLE_BASELINES,
    KNN_NEIGHBOURS,
    BaselineResult,
)
from archselect.core.sizes import (
    fit_rows,
    fitted_size,
)
from archselect.layouts import plugin_for
from archselect.prepare import Fold, Prepared, Preprocessing, load_prepared, out_of_fold

__all__ = [
    "BASELINE_DESCRIPTIONS",
    "BASELINE_NAMES",
    "EXPORTABLE_BASELINES",
    "BaselineResult",
    "baseline_inputs",
    "baseline_job",
    "baseline_outputs",
    "fit_baseline",
    "fit_rows",
    "fit_within",
    "fitted_size",
    "large_for_references",
    "minirocket_available",
    "run_baselines",
    "warm_minirocket",
]

#: Iteration cap of the linear baselines.
MAX_ITER = 1000
#: Under a ``--timeout``, logistic regression fits in chunks of this many L-BFGS iterations,
#: each resuming from the last (warm start), and stops after the chunk that ends past its
#: share of the time. On wide, separable rows (long series, many classes) its MAX_ITER
#: iterations never converge: 14–20 s per fit on ACSF1's 60 × 1,460 steps × 10 classes,
#: which starved every other reference and family of a 2-minute budget.
LR_CHUNK_ITER = 50
#: … and gradient boosting in chunks of this many boosting rounds (its fit grows with the
#: features times the classes: 58 s for PLAID's 322 padded series of 1,344 steps, 11 classes).
BOOSTING_CHUNK = 10
#: A reference's fit is never given less than this many seconds.
MIN_FIT_S = 1.0
#: MiniRocket needs series at least this long (its kernels have length 9).
MINIROCKET_MIN_LENGTH = 9
#: Predictions are made this many rows at a time (MiniRocket's 10,000 features per row).
PREDICT_CHUNK = 2_048
#: A reference's job: BLAS/OpenMP threads (one: the other cores train networks), and the
#: share of its time after which its iterative fit stops (the rest pays for scoring it).
JOB_THREADS = 1
JOB_SOFT_FRACTION = 0.7
#: Without a ``--timeout``, references run as killable jobs (memory-capped) only on data
#: of more than this many training values (rows x features); smaller data fits in ``fit``.
LARGE_CELLS = 1_000_000
#: What a reference job server imports once, before its first job …
JOB_PRELOAD = ("archselect.baselines",)
#: … and, when a reference needs it, this package too (aeon's MiniRocket: 4 s of CPU;
#: statsforecast: 6 s, which a forecast reference's job paid inside its share of a
#: ``--timeout``, so that on 155 monthly series AutoTheta, a 2-second fit, was skipped).
JOB_PRELOAD_FOR = {
    "minirocket": ("aeon.classification.convolution_based",),
    **{name: ("statsforecast.models",) for name in STATS_REFERENCES},
}
BUDGET_SKIPPED = "skipped: the --timeout budget for baselines was spent before it could start."
MINIROCKET_MISSING = "MiniRocket skipped: the package aeon is not installed (pip install aeon)."


def _brier(proba: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row Brier score of class probabilities ``(N, K)`` against labels ``(N,)``."""
    p = np.array(proba, dtype=np.float64)
    p[np.arange(len(y)), y] -= 1.0
    return (p**2).sum(axis=1)


def minirocket_available() -> bool:
    """Whether the optional ``aeon`` package (MiniRocket) can be imported."""
    try:
        import aeon.classification.convolution_based  # noqa: F401
    except Exception:
        return False
    return True


#: Rows and steps of the tiny series :func:`warm_minirocket` fits.
WARM_ROWS, WARM_STEPS = 16, 2 * MINIROCKET_MIN_LENGTH


def warm_minirocket(channels: tuple[int, ...] = (1, 2)) -> bool:
    """Compile MiniRocket's numba kernels once, so that aeon's on-disk cache holds them.

    numba compiles aeon's MiniRocket code on its first use after an install (about 40 s of
    CPU on 2 cores, for the one-channel and the many-channel kernels), and every process
    that starts before the cache is written compiles it again: a budgeted ``fit`` would pay
    it out of the user's ``--timeout``. ``scripts/warm.sh`` calls this once after
    installing, one process per case (``channels=(1,)`` and ``channels=(2,)``, which compile
    different kernels); later processes load the compiled code from the cache in well under a
    second. Returns False (and does nothing) when aeon is not installed.

    Example:
        >>> warm_minirocket()  # doctest: +SKIP
        True
    """
    if not minirocket_available():
        return False
    rng = np.random.default_rng(0)
    y = np.arange(WARM_ROWS) % 2
    for c in channels:  # aeon has one kernel set for one channel, one for several
        x = rng.normal(size=(WARM_ROWS, WARM_STEPS, c))  # (N, T, C)
        model = _make("minirocket", "classification", 0).fit(x, y)
        model.predict_proba(x)
    return True


class _Series3D:
    """Wraps an aeon estimator: (N, T, C) arrays in, aeon's (N, C, T) collections inside."""

    def __init__(self, est) -> None:  # type: ignore[no-untyped-def]
        self.est = est

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Series3D:
        self.est.fit(x.transpose(0, 2, 1).astype(np.float64), y)
        self.classes_ = getattr(self.est, "classes_", None)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.est.predict(x.transpose(0, 2, 1).astype(np.float64)))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.est.predict_proba(x.transpose(0, 2, 1).astype(np.float64)))


def _make(name: str, task: str, seed: int, n_rows: int = 0):  # type: ignore[no-untyped-def]
    if name == "k_nearest_neighbours":
        cls = KNeighborsClassifier if task == "classification" else KNeighborsRegressor
        return make_pipeline(
            StandardScaler(), cls(n_neighbors=max(1, min(KNN_NEIGHBOURS, n_rows)))
        )
    if name == "svm_rbf":
        svm = (
            SVC(kernel="rbf", probability=True, random_state=seed)
            if task == "classification"
            else SVR(kernel="rbf")
        )
        return make_pipeline(StandardScaler(), svm)
    if name == "logistic_regression":
        return LogisticRegression(max_iter=MAX_ITER)
    if name == "ridge":
        return Ridge()
    if name == "knn_euclidean":
        cls = KNeighborsClassifier if task == "classification" else KNeighborsRegressor
        return cls(n_neighbors=1, metric="euclidean")
    if name == "minirocket":
        from aeon.classification.convolution_based import MiniRocketClassifier
        from aeon.regression.convolution_based import MiniRocketRegressor

        est_cls = MiniRocketClassifier if task == "classification" else MiniRocketRegressor
        return _Series3D(est_cls(random_state=seed))
    if name == "tfidf_logistic_regression":
        # token ids as "words": TF-IDF of id unigrams and bigrams (padding id 0 left out)
        return make_pipeline(
            TfidfVectorizer(token_pattern=r"[1-9]\d*", ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(max_iter=MAX_ITER),
        )
    if name == "hist_gradient_boosting":
        cls = (
            HistGradientBoostingClassifier
            if task == "classification"
            else HistGradientBoostingRegressor
        )
        return cls(random_state=seed)
    raise ValueError(f"unknown baseline {name!r}")


def fit_within(model: Any, x: Any, y: np.ndarray, seconds: float | None = None) -> Any:
    """``model.fit(x, y)`` (warnings silenced); with ``seconds``, an iterative reference stops
    at the first chunk that ends past them: logistic regression in :data:`LR_CHUNK_ITER`
    L-BFGS iterations, each resuming from the last; gradient boosting in
    :data:`BOOSTING_CHUNK` rounds added to the trees so far (warm start). At least one
    chunk, at most the model's ``max_iter``; an unbounded fit is the plain one.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(40, 3))
        >>> y = (x[:, 0] > 0).astype(int)
        >>> fit_within(LogisticRegression(), x, y, seconds=5.0).max_iter  # restored after
        100
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boosting = isinstance(
            model, HistGradientBoostingClassifier | HistGradientBoostingRegressor
        )
        if seconds is None or not (boosting or isinstance(model, LogisticRegression)):
            return model.fit(x, y)
        params = model.get_params()
        total = int(params["max_iter"])
        chunk = BOOSTING_CHUNK if boosting else LR_CHUNK_ITER
        start, done = time.perf_counter(), 0
        while True:
            step = min(chunk, total - done)
            # boosting: max_iter counts every round so far; L-BFGS: the rounds of this call
            model.set_params(max_iter=done + step if boosting else step, warm_start=True)
            model.fit(x, y)
            done += step
            stopped = int(np.max(model.n_iter_)) < (done if boosting else step)  # converged
            spent = time.perf_counter() - start >= max(MIN_FIT_S, seconds)
            if stopped or spent or done >= total:
                break
        return model.set_params(max_iter=total, warm_start=params["warm_start"])


class _Skip(Exception):
    """A baseline that does not apply here (its message is the note)."""


def baseline_outputs(model, x, task: str, n_classes: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Class probabilities ``(N, K)`` in class-index order, or ``(N, 1)`` scaled values."""
    return _outputs(model, x, task, n_classes)


def _outputs(model, x, task: str, n_classes: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    if len(x) > PREDICT_CHUNK:  # bounded memory: MiniRocket's features are 40 KB a row
        return np.concatenate(
            [
                _outputs(model, x[i : i + PREDICT_CHUNK], task, n_classes)
                for i in range(0, len(x), PREDICT_CHUNK)
            ]
        )
    if task == "classification":
        proba = model.predict_proba(x)
        classes = np.asarray(model.classes_, dtype=np.int64)
        full = np.zeros((len(x), max(n_classes, int(classes.max()) + 1)))
        full[:, classes] = proba
        return full
    return model.predict(x)[:, None]


def _as_text(x: np.ndarray) -> list[str]:
    return [" ".join(map(str, row[row > 0])) for row in x]


def forecast_baseline(
    prepared: Prepared, name: str, deadline: float | None = None
) -> BaselineResult:
    """A forecast reference on the prepared forecast origins
    (:func:`archselect.baselines_forecast.forecast_reference`)."""
    return forecast_reference(prepared, name, deadline=deadline)


def baseline_inputs(name: str, x: np.ndarray, pre: Preprocessing) -> Any:
    """Model input ``x`` (as :meth:`Preprocessing.transform` gives it) in the form baseline
    ``name`` reads, for data prepared by ``pre`` (:func:`_inputs`)."""
    return _inputs(name, x, text=pre.text is not None, masked=plugin_for(pre.layout).masked)


def _inputs(name: str, x: np.ndarray, *, text: bool, masked: bool) -> Any:
    """The ``(N, T, C)`` series (MiniRocket; on padded sequences, ``masked``, the value
    channels without the mask, padding and all), token ids as words (text), or the
    flattened features (the mask channel included: for 1-NN it counts a difference in
    length as a distance).

    Example:
        >>> x = np.ones((2, 5, 3), dtype=np.float32)  # (N, T, C + mask)
        >>> _inputs("minirocket", x, text=False, masked=True).shape
        (2, 5, 2)
        >>> _inputs("knn_euclidean", x, text=False, masked=True).shape
        (2, 15)
    """
    if name == "minirocket":
        return x[..., :-1] if masked else x
    if text:
        return _as_text(x)
    return x.reshape(len(x), -1)


def fit_baseline(
    prepared: Prepared,
    name: str,
    seed: int = 0,
    *,
    rows: tuple[np.ndarray, np.ndarray] | None = None,
    seconds: float | None = None,
) -> tuple[Any, np.ndarray]:
    """Baseline ``name`` refitted on the train + validation rows (the deep winner's refit
    rule), or on ``rows`` (inputs, targets), and its outputs on the test rows; ``seconds``
    bounds the fit as :func:`fit_within` does. Large data is subsampled as in the search
    (:func:`fit_rows`): MiniRocket's ridge head refitted on 51,200 rows ran past 4 minutes
    and 10 GB of a 3-minute budget in the final model of an ensemble.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from archselect.load import load_table
        >>> from archselect.prepare import prepare
        >>> from archselect.profile import profile_table
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame({"a": rng.normal(size=60), "y": rng.normal(size=60)})
        >>> table = load_table(df)
        >>> model, out = fit_baseline(prepare(table, profile_table(table, target="y")), "ridge")
        >>> out.shape[1]
        1
    """
    pre = prepared.preprocessing
    x, y = prepared.pooled if rows is None else rows
    n_features = int(np.prod(x.shape[1:])) if x.ndim > 1 else 1
    keep, _ = fit_rows(name, len(x), len(prepared.x_test), n_features, seed)
    if keep is not None:
        x, y = x[keep], y[keep]
    model = fit_within(
        _make(name, pre.task, seed, len(x)), baseline_inputs(name, x, pre), y, seconds
    )
    out = _outputs(model, baseline_inputs(name, prepared.x_test, pre), pre.task, len(pre.classes))
    return model, out


def _cross_validate(  # type: ignore[no-untyped-def]
    name: str,
    prepared: Prepared,
    folds: tuple[Fold, ...],
    flat,
    first_val_out,
    seed: int,
    seconds: float | None = None,
) -> np.ndarray:
    """Out-of-fold outputs on the pooled train + validation rows, as the deep trials get."""
    task, n_classes = prepared.preprocessing.task, len(prepared.preprocessing.classes)
    if isinstance(flat[0], list):  # texts
        pooled = np.array(flat[0] + flat[1], dtype=object)
    else:
        pooled = np.concatenate([flat[0], flat[1]])
    y = prepared.pooled[1]

    def fit_predict(_: int, fold: Fold) -> np.ndarray:
        model = _make(name, task, seed, len(fold.train))
        fit_within(model, pooled[fold.train], y[fold.train], seconds)
        return _outputs(model, pooled[fold.val], task, n_classes)

    return out_of_fold(folds, first_val_out, fit_predict)


#: Rows of the batch a reference's latency is timed on (as the trials' ``latency_b256_ms``),
#: and the timed repeats (the fastest is kept).
LATENCY_BATCH = 256
LATENCY_REPEATS = 3


def _latency_b256(model: Any, x: Any, task: str, n_classes: int) -> float | None:
    """Inference ms per sample at batch 256 (validation rows repeated to fill the batch)."""
    if len(x) == 0:
        return None
    take = np.arange(LATENCY_BATCH) % len(x)
    batch = [x[i] for i in take] if isinstance(x, list) else x[take]
    best = float("inf")
    for _ in range(LATENCY_REPEATS):
        t0 = time.perf_counter()
        _outputs(model, batch, task, n_classes)
        best = min(best, time.perf_counter() - t0)
    return best / LATENCY_BATCH * 1000


def _fit_share(deadline: float | None, refs_left: int, fits: int) -> float | None:
    """Seconds one fit of the next reference may take: the time to ``deadline`` shared
    evenly by the references left and their fits (None without a deadline)."""
    if deadline is None:
        return None
    return max(MIN_FIT_S, (deadline - time.time()) / max(1, refs_left * fits))


def _not_run(name: str, note: str, seconds: float = 0.0) -> BaselineResult:
    return BaselineResult(
        name=name, val_metric=None, test_metric=None, train_time_s=seconds, note=note
    )


def run_baselines(
    prepared: Prepared,
    names: tuple[str, ...],
    *,
    seed: int = 0,
    folds: tuple[Fold, ...] = (),
    deadline: float | None = None,
) -> list[BaselineResult]:
    """Fit each baseline on the training rows; score validation and test.

    ``deadline`` (a ``time.time()`` value, from ``--timeout``): no baseline starts after it;
    those left are recorded as skipped, with a note saying so. Before it, each fit is
    bounded (:func:`fit_within`) by the time left shared by the references and folds left.
    (``fit`` runs each reference as a killable job instead: :func:`baseline_job`.)

    With ``folds`` (small data: the study's, :func:`archselect.prepare.cross_folds`) the
    validation score is out-of-fold over them, as the deep trials' is.

    Most baselines see flattened features; ``minirocket`` sees the ``(N, T, C)`` series;
    text references see the token ids as words; forecast references read the windows.
    A baseline that raises is recorded with ``error``; one whose optional package is
    missing is recorded with ``note``; neither stops the run. Large data is subsampled for
    the references whose cost grows faster than the rows (:func:`fit_rows`), and ``note``
    says so.

    Example:
        >>> import numpy as np
        >>> from archselect.load import load_table
        >>> from archselect.prepare import prepare
        >>> from archselect.profile import profile_table
        >>> import pandas as pd
        >>> frame = pd.DataFrame({"a": np.random.default_rng(0).normal(size=60), "y": [0, 1] * 30})
        >>> table = load_table(frame)
        >>> res = run_baselines(prepare(table, profile_table(table)), ("knn_euclidean",))
        >>> res[0].state
        'COMPLETE'
    """
    results = []
    for name in names:
        start = time.perf_counter()
        if deadline is not None and time.time() >= deadline:
            results.append(_not_run(name, BUDGET_SKIPPED))
            continue
        if name == "minirocket" and not minirocket_available():
            results.append(_not_run(name, MINIROCKET_MISSING))
            continue
        try:
            if prepared.preprocessing.forecast is not None:
                results.append(forecast_baseline(prepared, name, deadline))
                continue
            fit_s = _fit_share(deadline, len(names) - len(results), len(folds) or 1)
            results.append(_fit_one(prepared, name, seed, folds, fit_s))
        except _Skip as skip:
            results.append(_not_run(name, str(skip)))
        except Exception as exc:  # a baseline failing must not stop the run
            results.append(
                BaselineResult(
                    name=name,
                    val_metric=None,
                    test_metric=None,
                    train_time_s=time.perf_counter() - start,
                    error=f"{type(exc).__name__}: {exc}",
                )
            )
    return results


def _fit_one(
    prepared: Prepared, name: str, seed: int, folds: tuple[Fold, ...], fit_s: float | None
) -> BaselineResult:
    """One reference: fit (on the rows :func:`fit_rows` keeps), score, time, size."""
    pre = prepared.preprocessing
    task, std, n_classes = pre.task, pre.target_std, len(pre.classes)
    raw = (prepared.x_train, prepared.x_val, prepared.x_test)
    start = time.perf_counter()
    if name == "minirocket":
        length = raw[0].shape[1] if raw[0].ndim == 3 else 0
        if length < MINIROCKET_MIN_LENGTH:
            raise ValueError(
                f"MiniRocket needs sequences of at least {MINIROCKET_MIN_LENGTH} "
                f"steps; these have {length}"
            )
    flat = [baseline_inputs(name, a, pre) for a in raw]
    n_features = int(np.prod(raw[0].shape[1:])) if raw[0].ndim > 1 else 1
    rows, cut = fit_rows(name, len(raw[0]), len(raw[1]), n_features, seed)
    x_fit, y_fit = flat[0], prepared.y_train
    if rows is not None:
        x_fit, y_fit = flat[0][rows], y_fit[rows]
    model = _make(name, task, seed, len(y_fit))
    fit_within(model, x_fit, y_fit, fit_s)
    elapsed = time.perf_counter() - start
    val_out = _outputs(model, flat[1], task, n_classes)
    latency = _latency_b256(model, flat[1], task, n_classes)
    val_y = prepared.y_val
    if folds:
        val_out = _cross_validate(name, prepared, folds, flat, val_out, seed, fit_s)
        val_y = prepared.pooled[1]
    test_out = _outputs(model, flat[2], task, n_classes)
    precise = task != "classification"  # regression predictions: float32
    return BaselineResult(
        name=name,
        val_metric=score(task, val_out, val_y, std),
        test_metric=score(task, test_out, prepared.y_test, std),
        val_outputs_b64=encode_outputs(val_out, precise=precise),
        test_outputs_b64=encode_outputs(test_out, precise=precise),
        train_time_s=elapsed,
        latency_b256_ms=latency,
        n_params=fitted_size(model),
        val_scores_b64=encode_scores(per_sample_scores(task, val_out, val_y)),
        val_brier_b64=(
            encode_scores(_brier(val_out, val_y)) if task == "classification" else None
        ),
        note=cut,
    )


def large_for_references(prepared: Prepared) -> bool:
    """Whether the training rows hold more than :data:`LARGE_CELLS` values."""
    return int(np.prod(prepared.x_train.shape)) > LARGE_CELLS


def baseline_job(
    folder: str,
    name: str,
    seed: int,
    folds: list[list[list[int]]],
    seconds: float | None,
) -> dict[str, Any]:
    """One reference fitted in a job's process (``archselect.run`` starts them): the prepared
    arrays memory-mapped from ``folder``, one BLAS/OpenMP thread (the other cores run
    trials), its iterative fits bounded to :data:`JOB_SOFT_FRACTION` of ``seconds`` (the
    job is killed at ``seconds``). ``folds``: each fold's training and validation positions,
    as lists (the job's arguments are JSON). Returns the :class:`BaselineResult` as a dict."""
    from threadpoolctl import threadpool_limits

    prepared = load_prepared(Path(folder))
    fold_set = tuple(
        Fold(np.asarray(t, dtype=np.int64), np.asarray(v, dtype=np.int64)) for t, v in folds
    )
    soft = None if seconds is None else time.time() + JOB_SOFT_FRACTION * seconds
    with threadpool_limits(JOB_THREADS):
        (result,) = run_baselines(prepared, (name,), seed=seed, folds=fold_set, deadline=soft)
    return result.to_dict()
