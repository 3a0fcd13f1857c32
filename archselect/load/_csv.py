"""Reading a CSV file: encoding, separator and header sniffed, the bytes hashed as they are
parsed, and every malformed shape refused with one sentence (never a silent shift)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from archselect.core.data import SourceFacts
from archselect.errors import DataError

__all__ = [
    "MAX_COLUMNS",
    "SNIFF_BYTES",
    "check_columns",
    "check_regular_file",
    "check_width",
    "csv_header",
    "file_sha256",
    "read_csv",
    "target_candidates",
]

#: Encodings tried in order before a file is refused as binary.
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")
#: Bytes read to sniff the separator and to detect binary content.
SNIFF_BYTES = 64 * 1024
#: Bytes parsed to infer column types before the full read (integers become int32).
TYPE_SNIFF_BYTES = 1 << 20
#: Separators the sniffer may choose from.
SEPARATORS = ",;\t|"
#: Most columns a data set may have (a 256x256 grey image); wider files are refused before
#: parsing, so a huge header answers at once instead of exhausting memory.
MAX_COLUMNS = 65_536
#: Column names taken for the target when none is given (the profile's default rule).
TARGET_NAMES = ("label", "target", "class", "y", "labels", "category", "outcome")
#: A number written with a leading zero or a plus sign ("007", "+7"): parsing it as a number
#: would lose how it is written, so a target holding one is kept as text.
_LOSSY_NUMBER = re.compile(r"^\s*(?:[+-]?0\d|\+)")
#: Byte-order marks of the UTF-16/32 encodings (tried before the NUL-byte binary test).
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def file_sha256(path: str | Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _binary(path: Path) -> DataError:
    return DataError(
        f"{path} looks like a binary file, not a CSV (it holds NUL bytes); export the data as "
        "a text CSV first."
    )


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding), encoding
            except UnicodeDecodeError:
                break
    if b"\x00" in raw:
        raise _binary(path)
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise DataError(  # pragma: no cover - latin-1 decodes every byte
        f"{path} is not text in any of {', '.join(ENCODINGS)}; save it as UTF-8."
    )


def _sniff_separator(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=SEPARATORS).delimiter
    except csv.Error:
        counts = {sep: lines[0].count(sep) for sep in SEPARATORS}
        best = max(counts, key=lambda sep: counts[sep])
        return best if counts[best] > 0 else ","


def _header(text: str, sep: str) -> list[str]:
    """The header row's fields (quoted fields may hold separators and line breaks)."""
    try:
        return next(csv.reader(io.StringIO(text, newline=""), delimiter=sep), [])
    except csv.Error:
        return text.splitlines()[0].split(sep) if text else []


def check_width(n_columns: int, where: str) -> None:
    if n_columns > MAX_COLUMNS:
        raise DataError(
            f"{where} has at least {n_columns:,} columns, more than the limit of {MAX_COLUMNS:,}; "
            "select fewer columns (or store images as files and list their paths)."
        )


def check_columns(frame: pd.DataFrame, where: str) -> None:
    check_width(frame.shape[1], where)
    names = [str(c) for c in frame.columns]
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise DataError(
            f"{where} has duplicate column names ({', '.join(dupes[:5])}); "
            "rename them so every column name is unique."
        )


class _HashingReader(io.RawIOBase):
    """A binary file that updates a sha256 with every byte read (one pass for hash + parse)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._fh = open(path, "rb")  # noqa: SIM115  (closed in close())
        self.digest = hashlib.sha256()
        self.n_read = 0
        self.has_nul = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        block = self._fh.read(size)
        self.digest.update(block)
        self.has_nul = self.has_nul or b"\x00" in block
        self.n_read += len(block)
        return block

    def readinto(self, buffer: Any) -> int:
        block = self.read(len(buffer))
        buffer[: len(block)] = block
        return len(block)

    def close(self) -> None:
        self._fh.close()
        super().close()


def _narrow_types(path: Path) -> dict[str, Any]:
    """Integer columns of the first block read as int32 (half the memory of int64)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    with open(path, "rb") as fh:
        head = fh.read(TYPE_SNIFF_BYTES)
    if b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]
    schema = pacsv.read_csv(pa.BufferReader(head)).schema
    return {f.name: pa.int32() for f in schema if pa.types.is_integer(f.type)}


def _read_pyarrow(path: Path) -> tuple[pd.DataFrame, str] | None:
    """Fast path: parse with pyarrow, hashing the bytes as they stream past.

    Integer columns are read as int32 when the first block allows it (a larger value later
    makes pyarrow refuse, and the file is read again with inferred types). Columns become
    separate pandas blocks that share pyarrow's buffers (no consolidated copy of the whole
    frame), so the peak memory stays near one copy of the data. Returns None when pyarrow
    refuses the file (the caller then falls back to pandas' own parser).
    """
    from pyarrow import csv as pacsv

    try:
        narrow: dict[str, Any] | None = _narrow_types(path)
    except Exception:
        narrow = None
    for column_types in ([narrow] if narrow else []) + [None]:
        reader = _HashingReader(path)
        try:
            options = pacsv.ConvertOptions(column_types=column_types, strings_can_be_null=True)
            arrow = pacsv.read_csv(reader, convert_options=options)
        except Exception:
            continue
        finally:
            reader.close()
        complete = reader.n_read == path.stat().st_size  # pyarrow reads it all, once, in order
        if reader.has_nul:
            raise _binary(path)
        sha = reader.digest.hexdigest() if complete else file_sha256(path)
        frame = arrow.to_pandas(split_blocks=True, self_destruct=True)
        del arrow
        return frame, sha
    return None


def _header_width(path: Path, sep: str) -> int:
    """Fields in the header line, counted in blocks (stops early past MAX_COLUMNS)."""
    count = 1
    with open(path, "rb") as fh:
        while block := fh.read(SNIFF_BYTES):
            line = block.split(b"\n", 1)[0]
            count += line.count(sep.encode())
            if len(line) < len(block) or count > MAX_COLUMNS:
                break
    return count


def _read_text(path: Path, sep: str | None) -> tuple[pd.DataFrame, str, str, str, str]:
    """Slow path: decode the whole file, then parse with pandas (any encoding/separator)."""
    raw = path.read_bytes()
    text, encoding = _decode(raw, path)
    sample = text[:SNIFF_BYTES]
    sep = sep or _sniff_separator(sample)
    header = _header(sample.lstrip("\ufeff"), sep)
    check_width(len(header), str(path))
    sha = hashlib.sha256(raw).hexdigest()
    try:
        frame = _parse_text(text, sep, len(header), path)
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{path} is not a well-formed CSV ({str(exc).strip().splitlines()[-1]}); "
            "check that every row has as many fields as the header."
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} has no columns; it needs a header row and data rows.") from exc
    return frame, sha, encoding, sample, sep


#: pandas' warning when data rows have more fields than the header (with ``index_col=False``
#: it drops the extra fields: refused, never read silently).
_LOST_FIELDS = "does not match length of data"


def _parse_text(text: str, sep: str, n_header: int, path: Path) -> pd.DataFrame:
    """Parse decoded CSV text with pandas, never taking a column for the row index.

    By default pandas reads data rows with one field more than the header as R's
    ``write.table`` files: the first field becomes the row index and every name moves one
    column left (a trailing comma on each row gave the label's name to the first feature).
    ``index_col=False`` keeps the columns where the header puts them: an empty extra field
    (a trailing separator) is ignored, a non-empty one is refused.

    Example:
        >>> _parse_text("y,a\\ncat,1,\\ndog,2,\\n", ",", 2, Path("d.csv")).to_dict("list")
        {'y': ['cat', 'dog'], 'a': [1, 2]}
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        frame = pd.read_csv(io.StringIO(text), sep=sep, index_col=False)
    if any(_LOST_FIELDS in str(w.message) for w in caught):
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        widest = max((len(row) for row in rows), default=n_header)
        raise DataError(
            f"{path}'s data rows have {widest} fields but the header has {n_header} (a "
            f"trailing {sep!r}, or row names without a header?); give every row as many "
            "fields as the header."
        )
    return frame


def target_candidates(columns: list[str], target: str | None) -> list[str]:
    """The columns that may be the target: ``target``, else the usual names and the last."""
    if target is not None:
        return [target] if target in columns else []
    lowered = {c.lower(): c for c in columns}
    named = [lowered[n] for n in TARGET_NAMES if n in lowered]
    return list(dict.fromkeys([*named, *columns[-1:]]))


def _keep_targets_as_text(
    frame: pd.DataFrame, path: Path, sep: str, encoding: str, target: str | None
) -> list[str]:
    """Read numeric target candidates again as text; keep the text where numbers would lose it.

    Labels such as ``0123`` or ``007`` parse as the numbers 123 and 7, which prints them
    differently and can merge two classes (``007`` and ``7``). Returns notes.
    """
    columns = [str(c) for c in frame.columns]
    numeric = [
        c for c in target_candidates(columns, target) if pd.api.types.is_numeric_dtype(frame[c])
    ]
    if not numeric:
        return []
    positions = sorted(columns.index(c) for c in numeric)  # names may be "" or repeat pandas'
    try:
        text = pd.read_csv(
            path,
            sep=sep,
            encoding=encoding,
            usecols=positions,
            index_col=False,
            dtype=str,
            encoding_errors="replace",
        )
    except (ValueError, OSError):  # parsed once already: keep the numbers rather than fail
        return []
    if len(text) != len(frame):  # the two parsers disagree on rows: keep the first reading
        return []
    notes = []
    for k, pos in enumerate(positions):
        col = columns[pos]
        values = text.iloc[:, k]
        lossy = values.dropna().str.match(_LOSSY_NUMBER)
        if lossy.any():
            example = values.dropna()[lossy].iloc[0]
            frame[col] = values.str.strip().to_numpy(dtype=object)
            notes.append(
                f"column {col!r} kept as text: values such as {example!r} would lose their "
                "leading zero or sign as numbers"
            )
    return notes


def check_regular_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path} does not exist; check the path to the CSV file.")
    if path.is_dir():
        raise DataError(f"{path} is a directory; pass the path of a CSV file inside it.")
    if not path.is_file():
        raise DataError(
            f"{path} is not a regular file (a pipe, socket or device); save the data to a "
            "CSV file and pass its path."
        )


#: File name endings of JSON data (refused with the way to read it, not parsed as a CSV).
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson", ".geojson")


def _refuse_json(head: bytes, path: Path) -> None:
    """Refuse a JSON file: by its name, or a first line that is JSON (or a lone bracket)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] not in (b"[", b"{"):
        return
    first = text.split(b"\n", 1)[0].strip()
    try:
        parsed = first in (b"[", b"{") or isinstance(json.loads(first), (dict, list))
    except ValueError:
        parsed = False
    if parsed or path.suffix.lower() in JSON_SUFFIXES:
        raise DataError(
            f"{path} holds JSON, not a CSV; read it with pandas.read_json and pass the "
            "DataFrame, or save it as a CSV file."
        )


def _trailing_separator(sample: str, sep: str, n_header: int) -> list[str]:
    """A note when the first data row ends with an empty extra field (ignored when read)."""
    try:
        rows = csv.reader(io.StringIO(sample, newline=""), delimiter=sep)
        next(rows, None)
        first = next(rows, [])
    except csv.Error:
        return []
    if len(first) == n_header + 1 and not first[-1].strip():
        return [
            f"data rows end with a trailing {sep!r} (an empty field past the header's); ignored"
        ]
    return []


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file's header, from its first 64 KiB only.

    Example:
        >>> import tempfile; d = Path(tempfile.mkdtemp())
        >>> _ = (d / "a.csv").write_text("x;y;label\\n1;2;0\\n")
        >>> csv_header(d / "a.csv")
        ['x', 'y', 'label']
    """
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if len(head) == SNIFF_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]
    sample, _ = _decode(head, path)
    sample = sample.lstrip("\ufeff")
    return _header(sample, _sniff_separator(sample))


def read_csv(path: Path, target: str | None = None) -> tuple[pd.DataFrame, SourceFacts]:
    check_regular_file(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if not head.strip():
        raise DataError(f"{path} is empty; it needs a header row and data rows.")
    _refuse_json(head, path)
    frame: pd.DataFrame | None = None
    if any(head.startswith(bom) for bom, _ in BOMS):
        frame, sha, encoding, sample, sep = _read_text(path, None)
    else:
        if len(head) == SNIFF_BYTES and b"\n" in head:
            head = head[: head.rindex(b"\n") + 1]  # whole lines only (no split character)
        sample, encoding = _decode(head, path)
        sep = _sniff_separator(sample)
        check_width(_header_width(path, sep), str(path))  # before parsing: huge headers
        if sep == "," and encoding == "utf-8":
            fast = _read_pyarrow(path)
            if fast is not None:
                frame, sha = fast
        if frame is None:
            frame, sha, encoding, sample, sep = _read_text(path, sep)
    notes: list[str] = []
    if encoding not in ("utf-8", "utf-8-sig"):
        notes.append(f"read as {encoding} (not UTF-8)")
    if sep != ",":
        notes.append(f"separator detected as {sep!r}")
    raw_header = _header(sample.lstrip("\ufeff"), sep)
    notes += _trailing_separator(sample.lstrip("\ufeff"), sep, len(raw_header))
    check_width(len(raw_header), str(path))
    if len(set(raw_header)) != len(raw_header):
        dupes = sorted({h for h in raw_header if raw_header.count(h) > 1})
        raise DataError(
            f"{path} has duplicate column names ({', '.join(dupes[:5])}); "
            "rename them so every column name is unique."
        )
    check_columns(frame, str(path))
    notes += _keep_targets_as_text(frame, path, sep, encoding, target)
    facts = SourceFacts(
        path=str(path.resolve()),
        sha256=sha,
        n_rows=len(frame),
        n_columns=frame.shape[1],
        columns=tuple(str(c) for c in frame.columns),
        dtypes=tuple(str(t) for t in frame.dtypes),
        separator=sep,
        encoding=encoding,
        size_bytes=size,
        notes=tuple(notes),
    )
    return frame, facts
