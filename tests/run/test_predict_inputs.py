"""``Run.predict`` answers what it is given in its own terms (issue 33, rows 12 and 14)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import archselect
from archselect import DataError, UsageError


@pytest.mark.parametrize(
    "rows",
    [np.zeros((2, 64)), [[0.0] * 64], pd.Series([0.0] * 64)],
    ids=["array", "list", "series"],
)
def test_rows_that_are_not_a_frame_are_named(digits_run: Path, rows: object) -> None:
    with pytest.raises(UsageError, match=r"Run\.predict takes the path of a data file or a "):
        archselect.load(digits_run).predict(rows)  # type: ignore[arg-type]


def test_no_rows_to_predict_is_said_in_predict_terms(digits_run: Path, tmp_path: Path) -> None:
    run = archselect.load(digits_run)
    columns = list(run.profile.source.columns)
    with pytest.raises(DataError, match="The DataFrame has no rows; pass at least one row"):
        run.predict(pd.DataFrame(columns=columns))
    header_only = tmp_path / "rows.csv"
    header_only.write_text(",".join(columns) + "\n")
    with pytest.raises(DataError, match="has a header but no data rows; add the rows to predict"):
        run.predict(header_only)
