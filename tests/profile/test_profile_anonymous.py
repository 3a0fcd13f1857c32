"""The profiler reads structure, not names: every corpus table with its columns renamed
``c0…cN`` (the target kept by ``target=``) gets the modality and layout of the original."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from archselect.load import load_table
from archselect.profile import Profile, profile_table
from tests.corpus import CORPUS, Case, profile_case

#: Corpus tables whose *form* (not modality or layout) genuinely needs the names, and why.
#: Their modality and layout must still match.
NAME_DEPENDENT_FORM: dict[str, str] = {
    "multivariate_groups": (
        "the prefixes x_/y_/z_ alone say where one channel's steps end and the next begin; "
        "renamed c0…c89, the three blocks are one 90-step series (still sequential, layout "
        "series, but form wide_series with shape (90, 1) instead of wide_groups (30, 3))"
    ),
}
#: Corpus tables left out of the anonymised twin altogether (none: every decision reads the
#: values), kept as the documented place for one.
NAME_DEPENDENT: dict[str, str] = {}


def _anonymise(case: Case, tmp_path: Path) -> tuple[pd.DataFrame | Path, Profile, dict[str, str]]:
    """The case's table renamed c0…cN, the original's profile, and the renaming."""
    built = case.build(tmp_path)
    original = profile_case(case, built)
    frame = pd.read_csv(built) if isinstance(built, Path) else built.copy()
    names = {str(c): f"c{i}" for i, c in enumerate(frame.columns)}
    frame.columns = [names[str(c)] for c in frame.columns]
    if not isinstance(built, Path):
        return frame, original, names
    # a CSV stays beside the original when that is ours (image paths are relative to it)
    folder = built.parent if built.is_relative_to(tmp_path) else tmp_path
    path = folder / f"anonymous_{built.name}"
    frame.to_csv(path, index=False)
    return path, original, names


CASES = [c for c in CORPUS if c.name not in NAME_DEPENDENT]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_anonymised_corpus_reads_the_same(case: Case, tmp_path: Path) -> None:
    table, original, names = _anonymise(case, tmp_path)
    options = {**dict(case.options), "target": names[original.target]}
    prof = profile_table(load_table(table), **options)
    assert (prof.modality, prof.layout) == (original.modality, original.layout), prof.decision
    assert (prof.modality, prof.layout) == (case.modality, case.layout)
    assert prof.task == original.task and prof.classes == original.classes
    if case.name not in NAME_DEPENDENT_FORM:
        assert prof.form == original.form, prof.decision
        assert prof.input_shape == original.input_shape
        renamed = (names.get(original.id_column or ""), names.get(original.time_column or ""))
        assert (prof.id_column, prof.time_column) == renamed


def test_exclusions_are_corpus_cases() -> None:
    known = {c.name for c in CORPUS}
    assert set(NAME_DEPENDENT) <= known and set(NAME_DEPENDENT_FORM) <= known
    assert len(CASES) >= len(CORPUS) - len(NAME_DEPENDENT)
