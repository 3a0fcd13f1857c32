"""The progress lines ``fit`` prints on stderr."""

from __future__ import annotations

from io import StringIO

import pytest
from rich.console import Console

from archselect.cli._progress import TrialProgress
from archselect.search import TrialRecord


@pytest.mark.parametrize("note", [None, "stopped at the --timeout deadline (epoch 2)"])
def test_progress_line_names_why_a_trial_stopped(note: str | None) -> None:
    out = StringIO()
    progress = TrialProgress(Console(file=out, width=200, force_terminal=False))
    progress.trial(TrialRecord(number=1, family="mlp", state="PRUNED", note=note))
    line = out.getvalue()
    assert "trial   1 mlp" in line and "PRUNED" in line
    assert (f"({note})" in line) == (note is not None)
