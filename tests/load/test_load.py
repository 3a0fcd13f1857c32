import os
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


# --- the target is read as text unless numbers keep it exactly --------------------------------


def _labelled(path: Path, labels: list[str], name: str = "label") -> Path:
    rows = [f"{i},{i % 3},{lab}" for i, lab in enumerate(labels)]
    path.write_text(f"a,b,{name}\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["0123", "0456"] * 6, {"0123", "0456"}),  # leading zeros kept
        (["007", "7"] * 6, {"007", "7"}),  # two classes, not one
        (["+1", "-1"] * 6, {"+1", "-1"}),
    ],
)
def test_target_labels_keep_their_spelling(
    tmp_path: Path, labels: list[str], expected: set[str]
) -> None:
    table = load_table(_labelled(tmp_path / "d.csv", labels))
    assert set(table.frame["label"]) == expected
    assert any("kept as text" in n for n in table.facts.notes)


def test_numeric_target_stays_numeric_when_lossless(tmp_path: Path) -> None:
    table = load_table(_labelled(tmp_path / "d.csv", ["0", "1", "10", "-3", "0.5"] * 3))
    assert pd.api.types.is_numeric_dtype(table.frame["label"])
    assert not table.facts.notes


def test_explicit_target_is_checked_and_features_are_not(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("code,zip,a\n" + "".join(f"0{i % 2}9,0{i}1,{i}\n" for i in range(9)))
    table = load_table(path, target="code")
    assert set(table.frame["code"]) == {"009", "019"}
    assert pd.api.types.is_numeric_dtype(table.frame["zip"])  # a feature: left as it was


def test_empty_target_fields_are_missing_not_a_class(tmp_path: Path) -> None:
    table = load_table(_labelled(tmp_path / "d.csv", ["yes", "no", ""] * 4))
    assert table.frame["label"].isna().sum() == 4
    assert "" not in set(table.frame["label"].dropna())


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="is not a regular file"):
        load_table(fifo)


def test_nul_byte_after_the_first_block_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "late_nul.csv"
    body = "".join(f"{i},{i % 2}\n" for i in range(20_000))  # > 64 KiB
    path.write_bytes(b"a,label\n" + body.encode() + b"7,\x001\n")
    with pytest.raises(DataError, match="binary"):
        load_table(path)
