"""The records every later stage reads: one trial, one reference model, the whole search.

Torch-, Lightning- and optuna-free: the selection and the report read these from
``trials.csv`` without loading the training stack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archselect._common.serde import JsonRecord
from archselect.core.ensemble_selection import decode_outputs
from archselect.core.metrics import decode_scores

__all__ = [
    "ALL_FAMILIES",
    "BASELINE_DESCRIPTIONS",
    "BASELINE_NAMES",
    "CUT_SHORT_NOTE",
    "DEADLINE_NOTE",
    "EXPORTABLE_BASELINES",
    "KNN_NEIGHBOURS",
    "BaselineResult",
    "SearchResult",
    "TrialRecord",
    "best_by_family",
    "cross_validated",
    "outranks",
]

#: The start of a trial's ``note`` when the ``--timeout`` deadline stopped it.
DEADLINE_NOTE = "stopped at the --timeout deadline"
#: The note of a family's first trial that the deadline cut short (its result is kept).
CUT_SHORT_NOTE = "cut short at the --timeout deadline"
#: Key of the parameter importances computed over every family's trials together.
ALL_FAMILIES = "all families"
#: Neighbours of the k-nearest-neighbours reference (fewer when the data has fewer rows).
KNN_NEIGHBOURS = 5
#: References that can be recommended: exported with skops (the statsforecast forecast
#: references as JSON: :mod:`archselect.baselines_forecast`) and used by ``predict``. The
#: linear autoregression stays a reference.
EXPORTABLE_BASELINES = (
    "naive",
    "seasonal_naive",
    "auto_ets",
    "auto_theta",
    "auto_arima",
    "minirocket",
    "logistic_regression",
    "ridge",
    "hist_gradient_boosting",
    "knn_euclidean",
    "k_nearest_neighbours",
    "svm_rbf",
    "tfidf_logistic_regression",
)
#: What each baseline is, in words (the report and trials.csv show it).
BASELINE_DESCRIPTIONS = {
    "logistic_regression": "logistic regression on the flattened, standardised features",
    "ridge": "ridge regression on the flattened, standardised features",
    "hist_gradient_boosting": "scikit-learn HistGradientBoosting on the flattened features",
    "knn_euclidean": "1-nearest neighbour, Euclidean distance on the standardised series",
    "k_nearest_neighbours": f"{KNN_NEIGHBOURS}-nearest neighbours on the standardised features",
    "svm_rbf": "support-vector machine, RBF kernel, on the standardised features",
    "tfidf_logistic_regression": "TF-IDF of word unigrams and bigrams + logistic regression",
    "minirocket": "MiniRocket random convolutional features + ridge (aeon)",
    "naive": "naive forecast: the last value repeated (statsforecast Naive)",
    "seasonal_naive": "seasonal naive forecast: the last season repeated (statsforecast)",
    "auto_ets": "exponential smoothing, model chosen by AICc (statsforecast AutoETS)",
    "auto_theta": "Theta method, variant chosen by fit (statsforecast AutoTheta)",
    "auto_arima": "ARIMA, orders chosen by AICc, stepwise (statsforecast AutoARIMA)",
    "linear_autoregression": "ridge regression on the target window (one model for all series)",
}
#: Short names of the references, for headlines ("Use logistic regression: …").
BASELINE_NAMES = {
    "logistic_regression": "logistic regression",
    "ridge": "ridge regression",
    "hist_gradient_boosting": "gradient boosting (HistGradientBoosting)",
    "knn_euclidean": "1-nearest neighbour",
    "k_nearest_neighbours": f"{KNN_NEIGHBOURS}-nearest neighbours",
    "svm_rbf": "an RBF support-vector machine",
    "tfidf_logistic_regression": "TF-IDF + logistic regression",
    "minirocket": "MiniRocket",
    "naive": "the naive forecast",
    "seasonal_naive": "the seasonal naive forecast",
    "auto_ets": "exponential smoothing (AutoETS)",
    "auto_theta": "the Theta method (AutoTheta)",
    "auto_arima": "ARIMA (AutoARIMA)",
    "linear_autoregression": "a linear autoregression",
}


@dataclass(frozen=True)
class BaselineResult(JsonRecord):
    """One reference model's scores on the validation and test splits."""

    name: str
    val_metric: float | None
    test_metric: float | None
    train_time_s: float
    latency_b256_ms: float | None = None
    #: The fitted model's size: the numbers it stores (:func:`archselect.baselines.fitted_size`).
    n_params: int | None = None
    error: str | None = None
    #: Why the baseline was not run (e.g. an optional package is missing); no metrics then.
    note: str | None = None
    #: Forecasts: ``val_mae``, ``val_mase``, ``test_mae``, ``test_mase`` …
    extra_metrics: dict[str, float] = field(default_factory=dict)
    #: Forecasts: the test period forecast, windows laid end to end (target units).
    test_forecast: tuple[float, ...] = ()
    #: Per-row validation scores (1/0 correct, or squared error), the rows the trials are
    #: scored on (out-of-fold where the study cross-validates), base64 float16.
    val_scores_b64: str | None = None
    #: Classification: per-row validation Brier scores (lower is better), as above.
    val_brier_b64: str | None = None
    #: Class probabilities (classification) or predictions in standardised-target units
    #: (regression) on the validation rows (as ``val_scores_b64``) and on the test rows, for
    #: the ensemble selection
    #: (:func:`archselect.core.ensemble_selection.encode_outputs`; not in ``trials.csv``).
    val_outputs_b64: str | None = None
    test_outputs_b64: str | None = None

    def val_scores(self) -> np.ndarray | None:
        """Per-row validation scores, as :meth:`archselect.search.TrialRecord.val_scores`."""
        return decode_scores(self.val_scores_b64)

    def outputs(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Stored probabilities or predictions on the validation and the test rows (or None)."""
        return decode_outputs(self.val_outputs_b64), decode_outputs(self.test_outputs_b64)

    def val_brier(self) -> np.ndarray | None:
        """Per-row validation Brier scores (classification), else None."""
        return decode_scores(self.val_brier_b64)

    @property
    def state(self) -> str:
        """``COMPLETE``, ``FAIL`` (raised: see ``error``) or ``SKIPPED`` (see ``note``). A
        reference with figures and a ``note`` is complete: the note says what was cut to fit
        the budget (rows, kernels, a deadline)."""
        if self.error:
            return "FAIL"
        return "SKIPPED" if self.note and self.val_metric is None else "COMPLETE"

    @property
    def description(self) -> str:
        """One phrase saying what this reference model is."""
        return BASELINE_DESCRIPTIONS.get(self.name, self.name)


@dataclass(frozen=True)
class TrialRecord(JsonRecord):
    """One trial as the report and the selection see it."""

    number: int
    family: str
    state: str
    params: dict[str, Any] = field(default_factory=dict)
    val_metric: float | None = None
    test_metric: float | None = None
    train_metric: float | None = None
    gap: float | None = None
    train_time_s: float | None = None
    epochs: int | None = None
    best_epoch: int | None = None
    n_params: int | None = None
    peak_memory_mb: float | None = None
    latency_b1_ms: float | None = None
    latency_b256_ms: float | None = None
    device: str | None = None
    error: str | None = None
    history_val: tuple[float, ...] = ()
    #: Training score per epoch (a sample of the training rows), beside ``history_val``.
    history_train: tuple[float, ...] = ()
    val_scores_b64: str | None = None
    #: Classification: per-row validation Brier scores (lower is better), as above.
    val_brier_b64: str | None = None
    duration_s: float | None = None
    #: Why a trial stopped early other than by pruning (e.g. at the ``--timeout`` deadline).
    note: str | None = None
    #: Small data: the validation figures are out-of-fold over this many cross-validation
    #: folds of the train + validation rows (``best_epoch``: the folds' median).
    cv_folds: int | None = None
    #: Sequence data only, and only for each family's best trial: the data's sequence
    #: length T, and the inference latency per sample at batch 1 (ms) of the same
    #: architecture built for sequences of length T, 2T and 4T.
    seq_len: int | None = None
    latency_len1x_ms: float | None = None
    latency_len2x_ms: float | None = None
    latency_len4x_ms: float | None = None
    #: Forecasts: ``val_mae``, ``val_mase``, ``test_mae``, ``test_mase`` …
    extra_metrics: dict[str, float] = field(default_factory=dict)
    #: Forecasts: the test period forecast, windows laid end to end (target units).
    test_forecast: tuple[float, ...] = ()
    #: ``--timeout``: the measurement the trial's share paid for (see
    #: :class:`archselect._common.budget.Fidelity`); empty without a time budget.
    fidelity: dict[str, Any] = field(default_factory=dict)
    #: Torch threads the trial trained with, and its measured training pace.
    threads: int | None = None
    sec_per_epoch_row: float | None = None
    #: The same pace in CPU seconds (:attr:`archselect.train.TrainResult.cpu_time_s`).
    cpu_sec_per_epoch_row: float | None = None
    #: When the trial finished (``time.time()``), to tell when each family was measured.
    completed_unix: float | None = None
    #: Class probabilities (classification) or predictions in standardised-target units
    #: (regression, not forecasts) on the validation (out-of-fold) rows and on the test rows
    #: (the trial's own model), for the ensemble selection; not in ``trials.csv``.
    val_outputs_b64: str | None = None
    test_outputs_b64: str | None = None
    #: Compute the trial was given and used (``--timeout``; the fair-share accounting): its
    #: allowance in core-seconds, the CPU (core) seconds it used, and its overhead (duration
    #: minus training time: probing, predictions, latency, bookkeeping).
    share_s: float | None = None
    core_s: float | None = None
    overhead_s: float | None = None
    #: Long sequences: the steps the trial trained on after piecewise-aggregate averaging
    #: (the resolution fidelity); None at the data's own length.
    resolution: int | None = None

    def val_scores(self) -> np.ndarray | None:
        return decode_scores(self.val_scores_b64)

    def outputs(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Stored probabilities or predictions on the validation and the test rows (or None)."""
        return decode_outputs(self.val_outputs_b64), decode_outputs(self.test_outputs_b64)

    def val_brier(self) -> np.ndarray | None:
        return decode_scores(self.val_brier_b64)

    def mean_val_brier(self) -> float:
        """Mean validation Brier score (0 when not recorded: regression, older studies)."""
        brier = self.val_brier()
        return float(brier.mean()) if brier is not None else 0.0


@dataclass(frozen=True)
class SearchResult(JsonRecord):
    """Every trial and every baseline of the study."""

    study_name: str
    storage: str
    metric: str
    direction: str
    trials: tuple[TrialRecord, ...]
    baselines: tuple[BaselineResult, ...]
    #: The study's objectives: ``(metric,)`` or ``(metric, "latency")``.
    objectives: tuple[str, ...] = ()
    #: The chance level on the rows trials are scored on: the majority class's accuracy
    #: (classification) or the mean predictor's RMSE (regression); None when unknown.
    chance_metric: float | None = None

    def finished(self) -> list[TrialRecord]:
        return [t for t in self.trials if t.state == "COMPLETE" and t.val_metric is not None]


def best_by_family(result: SearchResult) -> dict[str, TrialRecord]:
    """The best finished trial of each family (see :func:`outranks`)."""
    sign = 1.0 if result.direction == "maximize" else -1.0
    best: dict[str, TrialRecord] = {}
    for t in result.finished():
        assert t.val_metric is not None
        cur = best.get(t.family)
        if cur is None or outranks(t, cur, sign):
            best[t.family] = t
    return best


def cross_validated(t: TrialRecord) -> bool:
    """Whether ``t`` was scored on every pooled row out of fold (small data). A trial of such
    a study scored on the validation split alone is a budgeted search's low-fidelity
    measurement: a quarter of those rows, whose best of many is the luckiest, so it ranks
    after every cross-validated one (:func:`outranks`, and the family ranking of
    :func:`archselect.select.select`). Without cross-validation every trial is False."""
    return bool(t.cv_folds)


def outranks(t: TrialRecord, cur: TrialRecord, sign: float) -> bool:
    """Whether trial ``t`` is a better result than ``cur`` (``sign``: +1 when maximising):
    cross-validated first (:func:`cross_validated`), then the better validation metric, then
    the lower mean validation Brier score.

    Example:
        >>> cv = TrialRecord(0, "mlp", "COMPLETE", val_metric=0.95, cv_folds=4)
        >>> split = TrialRecord(1, "mlp", "COMPLETE", val_metric=1.0)
        >>> outranks(split, cv, 1.0), outranks(cv, split, 1.0)
        (False, True)
    """
    if cross_validated(t) != cross_validated(cur):
        return cross_validated(t)
    if t.val_metric != cur.val_metric:
        return sign * (t.val_metric or 0.0) > sign * (cur.val_metric or 0.0)
    return t.mean_val_brier() < cur.mean_val_brier()
