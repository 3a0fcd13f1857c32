"""Stage 3 — prepare: split the rows and fit the preprocessing on the training split only.

The package keeps what every layout shares: ``_constants``, ``_splits`` (splits, folds, the
Prepared tensors), ``_main`` (:func:`prepare`: the samples with a target, the split, and the
layout's ``fit_preprocessing``/``transform`` asked of its plugin) and ``_forecasting``
(windows split in time). The fitted :class:`Preprocessing` that ``predict`` replays is built
by the layouts (:class:`archselect.layouts.Preprocessing`) and re-exported here.
"""

from __future__ import annotations

from archselect.layouts import Preprocessing, reshape
from archselect.prepare._arrays import load_prepared, save_prepared
from archselect.prepare._constants import (
    CV_FOLDS,
    CV_MAX_ROWS,
    MIN_STD,
    SUPPORTED_LAYOUTS,
    TEST_FRACTION,
    VAL_FRACTION,
)
from archselect.prepare._main import fit_preprocessing, prepare
from archselect.prepare._splits import Fold, PlotSeries, Prepared, Split, cross_folds, out_of_fold

#: The stage's API (the first group) and its named constants, kept importable here.
__all__ = [
    "CV_FOLDS",
    "CV_MAX_ROWS",
    "MIN_STD",
    "SUPPORTED_LAYOUTS",
    "TEST_FRACTION",
    "VAL_FRACTION",
    "Fold",
    "PlotSeries",
    "Prepared",
    "Preprocessing",
    "Split",
    "cross_folds",
    "fit_preprocessing",
    "load_prepared",
    "out_of_fold",
    "prepare",
    "reshape",
    "save_prepared",
]
