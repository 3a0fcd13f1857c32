"""A DataFrame's column names that are not text (issue 33, rows 10 and 14): the target is
named the way load names the columns, ``str(name)``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from archselect import UsageError
from archselect.profile import profile_frame


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(40, 3)).round(3))  # columns 0, 1, 2
    frame[3] = np.where(frame[0] + frame[1] > 0, "yes", "no")
    return frame


def test_an_integer_target_names_an_integer_column() -> None:
    profile = profile_frame(_frame(), target=3)
    assert profile.target == "3" and profile.task == "classification"


def test_a_missing_integer_target_is_one_sentence() -> None:
    with pytest.raises(UsageError, match="Target column '7' is not in the data; the closest"):
        profile_frame(_frame(), target=7)


def test_a_multiindex_target_is_matched() -> None:
    frame = _frame()
    frame.columns = pd.MultiIndex.from_tuples([("f", "a"), ("f", "b"), ("f", "c"), ("y", "l")])
    assert profile_frame(frame, target=("y", "l")).target == "('y', 'l')"
