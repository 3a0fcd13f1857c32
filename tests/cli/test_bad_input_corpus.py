"""The bad-input corpus: every case through the CLI, each with the message it must contain.

Each case writes its data into a temporary folder, runs one CLI command with click's
runner and checks the exit code (2 for bad input, 0 where the tool copes and says so),
that the message is there, and that no traceback leaks. ``tests/cli/BAD_INPUT_CASES.md`` is
generated from :data:`CASES` by ``python -m tests.cli.test_bad_input_corpus``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from archselect.cli import cli

Maker = Callable[[Path], None]


def _text(content: str, encoding: str = "utf-8") -> Maker:
    def make(path: Path) -> None:
        path.write_bytes(content.encode(encoding))

    return make


def _bytes(content: bytes) -> Maker:
    def make(path: Path) -> None:
        path.write_bytes(content)

    return make


def _frame(build: Callable[[], pd.DataFrame], **to_csv: object) -> Maker:
    def make(path: Path) -> None:
        build().to_csv(path, index=False, **to_csv)  # type: ignore[arg-type]

    return make


def _tab(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """A small, valid tabular classification frame."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "height": rng.normal(170, 10, n).round(1),
            "weight": rng.normal(70, 8, n).round(1),
            "age": rng.integers(18, 80, n),
            "label": np.array(["a", "b", "c"])[np.arange(n) % 3],
        }
    )


def _with(**changes: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[], pd.DataFrame]:
    def build() -> pd.DataFrame:
        frame = _tab()
        for fn in changes.values():
            frame = fn(frame)
        return frame

    return build


def _set(col: str, rows: list[int], value: object) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def fn(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame[col] = frame[col].astype(object)
        for r in rows:
            frame.loc[r, col] = value
        return frame

    return fn


def _digits() -> pd.DataFrame:
    from tests.conftest import DATASETS

    return pd.read_csv(DATASETS / "digits.csv").groupby("label").head(6)


def _wide(n_cols: int, n_rows: int = 3) -> Maker:
    def make(path: Path) -> None:
        header = ",".join(f"c{i}" for i in range(n_cols)) + ",label\n"
        row = ",".join("1" for _ in range(n_cols))
        body = "".join(f"{row},{i % 2}\n" for i in range(n_rows))
        path.write_text(header + body)

    return make


def _run_dir_with(change: Callable[[Path], None]) -> Maker:
    """A fake run directory next to the data (plan.json, profile.json), then ``change``."""

    def make(path: Path) -> None:
        _tab().to_csv(path, index=False)
        run = path.parent / "run"
        run.mkdir()
        (run / "plan.json").write_text(json.dumps({"run": {"format_version": 1}}))
        (run / "profile.json").write_text(json.dumps({"source": {"sha256": "0" * 64}}))
        change(run)

    return make


def _newer_format(run: Path) -> None:
    (run / "plan.json").write_text(json.dumps({"run": {"format_version": 99}}))


def _user_file(run: Path) -> None:
    (run / "notes.txt").write_text("mine")


def _no_change(run: Path) -> None:
    pass


@dataclass(frozen=True)
class Case:
    """One bad input: how to make it, the command, and what the answer must say."""

    id: str
    what: str
    make: Maker | None
    args: tuple[str, ...]
    message: str
    exit_code: int = 2
    check: Callable[[Path, str], None] | None = field(default=None, compare=False)


def _check_quoted(path: Path, output: str) -> None:
    from archselect.load import load_table

    frame = load_table(path).frame
    assert frame.shape == (60, 4)
    assert frame.loc[0, "city"] == "Paris, France"
    assert frame.loc[1, "city"] == "New\nYork"


def _check_user_file_kept(path: Path, output: str) -> None:
    run = path.parent / "run"
    assert (run / "notes.txt").read_text() == "mine"
    assert (run / "report.html").exists()


def _quoted_frame() -> pd.DataFrame:
    frame = _tab()
    frame["city"] = ["Paris, France", "New\nYork", 'say "hi"'] * 20
    return frame[["height", "weight", "city", "label"]]


def _many_classes() -> pd.DataFrame:
    frame = _tab(60)
    frame["label"] = [f"k{i // 2}" for i in range(60)]
    return frame


def _single_example_class() -> pd.DataFrame:
    frame = _tab(60)
    frame.loc[5, "label"] = "lonely"
    return frame


def _long_format() -> pd.DataFrame:
    rows = []
    for sid in range(20):
        for t in range(12):
            label = "up" if sid % 2 else "down"
            if sid == 2 and t > 5:
                label = "up"
            rows.append({"id": sid, "time": t, "value": float(t * (sid % 3)), "label": label})
    return pd.DataFrame(rows)


def _stores(gap: bool = False) -> pd.DataFrame:
    """Monthly sales of three stores in long format (store, date, sales)."""
    parts = []
    for k, store in enumerate("abc"):
        dates = pd.date_range("2015-01-01", periods=80, freq="MS")
        sales = 100.0 * (k + 1) + 5 * np.sin(np.arange(80) * np.pi / 6)
        part = pd.DataFrame({"store": store, "date": dates.strftime("%Y-%m-%d"), "sales": sales})
        if gap and store == "b":
            part = part.drop(index=range(20, 40))  # 20 months missing: beyond the fill limit
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _not_images(path: Path) -> None:
    (path.parent / "img").mkdir()
    (path.parent / "img" / "fake.png").write_text("not a picture")
    frame = pd.DataFrame({"image": ["img/fake.png"] * 20, "label": [i % 2 for i in range(20)]})
    frame.to_csv(path, index=False)


def _with_space(toml: str) -> Maker:
    """The small table plus a search-space file ``s.toml`` next to it."""

    def make(path: Path) -> None:
        _tab().to_csv(path, index=False)
        (path.parent / "s.toml").write_text(toml)

    return make


def _labels(values: list[str]) -> Maker:
    def make(path: Path) -> None:
        frame = _tab(60)
        path.write_text(
            "height,weight,label\n"
            + "".join(
                f"{h},{w},{values[i % len(values)]}\n"
                for i, (h, w) in enumerate(zip(frame.height, frame.weight, strict=True))
            )
        )

    return make


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _late_nul(path: Path) -> None:
    body = "".join(f"{i},{i % 7},{'ab'[i % 2]}\n" for i in range(12_000))  # > 64 KiB
    path.write_bytes(b"a,b,label\n" + body.encode() + b"3,4,\x00a\n")


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels (no pixel data needed)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _image_rows(make_file: Callable[[Path], None]) -> Maker:
    """Twenty rows naming ``img/x.png`` (made by ``make_file``) as their image."""

    def make(path: Path) -> None:
        (path.parent / "img").mkdir()
        make_file(path.parent / "img" / "x.png")
        frame = pd.DataFrame({"image": ["img/x.png"] * 20, "label": [i % 2 for i in range(20)]})
        frame.to_csv(path, index=False)

    return make


def _hardlinked_output(path: Path) -> None:
    _run_dir_with(_no_change)(path)
    os.link(path, path.parent / "out.csv")


def _mixed_dates() -> pd.DataFrame:
    dates = pd.date_range("2020-01-01", periods=60, freq="D")
    texts = [
        d.strftime("%Y-%m-%d")
        if i % 3 == 0
        else d.strftime("%d/%m/%Y %H:%M")
        if i % 3 == 1
        else d.strftime("%Y-%m-%dT%H:%M:%S+05:00")
        for i, d in enumerate(dates)
    ]
    return pd.DataFrame({"date": texts, "sales": np.sin(np.arange(60)) * 10 + 50})


def _trailing_comma(extra: str) -> Maker:
    """Every data row ends with ``,`` + ``extra`` (one field more than the header)."""

    def make(path: Path) -> None:
        text = _tab().to_csv(index=False)
        header, *rows = text.splitlines()
        path.write_text("\n".join([header, *(f"{r},{extra}" for r in rows)]) + "\n")

    return make


def _check_trailing_comma(path: Path, output: str) -> None:
    from archselect.load import load_table

    frame = load_table(path).frame
    assert list(frame.columns) == ["height", "weight", "age", "label"]
    assert set(frame["label"]) == {"a", "b", "c"}  # not the heights: no column moved


def _infinite_target() -> pd.DataFrame:
    frame = _tab().assign(label=np.arange(60.0))
    frame["label"] = frame["label"].astype(object)
    frame.loc[3, "label"], frame.loc[7, "label"], frame.loc[9, "label"] = np.inf, -np.inf, None
    return frame


def _stored(fmt: str) -> Maker:
    """The small table in another format, under the name data.csv (the name is not
    trusted: the first bytes tell the format)."""

    def make(path: Path) -> None:
        import bz2
        import gzip
        import lzma
        import zipfile

        frame = _tab()
        text = frame.to_csv(index=False).encode()
        if fmt == "parquet":
            frame.to_parquet(path)
        elif fmt == "feather":
            frame.to_feather(path)
        elif fmt == "zip":
            with zipfile.ZipFile(path, "w") as zf:
                zf.writestr("data.csv", text)
        else:
            path.write_bytes({"gzip": gzip, "bzip2": bz2, "xz": lzma}[fmt].compress(text))

    return make


def _zip_of(names: tuple[str, ...]) -> Maker:
    def make(path: Path) -> None:
        import zipfile

        with zipfile.ZipFile(path, "w") as zf:
            for name in names:
                zf.writestr(name, _tab().to_csv(index=False))

    return make


def _gzip_of(raw: bytes) -> Maker:
    def make(path: Path) -> None:
        import gzip

        path.write_bytes(gzip.compress(raw))

    return make


def _model_file(run: Path) -> None:
    (run / "model").mkdir()
    (run / "model" / "weights.pt").write_bytes(b"the model's weights")


def _symlink_into_model(path: Path) -> None:
    _run_dir_with(_model_file)(path)
    (path.parent / "out.csv").symlink_to(path.parent / "run" / "model" / "weights.pt")


def _check_model_kept(path: Path, output: str) -> None:
    assert (path.parent / "run" / "model" / "weights.pt").read_bytes() == b"the model's weights"


PASSWORD = "s3cretPW"

CASES: tuple[Case, ...] = (
    Case("missing", "missing file", None, ("profile", "{data}"), "does not exist"),
    Case(
        "directory",
        "a directory instead of a file",
        lambda p: p.mkdir(),
        ("profile", "{data}"),
        "is a directory",
    ),
    Case("empty", "empty file", _text(""), ("profile", "{data}"), "is empty"),
    Case("blank", "only blank lines", _text("\n \n\n"), ("profile", "{data}"), "is empty"),
    Case(
        "header_only", "header only", _text("a,b,label\n"), ("profile", "{data}"), "no data rows"
    ),
    Case(
        "one_row",
        "a single data row",
        _text("a,b,label\n1,2,0\n"),
        ("profile", "{data}"),
        "has 1 row with a target",
    ),
    Case(
        "few_rows",
        "five data rows",
        _frame(lambda: _tab(5)),
        ("fit", "{data}", "--out", "{tmp}/run"),
        "at least 10",
    ),
    Case(
        "binary",
        "binary bytes (NUL)",
        _bytes(b"\x00\x01\x02\x03binary\x00" * 10),
        ("profile", "{data}"),
        "looks like a binary file",
    ),
    Case(
        "png",
        "an image file passed as the data",
        _bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))),
        ("profile", "{data}"),
        "looks like a binary file",
    ),
    Case(
        "xlsx",
        "a zip (Excel .xlsx) file",
        _bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(200)),
        ("profile", "{data}"),
        "export the data as a text CSV",
    ),
    Case(
        "cp1252",
        "Windows-1252 text (not UTF-8)",
        lambda p: (
            _tab()
            .assign(city=["Zürich", "Besançon", "Málaga"] * 20)
            .to_csv(p, index=False, encoding="cp1252")
        ),
        ("profile", "{data}"),
        "read as cp1252",
        exit_code=0,
    ),
    Case(
        "utf16",
        "UTF-16 text with a byte-order mark (Excel 'Unicode text')",
        lambda p: p.write_bytes(_tab().to_csv(index=False, sep="\t").encode("utf-16")),
        ("profile", "{data}"),
        "read as utf-16",
        exit_code=0,
    ),
    Case(
        "semicolon",
        "semicolon separated",
        _frame(_tab, sep=";"),
        ("profile", "{data}"),
        "separator detected as ';'",
        exit_code=0,
    ),
    Case(
        "tab",
        "tab separated",
        _frame(_tab, sep="\t"),
        ("profile", "{data}"),
        "separator detected as '\\t'",
        exit_code=0,
    ),
    Case(
        "quoted",
        "quoted fields with embedded separators, quotes and newlines",
        _frame(_quoted_frame),
        ("profile", "{data}"),
        "modality: tabular",
        exit_code=0,
        check=_check_quoted,
    ),
    Case(
        "ragged",
        "a row with more fields than the header",
        _text("a,b,label\n1,2,0\n1,2,3,4\n"),
        ("profile", "{data}"),
        "is not a well-formed CSV",
    ),
    Case(
        "duplicate_columns",
        "duplicate column names",
        _text("a,b,a,label\n1,2,3,0\n4,5,6,1\n"),
        ("profile", "{data}"),
        "duplicate column names (a)",
    ),
    Case(
        "target_missing",
        "--target names no column",
        _frame(_tab),
        ("profile", "{data}", "--target", "lable"),
        "the closest names are 'label'",
    ),
    Case(
        "target_empty",
        "target column empty in every row",
        _frame(_with(t=_set("label", list(range(60)), None))),
        ("profile", "{data}"),
        "is empty in every row",
    ),
    Case(
        "one_class",
        "one class only",
        _frame(_with(t=_set("label", list(range(60)), "same"))),
        ("profile", "{data}"),
        "has one class only ('same')",
    ),
    Case(
        "single_example_class",
        "a class with a single example",
        _frame(_single_example_class),
        ("fit", "{data}", "--out", "{tmp}/run"),
        "Class 'lonely' has a single example",
    ),
    Case(
        "too_many_classes",
        "30 classes for 60 rows",
        _frame(_many_classes),
        ("fit", "{data}", "--out", "{tmp}/run"),
        "30 classes for 60 rows",
    ),
    Case(
        "text_regression",
        "--task regression on a text target",
        _frame(_tab),
        ("profile", "{data}", "--task", "regression"),
        "Regression needs a numeric target",
    ),
    Case(
        "nan_features",
        "a few missing feature values",
        _frame(_with(n=_set("height", [1, 7, 9], None))),
        ("profile", "{data}"),
        "3 missing or infinite feature values will be imputed",
        exit_code=0,
    ),
    Case(
        "inf_features",
        "+inf and -inf in a feature",
        _frame(_with(p=_set("weight", [2], np.inf), m=_set("weight", [4], -np.inf))),
        ("profile", "{data}"),
        "2 missing or infinite feature values will be imputed",
        exit_code=0,
    ),
    Case(
        "mostly_missing",
        "a feature missing in most rows",
        _frame(_with(n=_set("height", list(range(40)), None))),
        ("profile", "{data}"),
        "Column 'height' is missing or non-finite in 67% of rows (limit 50%)",
    ),
    Case(
        "text_in_numeric",
        "non-numeric text inside a numeric column",
        _frame(_with(t=_set("weight", [7], "n/a?"), u=_set("weight", [9], "oops"))),
        ("profile", "{data}"),
        "Column 'weight' should be numeric but data row 8 holds 'n/a?'",
    ),
    Case(
        "only_target",
        "a single column",
        _text("label\n0\n1\n0\n"),
        ("profile", "{data}"),
        "read as one series in file order. The series has 3 time steps",
    ),
    Case(
        "constant_features",
        "every feature constant",
        _frame(lambda: _tab().assign(height=1.0, weight=2.0, age=3)),
        ("profile", "{data}"),
        "Every feature column was dropped",
    ),
    Case(
        "wide_100k",
        "100,000 columns",
        _wide(100_000),
        ("profile", "{data}"),
        "more than the limit of 65,536",
    ),
    Case(
        "long_label_changes",
        "long format where the label changes within one id",
        _frame(_long_format),
        ("profile", "{data}"),
        "The label changes within id '2' of column 'id' (down, up)",
    ),
    Case(
        "forecast_series_gap",
        "several dated series (store, date, sales), one with a 20-month gap",
        _frame(lambda: _stores(gap=True)),
        ("profile", "{data}"),
        "Series 'b' of column 'store': The series misses 20 of 80 MS steps",
    ),
    Case(
        "forecast_id_col_repeats_times",
        "--id-col naming a column whose (id, time) pairs repeat",
        _frame(lambda: _stores().assign(chain="one")),
        ("profile", "{data}", "--id-col", "chain", "--target", "sales"),
        "Series 'one' of --id-col 'chain' has time 2015-01-01 more than once",
    ),
    Case(
        "image_path_missing",
        "a column of image paths that do not exist",
        _frame(
            lambda: pd.DataFrame(
                {"image": [f"img/{i}.png" for i in range(20)], "label": [i % 2 for i in range(20)]}
            )
        ),
        ("profile", "{data}"),
        "Image file 'img/0.png' of data row 1 does not exist",
    ),
    Case(
        "image_path_not_image",
        "a column of paths to files that are not images",
        _not_images,
        ("profile", "{data}"),
        "Image file 'img/fake.png' of data row 1 cannot be read as an image",
    ),
    Case(
        "shape_mismatch",
        "--shape that does not match the column count",
        _frame(_digits),
        ("profile", "{data}", "--shape", "28x28"),
        "--shape '28x28' needs 784 pixel columns but the data has 64",
    ),
    Case(
        "shape_garbage",
        "--shape that is not HxW",
        _frame(_digits),
        ("profile", "{data}", "--shape", "eight"),
        "is not of the form HxW or HxWxC",
    ),
    Case(
        "unknown_family",
        "unknown family in --families",
        _frame(_digits),
        ("fit", "{data}", "--families", "transformer", "--out", "{tmp}/run"),
        "Unknown family 'transformer'",
    ),
    Case(
        "unfit_family",
        "a family that does not fit the data",
        _frame(_digits),
        ("fit", "{data}", "--families", "lstm", "--out", "{tmp}/run"),
        "does not fit image data",
    ),
    Case(
        "trials_zero",
        "--trials 0",
        _frame(_tab),
        ("fit", "{data}", "--trials", "0", "--out", "{tmp}/run"),
        "--trials must be a positive number of trials, not 0",
    ),
    Case(
        "trials_negative",
        "--trials -3",
        _frame(_tab),
        ("fit", "{data}", "--trials", "-3", "--out", "{tmp}/run"),
        "--trials must be a positive number of trials, not -3",
    ),
    Case(
        "timeout_negative",
        "negative --timeout",
        _frame(_tab),
        ("fit", "{data}", "--timeout", "-5m", "--out", "{tmp}/run"),
        "--timeout '-5m' must be longer than zero",
    ),
    Case(
        "timeout_zero",
        "--timeout 0",
        _frame(_tab),
        ("fit", "{data}", "--timeout", "0", "--out", "{tmp}/run"),
        "must be longer than zero",
    ),
    Case(
        "timeout_garbage",
        "unparsable --timeout",
        _frame(_tab),
        ("fit", "{data}", "--timeout", "soon", "--out", "{tmp}/run"),
        "--timeout 'soon' is not a duration",
    ),
    Case(
        "seed_negative",
        "negative --seed",
        _frame(_tab),
        ("fit", "{data}", "--seed", "-1", "--out", "{tmp}/run"),
        "--seed must be between 0 and",
    ),
    Case(
        "max_failures_zero",
        "--max-failures 0",
        _frame(_tab),
        ("fit", "{data}", "--max-failures", "0", "--out", "{tmp}/run"),
        "--max-failures must be at least 1",
    ),
    Case(
        "space_missing",
        "--space file that does not exist",
        _frame(_tab),
        ("fit", "{data}", "--space", "{tmp}/nope.toml", "--out", "{tmp}/run"),
        "does not exist; check the --space path",
    ),
    Case(
        "space_bad_toml",
        "--space file that is not TOML",
        lambda p: (_tab().to_csv(p, index=False), (p.parent / "s.toml").write_text("[[x")),
        ("fit", "{data}", "--space", "{tmp}/s.toml", "--out", "{tmp}/run"),
        "is not valid TOML",
    ),
    Case(
        "out_is_file",
        "--out names a file",
        lambda p: (_tab().to_csv(p, index=False), (p.parent / "run").write_text("x")),
        ("fit", "{data}", "--out", "{tmp}/run"),
        "is a file; give a directory",
    ),
    Case(
        "out_foreign",
        "--out directory holding someone's files",
        _run_dir_with(
            lambda run: (
                (run / "plan.json").unlink(),
                (run / "profile.json").unlink(),
                _user_file(run),
            )
        ),
        ("fit", "{data}", "--out", "{tmp}/run"),
        "is not empty and holds no archselect run",
    ),
    Case(
        "out_other_data",
        "--out directory holding a run on different data",
        _run_dir_with(_no_change),
        ("fit", "{data}", "--out", "{tmp}/run"),
        "holds a run on different data; choose another --out or pass --force",
    ),
    Case(
        "newer_format_predict",
        "predict with a run directory from a newer format version",
        _run_dir_with(_newer_format),
        ("predict", "{tmp}/run", "{data}"),
        "was written by a newer archselect (run format 99",
    ),
    Case(
        "newer_format_report",
        "report on a run directory from a newer format version",
        _run_dir_with(_newer_format),
        ("report", "{tmp}/run"),
        "upgrade archselect to use it",
    ),
    Case(
        "run_dir_missing",
        "predict with a run directory that does not exist",
        _frame(_tab),
        ("predict", "{tmp}/nowhere", "{data}"),
        "is not a directory; pass the --out directory of a fit",
    ),
    Case(
        "run_dir_damaged",
        "predict with a run directory whose plan.json is damaged",
        _run_dir_with(_no_change),
        ("predict", "{tmp}/run", "{data}"),
        "plan.json is damaged",
    ),
    Case(
        "predict_overwrites_input",
        "predict -o naming the input file",
        _run_dir_with(_no_change),
        ("predict", "{tmp}/run", "{data}", "-o", "{data}"),
        "would overwrite the input data",
    ),
    Case(
        "storage_unparsable",
        "--storage URL that cannot be parsed (password must stay hidden)",
        _frame(_tab),
        (
            "fit",
            "{data}",
            "--storage",
            f"postgresql://u:{PASSWORD}@host:notaport/db",
            "--out",
            "{tmp}/run",
        ),
        "cannot open the study storage postgresql://u:***@host",
    ),
    Case(
        "storage_refused",
        "--storage database that refuses the connection (password must stay hidden)",
        _frame(_tab),
        (
            "fit",
            "{data}",
            "--storage",
            f"postgresql+psycopg2://postgres:{PASSWORD}@127.0.0.1:9/none",
            "--out",
            "{tmp}/run",
        ),
        "cannot open the study storage postgresql+psycopg2://postgres:***@127.0.0.1:9/none",
    ),
    Case(
        "target_leading_zeros",
        "labels written with leading zeros (0123, 0456)",
        _labels(["0123", "0456"]),
        ("profile", "{data}"),
        "column 'label' kept as text: values such as '0123'",
        exit_code=0,
    ),
    Case(
        "target_007_and_7",
        "labels 007 and 7 (two classes that are one number)",
        _labels(["007", "7"]),
        ("profile", "{data}", "--json"),
        "kept as text",
        exit_code=0,
    ),
    Case(
        "target_some_empty",
        "a few rows with an empty target",
        _labels(["yes", "no", "", "yes", "no"]),
        ("profile", "{data}"),
        "12 rows without a target are left out",
        exit_code=0,
    ),
    Case(
        "huge_feature",
        "a feature value of 1e308 (overflows once standardised)",
        _frame(_with(h=_set("weight", [4], 1e308))),
        ("fit", "{data}", "--out", "{tmp}/run"),
        "Column 'weight' of",
    ),
    Case(
        "huge_target",
        "a regression target of -1e308",
        _frame(_with(t=lambda f: f.assign(label=np.arange(60.0)), h=_set("label", [9], -1e308))),
        ("fit", "{data}", "--out", "{tmp}/run"),
        "holds -1e+308 in data row 10",
    ),
    Case(
        "space_log_negative",
        "--space with low = -1 and log = true",
        _with_space(
            'name = "shared"\n[params.lr]\ntype = "float"\nlow = -1\nhigh = 0.1\nlog = true\n'
        ),
        ("fit", "{data}", "--space", "{tmp}/s.toml", "--out", "{tmp}/run"),
        "has log = true, so 'low' must be above 0, not -1",
    ),
    Case(
        "space_width_zero",
        "--space with width = 0",
        _with_space('name = "mlp"\n[params.width]\ntype = "categorical"\nchoices = [0]\n'),
        ("fit", "{data}", "--space", "{tmp}/s.toml", "--out", "{tmp}/run"),
        "width = 0 must be a whole number >= 1",
    ),
    Case(
        "space_unknown_family",
        "--space naming a family archselect does not know",
        _with_space('name = "transformr"\n[params.width]\ntype = "int"\nlow = 1\nhigh = 4\n'),
        ("fit", "{data}", "--space", "{tmp}/s.toml", "--out", "{tmp}/run"),
        "--space names the family 'transformr', which archselect does not know",
    ),
    Case(
        "space_dev_null",
        "--space /dev/null",
        _frame(_tab),
        ("fit", "{data}", "--space", "/dev/null", "--out", "{tmp}/run"),
        "is not a regular file",
    ),
    Case(
        "space_directory",
        "--space naming a folder",
        _frame(_tab),
        ("fit", "{data}", "--space", "{tmp}", "--out", "{tmp}/run"),
        "is not a regular file",
    ),
    Case(
        "families_empty",
        "--families ',' (a list of nothing)",
        _frame(_tab),
        ("fit", "{data}", "--families", ",", "--out", "{tmp}/run"),
        "--families ',' names nothing",
    ),
    Case(
        "study_too_long",
        "a 600-character --study name",
        _frame(_tab),
        ("fit", "{data}", "--study", "s" * 600, "--out", "{tmp}/run"),
        "--study must be 1 to 512 characters, not 600",
    ),
    Case(
        "fifo_data",
        "the data path is a FIFO (would block forever)",
        _fifo,
        ("profile", "{data}"),
        "is not a regular file (a pipe, socket or device)",
    ),
    Case(
        "nul_after_64k",
        "a NUL byte after the first 64 KiB",
        _late_nul,
        ("profile", "{data}"),
        "looks like a binary file",
    ),
    Case(
        "image_path_fifo",
        "an image path that is a FIFO (would block forever)",
        _image_rows(_fifo),
        ("profile", "{data}"),
        "Image file 'img/x.png' of data row 1 is not a regular file",
    ),
    Case(
        "image_bomb",
        "a PNG claiming 50,000 x 50,000 pixels (decompression bomb)",
        _image_rows(lambda p: p.write_bytes(_png_header(50_000, 50_000))),
        ("profile", "{data}"),
        "(a possible decompression bomb)",
    ),
    Case(
        "mixed_date_formats",
        "a date column mixing formats and time zones",
        _frame(_mixed_dates),
        ("profile", "{data}", "--layout", "forecast"),
        "Column 'date' mixes time zones or UTC offsets",
    ),
    Case(
        "predict_hardlinked_output",
        "predict -o naming a hard link to the input",
        _hardlinked_output,
        ("predict", "{tmp}/run", "{data}", "-o", "{tmp}/out.csv"),
        "would overwrite the input data",
    ),
    Case(
        "predict_output_directory",
        "predict -o naming a folder",
        _run_dir_with(_no_change),
        ("predict", "{tmp}/run", "{data}", "-o", "{tmp}"),
        "is a directory; give a file name inside it",
    ),
    Case(
        "predict_output_missing_folder",
        "predict -o into a folder that does not exist",
        _run_dir_with(_no_change),
        ("predict", "{tmp}/run", "{data}", "-o", "{tmp}/nowhere/p.csv"),
        "does not exist; create it or choose another path",
    ),
    Case(
        "predict_output_proc",
        "predict -o under /proc",
        _run_dir_with(_no_change),
        ("predict", "{tmp}/run", "{data}", "-o", "/proc/archselect_p.csv"),
        "is not writable",
    ),
    Case(
        "fit_out_proc",
        "fit --out under /proc",
        _frame(_tab),
        ("fit", "{data}", "--out", "/proc/archselect_run"),
        "inside a kernel file system",
    ),
    Case(
        "plan_is_a_list",
        "a run directory whose plan.json is a list",
        _run_dir_with(lambda run: (run / "plan.json").write_text("[1, 2]")),
        ("report", "{tmp}/run"),
        "plan.json is damaged (no 'run' record)",
    ),
    Case(
        "plan_run_null",
        'a run directory whose plan.json has "run": null',
        _run_dir_with(lambda run: (run / "plan.json").write_text('{"run": null}')),
        ("predict", "{tmp}/run", "{data}"),
        "plan.json is damaged (no 'run' record)",
    ),
    Case(
        "plan_format_text",
        'a run directory whose format_version is "x"',
        _run_dir_with(
            lambda run: (run / "plan.json").write_text('{"run": {"format_version": "x"}}')
        ),
        ("report", "{tmp}/run"),
        "format_version 'x' is not a number",
    ),
    Case(
        "plan_format_infinite",
        "a run directory whose format_version is 1e999",
        _run_dir_with(
            lambda run: (run / "plan.json").write_text('{"run": {"format_version": 1e999}}')
        ),
        ("report", "{tmp}/run"),
        "format_version inf is not a number",
    ),
    Case(
        "plan_not_utf8",
        "a run directory whose plan.json is not UTF-8",
        _run_dir_with(lambda run: (run / "plan.json").write_bytes(b'{"run": "\xff\xfe"}')),
        ("report", "{tmp}/run"),
        "plan.json is damaged",
    ),
    Case(
        "profile_is_a_list",
        "fit into a run directory whose profile.json is a list",
        _run_dir_with(lambda run: (run / "profile.json").write_text("[]")),
        ("fit", "{data}", "--out", "{tmp}/run"),
        "holds a run on different data",
    ),
    # --- issue 33 -------------------------------------------------------------------------
    Case(
        "trailing_comma",
        "every data row ends with a comma (one empty field more than the header)",
        _trailing_comma(""),
        ("profile", "{data}"),
        "task: classification; target: label",
        exit_code=0,
        check=_check_trailing_comma,
    ),
    Case(
        "extra_field",
        "every data row has one value more than the header",
        _trailing_comma("x"),
        ("profile", "{data}"),
        "data rows have 5 fields but the header has 4 (a trailing ','",
    ),
    Case(
        "target_infinite",
        "a regression target with inf, -inf and an empty value",
        _frame(_infinite_target),
        ("profile", "{data}"),
        "3 rows without a target are left out",
        exit_code=0,
    ),
    Case(
        "data_json",
        "a JSON file passed as the data",
        lambda p: p.write_text(_tab().to_json(orient="records", indent=1)),
        ("profile", "{data}"),
        "holds JSON, not a CSV; read it with pandas.read_json",
    ),
    *(
        Case(
            f"format_{fmt}",
            f"the data as {what}",
            _stored(fmt),
            ("profile", "{data}"),
            f"read as {note}",
            exit_code=0,
        )
        for fmt, what, note in (
            ("parquet", "Parquet", "parquet"),
            ("feather", "Feather (Arrow IPC)", "feather"),
            ("gzip", "a gzip-compressed CSV", "a CSV compressed with gzip"),
            ("bzip2", "a bzip2-compressed CSV", "a CSV compressed with bzip2"),
            ("xz", "an xz-compressed CSV", "a CSV compressed with xz"),
            ("zip", "a zipped CSV", "a CSV compressed with zip"),
        )
    ),
    Case(
        "zip_two_files",
        "a zip holding two files",
        _zip_of(("a.csv", "b.csv")),
        ("profile", "{data}"),
        "holds 2 files; zip a single CSV file",
    ),
    Case(
        "gzip_binary",
        "a gzip file of binary bytes",
        _gzip_of(b"\x00\x01\x02\x03binary\x00" * 10),
        ("profile", "{data}"),
        "inflates to a binary file, not a CSV",
    ),
    Case(
        "parquet_truncated",
        "a Parquet file cut short",
        _bytes(b"PAR1" + bytes(100)),
        ("profile", "{data}"),
        "is not a readable parquet file",
    ),
    Case(
        "fit_target_missing",
        "fit --target naming no column (answered from the header)",
        _frame(_tab),
        ("fit", "{data}", "--target", "lable", "--out", "{tmp}/run"),
        "Target column 'lable' is not in the data; the closest names are 'label'",
    ),
    Case(
        "predict_output_model_file",
        "predict -o naming a file of the run's model",
        _run_dir_with(_model_file),
        ("predict", "{tmp}/run", "{data}", "-o", "{tmp}/run/model/weights.pt"),
        "would overwrite model/weights.pt, one of the files of the run in",
        check=_check_model_kept,
    ),
    Case(
        "predict_output_run_file",
        "predict -o naming the run's report",
        _run_dir_with(_no_change),
        ("predict", "{tmp}/run", "{data}", "-o", "{tmp}/run/report.html"),
        "would overwrite report.html, one of the files of the run",
    ),
    Case(
        "predict_output_symlink_into_run",
        "predict -o naming a symbolic link to the run's weights",
        _symlink_into_model,
        ("predict", "{tmp}/run", "{data}", "-o", "{tmp}/out.csv"),
        "would overwrite model/weights.pt",
        check=_check_model_kept,
    ),
)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_corpus(case: Case, tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    if case.make is not None:
        case.make(data)
    args = [a.replace("{data}", str(data)).replace("{tmp}", str(tmp_path)) for a in case.args]
    start = time.perf_counter()
    res = CliRunner().invoke(cli, args)
    elapsed = time.perf_counter() - start
    output = res.stdout + res.stderr
    assert res.exit_code == case.exit_code, output
    assert case.message in output, output
    assert "Traceback" not in output
    assert PASSWORD not in output
    if case.exit_code == 2:
        errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, res.stderr
        sentence = errors[0].removeprefix("error: ")
        assert sentence.endswith((".", "?")), sentence
    assert elapsed < 20, f"{case.id} took {elapsed:.1f}s"
    if case.check is not None:
        case.check(data, output)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["--debug", "profile", str(tmp_path / "missing.csv")])
    assert res.exit_code == 2
    assert "Traceback" in res.stderr and "DataError" in res.stderr
    assert "does not exist" in res.stderr


def test_force_replaces_only_archselect_files(tmp_path: Path, fast_space: Path) -> None:
    """--force over a run on other data: the run is replaced, the user's file survives."""
    data = tmp_path / "data.csv"
    _run_dir_with(_user_file)(data)
    (tmp_path / "run" / "model").mkdir()
    (tmp_path / "run" / "model" / "my_notes.md").write_text("also mine")
    res = CliRunner().invoke(
        cli,
        [
            "fit",
            str(data),
            "--out",
            str(tmp_path / "run"),
            "--force",
            "--trials",
            "1",
            "--space",
            str(fast_space),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    _check_user_file_kept(data, res.output)
    assert (tmp_path / "run" / "model" / "my_notes.md").read_text() == "also mine"
    profile = json.loads((tmp_path / "run" / "profile.json").read_text())
    assert profile["source"]["sha256"] != "0" * 64


# --- damaged or odd real run directories (a copy of the shared fitted digits run) ---------------


def _edit_json(name: str, key: str, value: object) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        data = json.loads((run / name).read_text())
        data[key] = value
        (run / name).write_text(json.dumps(data))

    return change


def _write(name: str, content: str) -> Callable[[Path], None]:
    return lambda run: (run / name).write_text(content)


def _report_is_a_folder(run: Path) -> None:
    (run / "report.html").unlink()
    (run / "report.html").mkdir()


def _huge_row(run: Path) -> None:
    frame = pd.read_csv(run.parent / "data.csv").head(3).astype(float)
    frame.iloc[1, 1] = 1e308
    frame.to_csv(run.parent / "data.csv", index=False)


def _huge_width(run: Path) -> None:
    config = json.loads((run / "model" / "config.json").read_text())
    config["params"]["width"] = 10**9  # every family's builder refuses it or uses it
    (run / "model" / "config.json").write_text(json.dumps(config))


@dataclass(frozen=True)
class RunCase:
    """A change to a copy of a finished run, the command, and what the answer must say."""

    id: str
    what: str
    change: Callable[[Path], None]
    args: tuple[str, ...]
    message: str


RUN_CASES: tuple[RunCase, ...] = (
    RunCase(
        "config_format_text",
        'model/config.json format_version "99" (text)',
        _edit_json("model/config.json", "format_version", "99"),
        ("predict", "{run}", "{data}"),
        "config.json format_version '99' is not a whole number",
    ),
    RunCase(
        "preprocessing_label_type",
        "model/preprocessing.json with an unknown label_type",
        _edit_json("model/preprocessing.json", "label_type", "complex"),
        ("predict", "{run}", "{data}"),
        "label_type 'complex' is unknown",
    ),
    RunCase(
        "preprocessing_form",
        "model/preprocessing.json with an unknown form",
        _edit_json("model/preprocessing.json", "form", "hologram"),
        ("predict", "{run}", "{data}"),
        "form 'hologram' is unknown",
    ),
    RunCase(
        "trials_empty",
        "an empty trials.csv",
        _write("trials.csv", ""),
        ("report", "{run}"),
        "trials.csv is damaged",
    ),
    RunCase(
        "trials_garbled",
        "a garbled trials.csv",
        _write("trials.csv", 'kind,family\n"unclosed\n'),
        ("report", "{run}"),
        "trials.csv is damaged",
    ),
    RunCase(
        "report_is_a_folder",
        "report.html is a folder",
        _report_is_a_folder,
        ("report", "{run}"),
        "report.html is not a regular file",
    ),
    RunCase(
        "export_to_folder",
        "export -o naming a folder",
        lambda run: (run.parent / "onnx_here").mkdir(),
        ("export", "{run}", "-o", "{tmp}/onnx_here"),
        "is a directory; give a file name inside it",
    ),
    RunCase(
        "export_to_proc",
        "export -o under /proc",
        lambda run: None,
        ("export", "{run}", "-o", "/proc/archselect.onnx"),
        "is not writable",
    ),
    RunCase(
        "predict_huge_value",
        "predict on a row holding 1e308",
        _huge_row,
        ("predict", "{run}", "{data}"),
        "beyond the +/-3.4e+38 a model can compute with",
    ),
    # --- issue 33 -------------------------------------------------------------------------
    RunCase(
        "predict_output_model_config",
        "predict -o naming the model's config.json",
        lambda run: None,
        ("predict", "{run}", "{data}", "-o", "{run}/model/config.json"),
        "would overwrite model/config.json, one of the files of the run",
    ),
    RunCase(
        "predict_output_hard_link",
        "predict -o naming a hard link to the model's weights",
        lambda run: os.link(run / "model" / "weights.pt", run.parent / "w.pt"),
        ("predict", "{run}", "{data}", "-o", "{tmp}/w.pt"),
        "would overwrite model/weights.pt",
    ),
    RunCase(
        "export_over_weights",
        "export -o naming the model's weights",
        lambda run: None,
        ("export", "{run}", "-o", "{run}/model/weights.pt"),
        "would overwrite model/weights.pt",
    ),
    RunCase(
        "config_huge_width",
        'model/config.json edited to "width": 1000000000',
        _huge_width,
        ("predict", "{run}", "{data}"),
        "config.json sets width = 1000000000, more than the",
    ),
    RunCase(
        "weights_garbage",
        "model/weights.pt replaced by other bytes",
        _write("model/weights.pt", "not a weights file"),
        ("predict", "{run}", "{data}"),
        "is not a weights file written by archselect",
    ),
)


@pytest.mark.parametrize("case", RUN_CASES, ids=[c.id for c in RUN_CASES])
def test_damaged_run_directory(
    case: RunCase, digits_run: Path, small_digits_csv: Path, tmp_path: Path
) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(digits_run, run)
    shutil.copy(small_digits_csv, tmp_path / "data.csv")
    case.change(run)
    args = [
        a.replace("{run}", str(run)).replace("{data}", str(tmp_path / "data.csv"))
        for a in case.args
    ]
    res = CliRunner().invoke(cli, [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and case.message in errors[0], res.stderr
    assert "Traceback" not in res.output
    assert not list(tmp_path.rglob("*.tmp")), "a temporary file was left behind"


def markdown_table() -> str:
    """The corpus as a markdown table (written to tests/cli/BAD_INPUT_CASES.md)."""
    lines = [
        "# Bad-input corpus",
        "",
        "Generated from `tests/cli/test_bad_input_corpus.py` by "
        "`python -m tests.cli.test_bad_input_corpus`; every row is a test case run through "
        "the CLI.",
        "",
        "| # | case | input | command | exit | the answer contains |",
        "|---|---|---|---|---|---|",
    ]
    for i, c in enumerate(CASES, 1):
        msg = c.message.replace("|", "\\|")
        cmd = " ".join(c.args).replace("|", "\\|")
        lines.append(f"| {i} | `{c.id}` | {c.what} | `{cmd}` | {c.exit_code} | {msg} |")
    lines += [
        "",
        "## Damaged run directories",
        "",
        "Each case changes a copy of a finished run (`test_damaged_run_directory`); every "
        "answer is exit 2 with one sentence.",
        "",
        "| # | case | change | command | the answer contains |",
        "|---|---|---|---|---|",
    ]
    for i, r in enumerate(RUN_CASES, len(CASES) + 1):
        msg = r.message.replace("|", "\\|")
        lines.append(f"| {i} | `{r.id}` | {r.what} | `{' '.join(r.args)}` | {msg} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    out = Path(__file__).with_name("BAD_INPUT_CASES.md")
    out.write_text(markdown_table(), encoding="utf-8")
    print(f"wrote {out} ({len(CASES)} cases)")
