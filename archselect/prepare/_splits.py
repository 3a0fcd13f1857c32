"""The train / validation / test split, the Prepared tensors and cross-validation folds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from archselect._common.serde import JsonRecord
from archselect.errors import DataError
from archselect.layouts import ForecastOrigins, Preprocessing, label_str
from archselect.prepare._constants import CV_FOLDS, CV_MAX_ROWS, TEST_FRACTION, VAL_FRACTION
from archselect.profile import (
    MIN_ROWS,
)


@dataclass(frozen=True)
class Split(JsonRecord):
    """Row positions (into the rows that have a target) of each split."""

    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]
    seed: int
    stratified: bool
    time_ordered: bool = False


@dataclass(frozen=True)
class PlotSeries(JsonRecord):
    """Several series: the one the report plots, and where its test windows lie.

    Attributes:
        series_id: Its id (as text).
        test_rows: ``(start, stop)`` of its windows among the test windows.
        first_step: The step of its grid that its first test window predicts.
        reason: Why this series, in words.
    """

    series_id: str
    test_rows: tuple[int, int]
    first_step: int
    reason: str


@dataclass(frozen=True)
class Prepared:
    """Tensors for each split plus the fitted preprocessing.

    The arrays are derived data; the JSON part (``to_dict``) is the preprocessing and
    the split, from which the arrays are rebuilt exactly.
    """

    preprocessing: Preprocessing
    split: Split
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    notes: tuple[str, ...] = ()
    #: Forecasts only: the regular time grid and the target on it (target units); with
    #: several series, those of the plotted one (``plot``).
    times: tuple[str, ...] = ()
    series: tuple[float, ...] = ()
    plot: PlotSeries | None = None
    #: Several series: each window's series id and the time of its first target step, in
    #: window order (split positions index into these).
    window_series: tuple[str, ...] = ()
    window_target_times: tuple[str, ...] = ()
    #: Forecasts: every series' target and the forecast origins of the validation and test
    #: windows, for the references that forecast from a whole history, and the metrics.
    origins: ForecastOrigins | None = None

    @cached_property
    def pooled(self) -> tuple[np.ndarray, np.ndarray]:
        """The train + validation rows as one ``(x, y)``: what folds and final refits use."""
        return (
            np.concatenate([self.x_train, self.x_val]),
            np.concatenate([self.y_train, self.y_val]),
        )

    def plot_outputs(self, test_outputs: np.ndarray) -> np.ndarray:
        """The test outputs (or targets) of the plotted series: all of them for one series."""
        if self.plot is None:
            return test_outputs
        start, stop = self.plot.test_rows
        return test_outputs[start:stop]

    def forecast_scores(self, part: str, outputs: np.ndarray) -> dict[str, float]:
        """Forecasts: MAE, RMSE, MASE and sMAPE of the ``part`` (``val``/``test``) outputs
        (:meth:`ForecastOrigins.scores`)."""
        assert self.origins is not None
        return self.origins.scores(part, outputs)

    def plot_forecast(self, test_outputs: np.ndarray) -> list[float]:
        """The plotted series' test forecasts in target units, laid end to end from its first
        test origin: each origin's ``horizon`` steps, the next origin at least ``horizon``
        later (a step no origin reaches, where origins were thinned, is NaN: a gap)."""
        assert self.origins is not None
        o = self.origins
        index = 0 if self.plot is None else o.labels.index(self.plot.series_id)
        start, stop = self.plot.test_rows if self.plot is not None else (0, len(test_outputs))
        values = o.to_units("test", test_outputs)[start:stop]
        origins = o.test[index]
        out = np.full(origins[-1] + o.horizon - origins[0], np.nan)
        free = origins[0]
        for origin, row in zip(origins, values, strict=True):
            if origin >= free:
                out[origin - origins[0] : origin - origins[0] + o.horizon] = row
                free = origin + o.horizon
        return [float(v) for v in out]

    def to_dict(self) -> dict[str, Any]:
        return {
            "preprocessing": self.preprocessing.to_dict(),
            "split": self.split.to_dict(),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold: positions into the pooled rows ``x_train`` + ``x_val``."""

    train: np.ndarray
    val: np.ndarray


def cross_folds(prepared: Prepared, seed: int) -> tuple[Fold, ...]:
    """The folds every trial trains on; ``()`` where one validation split is enough.

    Small data (at most :data:`CV_MAX_ROWS` train + validation rows) gets
    :data:`CV_FOLDS` folds; forecasts never do (their windows are ordered in time, and a fold
    would train on the future). Fold 0 is the train / validation split itself; the training
    rows are cut into ``CV_FOLDS - 1`` further validation parts (stratified for
    classification when every class has a training row per part), each of which trains on
    the rest plus the validation rows. Every pooled row is validated exactly once.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from archselect.load import load_table
        >>> from archselect.profile import profile_table
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame(rng.normal(size=(60, 3)), columns=list("abc"))
        >>> df["label"] = np.where(df["a"] > 0, "yes", "no")
        >>> table = load_table(df)
        >>> from archselect.prepare import prepare
        >>> prepared = prepare(table, profile_table(table, target="label"))
        >>> folds = cross_folds(prepared, seed=0)
        >>> len(folds), sorted(np.concatenate([f.val for f in folds])) == list(range(48))
        (4, True)
    """
    n_train, n_val = len(prepared.y_train), len(prepared.y_val)
    if prepared.preprocessing.forecast is not None or n_train + n_val > CV_MAX_ROWS:
        return ()
    y = prepared.y_train
    parts = CV_FOLDS - 1
    if n_train < parts:
        return ()
    stratify = prepared.preprocessing.task == "classification"
    stratify = stratify and int(np.unique(y, return_counts=True)[1].min()) >= parts
    splitter = (StratifiedKFold if stratify else KFold)(parts, shuffle=True, random_state=seed)
    val_rows = n_train + np.arange(n_val)
    folds = [Fold(train=np.arange(n_train), val=val_rows)]
    for rest, part in splitter.split(np.zeros(n_train), y if stratify else None):
        folds.append(Fold(train=np.concatenate([rest, val_rows]), val=part))
    return tuple(folds)


def out_of_fold(
    folds: tuple[Fold, ...],
    first_val_out: np.ndarray,
    fit_predict: Callable[[int, Fold], np.ndarray],
) -> np.ndarray:
    """Every pooled row's output from the fold that held it out.

    Fold 0's outputs are given (the run on the split itself); ``fit_predict(i, fold)`` trains
    on ``fold.train`` and returns the outputs on ``fold.val`` for each further fold.
    """
    n = sum(len(f.val) for f in folds)
    out = np.empty((n, *first_val_out.shape[1:]), dtype=first_val_out.dtype)
    out[folds[0].val] = first_val_out
    for i, fold in enumerate(folds[1:], start=1):
        out[fold.val] = fit_predict(i, fold)
    return out


def _split(y: pd.Series, task: str, seed: int) -> Split:
    n = len(y)
    positions = np.arange(n)
    stratify = None
    if n < MIN_ROWS:
        raise DataError(
            f"The data has {n} rows with a target; archselect needs at least {MIN_ROWS} "
            "(better a few dozen)."
        )
    if task == "classification":
        counts = y.map(label_str).value_counts()
        single = counts[counts < 2]
        if len(single):
            raise DataError(
                f"Class {single.index[0]!r} has a single example, so a stratified split cannot "
                "place it in training and validation; add examples or remove that class."
            )
        n_classes = len(counts)
        if n_classes > n * TEST_FRACTION:
            raise DataError(
                f"The target has {n_classes} classes for {n} rows, too many to hold out "
                f"{TEST_FRACTION:.0%} per split; is {y.name!r} really the target (use --target) "
                "or is this a regression (use --task regression)?"
            )
        stratify = y.map(label_str).to_numpy()
    try:
        rest, test = train_test_split(
            positions, test_size=TEST_FRACTION, random_state=seed, stratify=stratify
        )
        rest_strat = stratify[rest] if stratify is not None else None
        train, val = train_test_split(
            rest,
            test_size=VAL_FRACTION / (1 - TEST_FRACTION),
            random_state=seed,
            stratify=rest_strat,
        )
    except ValueError as exc:
        if stratify is None:
            raise
        counts = pd.Series(stratify).value_counts()
        raise DataError(
            f"Class {counts.index[-1]!r} has only {counts.iloc[-1]} examples, too few to "
            "stratify train, validation and test splits; add examples of it."
        ) from exc
    return Split(
        train=tuple(int(i) for i in sorted(train)),
        val=tuple(int(i) for i in sorted(val)),
        test=tuple(int(i) for i in sorted(test)),
        seed=seed,
        stratified=stratify is not None,
    )
