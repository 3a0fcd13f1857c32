"""The data files besides plain CSV: Parquet, Feather/Arrow IPC, and CSV compressed with gzip,
bzip2, xz or zip, told apart by their first bytes (the file name is not trusted).

Columnar files are checked from their schema before they are read (width, duplicate
names); a compressed CSV is inflated into a temporary file, with a cap on its size and
a NUL-byte test on every block, and then read by the CSV reader with every one of its
guards. The facts name the file as stored: its path, size and sha256 (what workers
verify), and its format.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import io
import lzma
import tempfile
import zipfile
from pathlib import Path
from typing import IO

import pandas as pd

from archselect.core.data import SourceFacts
from archselect.errors import DataError
from archselect.load._csv import (
    SNIFF_BYTES,
    check_columns,
    check_regular_file,
    check_width,
    csv_header,
    file_sha256,
    read_csv,
)

__all__ = ["FORMATS", "MAX_INFLATED_BYTES", "header_names", "read_any", "sniff_format"]

#: Formats read, by name (``SourceFacts.format``).
FORMATS = ("csv", "parquet", "feather", "csv.gz", "csv.bz2", "csv.xz", "csv.zip")
#: First bytes of each format besides CSV.
MAGIC = (
    (b"PAR1", "parquet"),
    (b"ARROW1", "feather"),  # Feather v2 is the Arrow IPC file format
    (b"FEA1", "feather"),
    (b"\x1f\x8b", "csv.gz"),
    (b"\xfd7zXZ\x00", "csv.xz"),
    (b"PK\x03\x04", "csv.zip"),
    (b"PK\x05\x06", "csv.zip"),  # an empty zip
)
#: bzip2: ``BZh``, the block size digit, then the magic of a block or of the end of stream.
_BZIP2_BLOCKS = (b"1AY&SY", b"\x17rE8P\x90")
#: Most bytes a compressed CSV may inflate to (a guard against decompression bombs).
MAX_INFLATED_BYTES = 8 << 30
#: Each compressed format's name in messages.
_COMPRESSION = {"csv.gz": "gzip", "csv.bz2": "bzip2", "csv.xz": "xz", "csv.zip": "zip"}
#: Bytes inflated at a time.
_BLOCK = 1 << 20
#: Top-level names inside an Office document (a zip, but not a zipped CSV).
_OFFICE_PARTS = ("[Content_Types].xml", "xl/", "word/", "ppt/")
#: Byte-order marks of UTF-16 and UTF-32 (text whose bytes include NULs).
_WIDE_MARKS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")
_TEXT_CSV = "export the data as a text CSV first"


def sniff_format(path: Path) -> str:
    """The format of ``path`` (one of :data:`FORMATS`), from its first bytes.

    Example:
        >>> import gzip, tempfile; p = Path(tempfile.mkdtemp()) / "d.csv.gz"
        >>> _ = p.write_bytes(gzip.compress(b"a,y\\n1,0\\n"))
        >>> sniff_format(p)
        'csv.gz'
    """
    with open(path, "rb") as fh:
        head = fh.read(16)
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] in _BZIP2_BLOCKS:
        return "csv.bz2"
    return "csv"


def _columnar_schema(path: Path, fmt: str) -> list[str]:
    """Column names from a Parquet footer or an Arrow IPC schema (no data read)."""
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    if fmt == "parquet":
        return list(pq.read_schema(path).names)
    try:
        with pa.memory_map(str(path)) as source:
            return list(pa.ipc.open_file(source).schema.names)
    except pa.ArrowInvalid:  # Feather v1 has no IPC footer
        return list(feather.read_table(path, memory_map=True).schema.names)


def _unreadable(path: Path, fmt: str, exc: Exception) -> DataError:
    reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    return DataError(
        f"{path} is not a readable {fmt} file ({reason}); write it again, or {_TEXT_CSV}."
    )


def _to_plain_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """As a CSV reads: a saved pandas index back as a column (when named), text names, and
    categorical columns as their values."""
    if not isinstance(frame.index, pd.RangeIndex):
        named = any(n is not None for n in frame.index.names)
        frame = frame.reset_index(drop=not named)
    frame.columns = [str(c) for c in frame.columns]
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype(frame[col].cat.categories.dtype)
    return frame


def _read_columnar(path: Path, fmt: str) -> tuple[pd.DataFrame, SourceFacts]:
    """A Parquet or Feather file: width and names checked from the schema first."""
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    try:
        names = _columnar_schema(path, fmt)
    except Exception as exc:
        raise _unreadable(path, fmt, exc) from exc
    check_width(len(names), str(path))
    check_columns(pd.DataFrame(columns=names), str(path))
    try:
        table = pq.read_table(path) if fmt == "parquet" else feather.read_table(path)
        frame = table.to_pandas(split_blocks=True, self_destruct=True)
    except Exception as exc:
        raise _unreadable(path, fmt, exc) from exc
    del table
    frame = _to_plain_columns(frame)
    check_columns(frame, str(path))
    facts = SourceFacts(
        path=str(path.resolve()),
        sha256=file_sha256(path),
        n_rows=len(frame),
        n_columns=frame.shape[1],
        columns=tuple(frame.columns),
        dtypes=tuple(str(t) for t in frame.dtypes),
        size_bytes=path.stat().st_size,
        notes=(f"read as {fmt}",),
        format=fmt,
    )
    return frame, facts


def _open_compressed(path: Path, fmt: str) -> io.BufferedIOBase | IO[bytes]:
    """The inflated byte stream of ``path``; a zip must hold exactly one file, not a
    workbook."""
    if fmt == "csv.gz":
        return gzip.open(path, "rb")
    if fmt == "csv.bz2":
        return bz2.open(path, "rb")
    if fmt == "csv.xz":
        return lzma.open(path, "rb")
    archive = zipfile.ZipFile(path)
    names = [i for i in archive.infolist() if not i.is_dir()]
    if any(i.filename.startswith(_OFFICE_PARTS) for i in names):
        archive.close()
        raise DataError(
            f"{path} is an Excel workbook or another Office document, not a CSV; {_TEXT_CSV}."
        )
    if len(names) != 1:
        archive.close()
        raise DataError(
            f"{path} holds {len(names)} files; zip a single CSV file, or unzip it and pass "
            "the CSV."
        )
    return archive.open(names[0])


def _inflate(path: Path, fmt: str, into: Path, limit: int | None = None) -> None:
    """Decompress ``path`` into ``into``: NUL bytes refused at once (binary, or a bomb of
    zeros), at most :data:`MAX_INFLATED_BYTES` (or ``limit`` bytes, then stop quietly)."""
    errors = (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, ValueError)
    try:
        with _open_compressed(path, fmt) as src, open(into, "wb") as dst:
            total, wide = 0, False  # UTF-16/32 text holds NUL bytes: its mark says so
            while block := src.read(_BLOCK if limit is None else min(_BLOCK, limit - total)):
                wide = wide or (total == 0 and block.startswith(_WIDE_MARKS))
                if not wide and b"\x00" in block:
                    raise DataError(
                        f"{path} inflates to a binary file, not a CSV (it holds NUL bytes); "
                        f"{_TEXT_CSV}."
                    )
                total += len(block)
                if total > MAX_INFLATED_BYTES:
                    raise DataError(
                        f"{path} inflates to more than {MAX_INFLATED_BYTES >> 20:,} MiB; pass "
                        "a smaller file, or the data as Parquet."
                    )
                dst.write(block)
                if limit is not None and total >= limit:
                    return
    except DataError:
        raise
    except errors as exc:
        if isinstance(exc, OSError) and exc.filename == str(into):
            raise  # the temporary file, not the data: a full disk is named as such
        raise _unreadable(path, _COMPRESSION[fmt], exc) from exc


def _read_compressed(path: Path, fmt: str, target: str | None) -> tuple[pd.DataFrame, SourceFacts]:
    """A compressed CSV: inflated into a temporary file that the CSV reader reads."""
    with tempfile.TemporaryDirectory(prefix="archselect-") as tmp:
        plain = Path(tmp) / (path.stem if path.suffix else path.name)
        _inflate(path, fmt, plain)
        try:
            frame, facts = read_csv(plain, target)
        except DataError as exc:  # name the user's file, not the temporary one
            raise DataError(str(exc).replace(str(plain), str(path))) from None
    facts = dataclasses.replace(
        facts,
        path=str(path.resolve()),
        sha256=file_sha256(path),
        size_bytes=path.stat().st_size,
        notes=(f"read as a CSV compressed with {_COMPRESSION[fmt]}", *facts.notes),
        format=fmt,
    )
    return frame, facts


def read_any(path: Path, target: str | None = None) -> tuple[pd.DataFrame, SourceFacts]:
    """Read a CSV, compressed CSV, Parquet or Feather file (see the module docstring).

    Raises:
        DataError: The file is missing, not a regular file, unreadable in its format, or
            fails one of the CSV reader's guards.
    """
    check_regular_file(path)
    fmt = sniff_format(path)
    if fmt == "csv":
        return read_csv(path, target)
    if fmt in ("parquet", "feather"):
        return _read_columnar(path, fmt)
    return _read_compressed(path, fmt, target)


def header_names(path: Path) -> list[str] | None:
    """The column names of a data file from its header or schema alone (None when that
    cannot be read cheaply: the full read then says why).

    Example:
        >>> import tempfile; p = Path(tempfile.mkdtemp()) / "d.csv"
        >>> _ = p.write_text("a,b,label\\n1,2,0\\n")
        >>> header_names(p)
        ['a', 'b', 'label']
    """
    try:
        if not path.is_file():
            return None
        fmt = sniff_format(path)
        if fmt == "csv":
            return csv_header(path)
        if fmt in ("parquet", "feather"):
            return _columnar_schema(path, fmt)
        with tempfile.TemporaryDirectory(prefix="archselect-") as tmp:
            head = Path(tmp) / "head.csv"
            _inflate(path, fmt, head, limit=SNIFF_BYTES)
            return csv_header(head)
    except Exception:
        return None
