"""Stage 1 — load: a CSV path or a DataFrame becomes a :class:`Table`."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from archselect._errors import DataError
from archselect._serde import JsonRecord

__all__ = ["SourceFacts", "Table", "file_sha256", "load_table"]

#: Encodings tried in order before a file is refused as binary.
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")
#: Bytes read to sniff the separator and to detect binary content.
SNIFF_BYTES = 64 * 1024
#: Separators the sniffer may choose from.
SEPARATORS = ",;\t|"
#: Most columns a data set may have (a 256x256 grey image); wider files are refused before
#: parsing, so a huge header answers at once instead of exhausting memory.
MAX_COLUMNS = 65_536
#: Byte-order marks of the UTF-16/32 encodings (tried before the NUL-byte binary test).
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


@dataclass(frozen=True)
class SourceFacts(JsonRecord):
    """Where the data came from and what it looked like on arrival."""

    path: str | None
    sha256: str
    n_rows: int
    n_columns: int
    columns: tuple[str, ...]
    dtypes: tuple[str, ...]
    separator: str = ","
    encoding: str = "utf-8"
    size_bytes: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """A loaded data set: the frame and the facts about its source."""

    frame: pd.DataFrame
    facts: SourceFacts

    @property
    def base_dir(self) -> Path | None:
        """The folder relative paths inside the data resolve against (the CSV's folder)."""
        return Path(self.facts.path).parent if self.facts.path else None


def file_sha256(path: str | Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _frame_sha256(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding), encoding
            except UnicodeDecodeError:
                break
    if b"\x00" in raw[:SNIFF_BYTES]:
        raise DataError(
            f"{path} looks like a binary file, not a CSV; export the data as a text CSV first."
        )
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


def _check_width(n_columns: int, where: str) -> None:
    if n_columns > MAX_COLUMNS:
        raise DataError(
            f"{where} has {n_columns:,} columns, more than the limit of {MAX_COLUMNS:,}; "
            "select fewer columns (or store images as files and list their paths)."
        )


def _check_columns(frame: pd.DataFrame, where: str) -> None:
    _check_width(frame.shape[1], where)
    names = [str(c) for c in frame.columns]
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise DataError(
            f"{where} has duplicate column names ({', '.join(dupes[:5])}); "
            "rename them so every column name is unique."
        )


def _read_csv(path: Path) -> tuple[pd.DataFrame, SourceFacts]:
    if not path.exists():
        raise DataError(f"{path} does not exist; check the path to the CSV file.")
    if path.is_dir():
        raise DataError(f"{path} is a directory; pass the path of a CSV file inside it.")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{path} is empty; it needs a header row and data rows.")
    text, encoding = _decode(raw, path)
    sep = _sniff_separator(text[:SNIFF_BYTES])
    notes: list[str] = []
    if encoding not in ("utf-8", "utf-8-sig"):
        notes.append(f"read as {encoding} (not UTF-8)")
    if sep != ",":
        notes.append(f"separator detected as {sep!r}")
    raw_header = next(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=sep), [])
    _check_width(len(raw_header), str(path))
    if len(set(raw_header)) != len(raw_header):
        dupes = sorted({h for h in raw_header if raw_header.count(h) > 1})
        raise DataError(
            f"{path} has duplicate column names ({', '.join(dupes[:5])}); "
            "rename them so every column name is unique."
        )
    try:
        if sep == "," and encoding == "utf-8" and b"\n\n" not in raw:
            try:
                frame = pd.read_csv(path, engine="pyarrow")
            except Exception:
                frame = pd.read_csv(io.StringIO(text), sep=sep)
        else:
            frame = pd.read_csv(io.StringIO(text), sep=sep)
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{path} is not a well-formed CSV ({str(exc).strip().splitlines()[-1]}); "
            "check that every row has as many fields as the header."
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} has no columns; it needs a header row and data rows.") from exc
    _check_columns(frame, str(path))
    facts = SourceFacts(
        path=str(path.resolve()),
        sha256=file_sha256(path),
        n_rows=len(frame),
        n_columns=frame.shape[1],
        columns=tuple(str(c) for c in frame.columns),
        dtypes=tuple(str(t) for t in frame.dtypes),
        separator=sep,
        encoding=encoding,
        size_bytes=len(raw),
        notes=tuple(notes),
    )
    return frame, facts


def load_table(source: str | Path | pd.DataFrame) -> Table:
    """Load a CSV file (separator and encoding sniffed) or wrap a DataFrame.

    Args:
        source: Path to a CSV file, or a DataFrame already in memory.

    Returns:
        The :class:`Table`; its facts carry the sha256 that workers verify.

    Raises:
        DataError: The file is missing, empty, binary, malformed or has duplicate columns.

    Example:
        >>> import pandas as pd
        >>> load_table(pd.DataFrame({"a": [1, 2], "y": [0, 1]})).facts.n_rows
        2
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        frame.columns = [str(c) for c in frame.columns]
        _check_columns(frame, "The DataFrame")
        facts = SourceFacts(
            path=None,
            sha256=_frame_sha256(frame),
            n_rows=len(frame),
            n_columns=frame.shape[1],
            columns=tuple(frame.columns),
            dtypes=tuple(str(t) for t in frame.dtypes),
        )
    else:
        frame, facts = _read_csv(Path(source))
    if facts.n_columns == 0:
        raise DataError("The data has no columns; it needs a header row and data rows.")
    if facts.n_rows == 0:
        raise DataError(
            f"{facts.path or 'The data'} has a header but no data rows; add rows to learn from."
        )
    return Table(frame=frame, facts=facts)
