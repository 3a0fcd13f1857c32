from pathlib import Path

import pandas as pd
import pytest

from archselect import DataError
from archselect.load import SourceFacts, file_sha256, load_table


def test_load_csv_records_source_facts(small_digits_csv: Path) -> None:
    table = load_table(small_digits_csv)
    assert table.frame.shape == (300, 65)
    assert table.facts.sha256 == file_sha256(small_digits_csv)
    assert table.facts.columns[0] == "label"
    assert SourceFacts.from_json(table.facts.to_json()) == table.facts


def test_semicolon_separator_is_sniffed(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("a;b;y\n1;2;0\n3;4;1\n5;6;0\n")
    table = load_table(path)
    assert list(table.frame.columns) == ["a", "b", "y"]
    assert any("separator" in n for n in table.facts.notes)


def test_frame_hash_changes_with_content() -> None:
    a = load_table(pd.DataFrame({"x": [1, 2], "y": [0, 1]}))
    b = load_table(pd.DataFrame({"x": [1, 3], "y": [0, 1]}))
    assert a.facts.sha256 != b.facts.sha256


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("", "is empty"),
        ("a,b,y\n", "no data rows"),
        ("a,a,y\n1,2,3\n", "duplicate column"),
        (b"\x00\x01\x02binary", "binary"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path: Path, content, message: str) -> None:
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_table(path)
