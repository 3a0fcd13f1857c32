"""The labelled corpus: every table's modality, layout and input form, from evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from archselect.profile import THRESHOLDS, Profile
from tests.corpus import CORPUS, Case, profile_case


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_corpus_case(case: Case, tmp_path: Path) -> None:
    prof = profile_case(case, case.build(tmp_path))
    got = (prof.modality, prof.layout, prof.form)
    assert got == (case.modality, case.layout, case.form), prof.decision
    if case.input_shape is not None:
        assert prof.input_shape == case.input_shape
    assert prof.evidence["thresholds"] == THRESHOLDS
    assert 0.5 <= prof.confidence <= 1.0 and prof.decision
    assert prof.readings == case.readings, prof.decision
    if case.readings:
        assert "could not tell" in prof.decision
    assert Profile.from_json(prof.to_json()) == prof


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 25
    assert {c.layout for c in CORPUS} >= {"image", "series", "series_padded", "table"}
