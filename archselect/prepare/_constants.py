"""The split fractions, the layouts prepared and the cross-validation thresholds."""

from __future__ import annotations

from archselect.core.kinds import LayoutName
from archselect.layouts.constants import MIN_STD

#: Fractions of the rows held out for validation (model choice) and test (the final word).
VAL_FRACTION = 0.2
TEST_FRACTION = 0.2
#: MAX_MISSING_FRACTION (imported from the profile): refuse a feature column with a larger
#: fraction of missing or non-finite training values.
#: Layouts this stage prepares (each through its plugin's ``fit_preprocessing`` and
#: ``transform``; forecast windows split in time by :func:`._forecasting._prepare_forecast`).
SUPPORTED_LAYOUTS = tuple(LayoutName)
#: MIN_STD (from :mod:`archselect.layouts.constants`): standard deviations below it are
#: treated as constant (scale 1).
__all__ = [
    "CV_FOLDS",
    "CV_MAX_ROWS",
    "MIN_STD",
    "SUPPORTED_LAYOUTS",
    "TEST_FRACTION",
    "VAL_FRACTION",
]
#: With at most this many train + validation rows, the validation split holds so few rows
#: (80 at most) that one split cannot tell good configurations from lucky ones: every trial
#: is then scored by CV_FOLDS-fold cross-validation over the train + validation rows.
CV_MAX_ROWS = 400
#: Folds of that cross-validation. Fold 0 is the train / validation split itself, so each
#: fold trains on as many rows as the single split does (VAL_FRACTION / (1 - TEST_FRACTION)
#: = a quarter of the train + validation rows held out per fold).
CV_FOLDS = 4
