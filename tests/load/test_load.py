import importlib
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from archselect import DataError, UsageError
from archselect.load import SourceFacts, check_named_columns, file_sha256, load_table


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


# --- issue 33: rows that shifted, files that are not CSV text, what load is given -------------


def _rows(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_trailing_comma_on_every_row_never_shifts_the_columns(tmp_path: Path) -> None:
    rows = "".join(f"{'cat' if i % 2 else 'dog'},{i}.5,{i % 3},{i % 5}.1,\n" for i in range(20))
    table = load_table(_rows(tmp_path / "d.csv", "label,x1,x2,x3\n" + rows))
    assert list(table.frame.columns) == ["label", "x1", "x2", "x3"]
    assert set(table.frame["label"]) == {"cat", "dog"}
    assert table.frame["x3"].notna().all()
    assert any("trailing ','" in n for n in table.facts.notes)


@pytest.mark.parametrize(
    ("rows", "fields"),
    [
        ("cat,1,2,9\ndog,3,4,8\n", 4),  # a value past the header: row names, or a lost column
        ("cat,1,2,,\ndog,3,4,,\n", 5),  # two trailing separators
    ],
)
def test_rows_wider_than_the_header_are_refused(tmp_path: Path, rows: str, fields: int) -> None:
    with pytest.raises(DataError, match=f"data rows have {fields} fields but the header has 3"):
        load_table(_rows(tmp_path / "d.csv", "label,x1,x2\n" + rows * 6))


def test_a_single_long_row_is_still_malformed(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is not a well-formed CSV"):
        load_table(_rows(tmp_path / "d.csv", "a,b,label\n1,2,0\n1,2,3,4\n"))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("d.json", '[{"a": 1, "label": 0}, {"a": 2, "label": 1}]'),
        ("d.txt", '[\n  {\n    "a": 1,\n    "label": 0\n  }\n]\n'),
        ("d.csv", '{"a": 1, "label": 0}\n{"a": 2, "label": 1}\n'),
    ],
)
def test_json_is_named_as_json(tmp_path: Path, name: str, text: str) -> None:
    with pytest.raises(DataError, match=r"holds JSON, not a CSV; read it with pandas\.read_json"):
        load_table(_rows(tmp_path / name, text))


def test_a_header_that_starts_with_a_bracket_is_still_a_csv(tmp_path: Path) -> None:
    table = load_table(_rows(tmp_path / "d.csv", "[a],b,label\n1,2,0\n3,4,1\n"))
    assert list(table.frame.columns) == ["[a]", "b", "label"]


@pytest.mark.parametrize("source", [np.zeros((2, 3)), [[1, 2]], pd.Series([1, 2]), 3])
def test_neither_a_path_nor_a_frame_is_named(source: object) -> None:
    with pytest.raises(UsageError, match="not a path or a DataFrame; pass the path of a CSV"):
        load_table(source)  # type: ignore[arg-type]


def test_no_rows_to_predict_is_said_in_predict_terms(tmp_path: Path) -> None:
    path = _rows(tmp_path / "d.csv", "a,b,label\n")
    with pytest.raises(DataError, match="no data rows; add the rows to predict"):
        load_table(path, purpose="predict")
    with pytest.raises(DataError, match="no data rows; add rows to learn from"):
        load_table(path)
    with pytest.raises(DataError, match="The DataFrame has no rows; pass at least one row"):
        load_table(pd.DataFrame({"a": [], "label": []}), purpose="predict")


def test_infinite_targets_are_missing_with_a_note(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i * 2}.5\n" for i in range(12)) + "3,inf\n4,-inf\n5,\n"
    table = load_table(_rows(tmp_path / "d.csv", "x,y\n" + rows))
    assert table.frame["y"].isna().sum() == 3
    assert any("column 'y': 2 infinite values read as missing" in n for n in table.facts.notes)
    frame = load_table(pd.DataFrame({"x": [1.0, 2.0], "y": [np.inf, 1.0]}), target="y").frame
    assert frame["y"].isna().tolist() == [True, False]


# --- other formats: Parquet, Feather/Arrow, compressed CSV --------------------------------------


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "height": rng.normal(170, 10, 30).round(1),
            "count": rng.integers(0, 9, 30),
            "city": rng.choice(["north", "south"], 30),
            "label": np.array(["a", "b", "c"])[np.arange(30) % 3],
        }
    )


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> Path:
    import bz2
    import gzip
    import lzma
    import zipfile

    text = frame.to_csv(index=False).encode()
    if fmt == "csv":
        path.write_bytes(text)
    elif fmt == "parquet":
        frame.to_parquet(path)
    elif fmt in ("feather", "arrow"):
        frame.to_feather(path)
    elif fmt == "gz":
        path.write_bytes(gzip.compress(text))
    elif fmt == "bz2":
        path.write_bytes(bz2.compress(text))
    elif fmt == "xz":
        path.write_bytes(lzma.compress(text))
    elif fmt == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("data.csv", text)
    return path


FORMATS = {
    "parquet": "parquet",
    "feather": "feather",
    "arrow": "feather",
    "gz": "csv.gz",
    "bz2": "csv.bz2",
    "xz": "csv.xz",
    "zip": "csv.zip",
}


@pytest.mark.parametrize("suffix", sorted(FORMATS))
def test_every_format_reads_as_the_csv_does(tmp_path: Path, suffix: str) -> None:
    frame = _frame()
    csv_table = load_table(_write(frame, tmp_path / "d.csv", "csv"))
    path = _write(frame, tmp_path / f"d.{suffix}", suffix)
    table = load_table(path)
    pd.testing.assert_frame_equal(table.frame.astype(str), csv_table.frame.astype(str))
    assert table.facts.format == FORMATS[suffix] and csv_table.facts.format == "csv"
    assert table.facts.sha256 == file_sha256(path)  # the file as stored: what workers verify
    assert table.facts.size_bytes == path.stat().st_size
    assert table.facts.path == str(path.resolve())
    assert SourceFacts.from_json(table.facts.to_json()) == table.facts


def test_parquet_keeps_nullable_and_pyarrow_types(tmp_path: Path) -> None:
    frame = _frame().astype({"count": "Int64", "city": "string[pyarrow]"})
    frame.loc[3, "count"] = pd.NA
    table = load_table(_write(frame, tmp_path / "d.parquet", "parquet"))
    assert table.frame["count"].isna().sum() == 1
    assert str(table.frame["city"].dtype).startswith("string")


def test_a_saved_index_comes_back_as_a_column_when_named(tmp_path: Path) -> None:
    frame = _frame().set_index("city")
    assert "city" in load_table(_write(frame, tmp_path / "d.parquet", "parquet")).frame
    unnamed = _frame().iloc[::2]  # row numbers 0, 2, 4 …: no column of their own
    table = load_table(_write(unnamed, tmp_path / "e.parquet", "parquet"))
    assert list(table.frame.columns) == list(_frame().columns)


def test_a_wide_parquet_is_refused_from_its_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    path = _write(_frame(), tmp_path / "d.parquet", "parquet")
    monkeypatch.setattr(importlib.import_module("archselect.load._csv"), "MAX_COLUMNS", 3)
    monkeypatch.setattr(pq, "read_table", lambda *a, **k: pytest.fail("the data was read"))
    with pytest.raises(DataError, match="more than the limit of 3"):
        load_table(path)


def _zip(path: Path, names: list[str]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, "a,label\n1,0\n")
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _zip(p, ["a.csv", "b.csv"]), "holds 2 files; zip a single CSV file"),
        (lambda p: _zip(p, ["[Content_Types].xml", "xl/sheet1.xml"]), "is an Excel workbook"),
        (lambda p: p.write_bytes(b"PK\x03\x04" + bytes(200)), "export the data as a text CSV"),
        (lambda p: _write_gz(p, b"a,b\n\x00\x01\x02\n"), "inflates to a binary file"),
        (lambda p: p.write_bytes(b"\x1f\x8b\x08\x00garbage"), "is not a readable gzip file"),
        (lambda p: p.write_bytes(b"PAR1" + bytes(64)), "is not a readable parquet file"),
        (lambda p: p.write_bytes(b"ARROW1\x00\x00" + bytes(64)), "is not a readable feather"),
    ],
)
def test_broken_or_foreign_files_are_named(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "d.csv"
    make(path)
    with pytest.raises(DataError, match=re.escape(message)):
        load_table(path)


def _write_gz(path: Path, raw: bytes) -> None:
    import gzip

    path.write_bytes(gzip.compress(raw))


def test_a_decompression_bomb_stops_at_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    formats = importlib.import_module("archselect.load._formats")
    monkeypatch.setattr(formats, "MAX_INFLATED_BYTES", 1 << 20)
    monkeypatch.setattr(formats, "_BLOCK", 1 << 16)
    path = tmp_path / "bomb.csv.gz"
    _write_gz(path, b"a,label\n" + b"1,0\n" * (1 << 19))  # 2 MiB of text, a few KiB stored
    with pytest.raises(DataError, match="inflates to more than 1 MiB"):
        load_table(path)


def test_errors_in_a_compressed_csv_name_the_users_file(tmp_path: Path) -> None:
    path = tmp_path / "d.csv.gz"
    _write_gz(path, b"a,a,label\n1,2,0\n")
    with pytest.raises(DataError, match=f"^{re.escape(str(path))} has duplicate column names"):
        load_table(path)


# --- the header-only check (before heavy imports) ------------------------------------------------


@pytest.mark.parametrize("suffix", ["csv", "parquet", "gz", "zip"])
def test_named_columns_are_checked_from_the_header(tmp_path: Path, suffix: str) -> None:
    path = _write(_frame(), tmp_path / f"d.{suffix}", suffix)
    check_named_columns(path, {"Target": "label", "--id-col": None})
    with pytest.raises(UsageError, match="Target column 'lable' is not in the data; the closest"):
        check_named_columns(path, {"Target": "lable"})
    with pytest.raises(UsageError, match="--id-col column 'cty' is not in the data"):
        check_named_columns(path, {"--id-col": "cty"})


def test_the_header_check_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        check_named_columns(tmp_path / "nope.csv", {})


def test_a_compressed_file_runs_in_a_folder_named_without_its_endings(tmp_path: Path) -> None:
    from archselect.rundir import default_run_dir

    path = _write(_frame(), tmp_path / "sales.csv.gz", "gz")
    assert default_run_dir(load_table(path)) == Path("runs") / "sales"
    _frame().to_csv(tmp_path / "v1.2.csv", index=False)
    assert default_run_dir(load_table(tmp_path / "v1.2.csv")) == Path("runs") / "v1.2"
