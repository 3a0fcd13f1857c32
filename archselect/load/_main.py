"""``load_table``: a data file or a DataFrame becomes a :class:`Table`; and the header-only
check of the columns an option names (answered before anything heavy is imported)."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from archselect.core.data import SourceFacts
from archselect.errors import DataError, UsageError
from archselect.load._csv import check_columns, check_regular_file, target_candidates
from archselect.load._formats import header_names, read_any

__all__ = ["MAX_ABS_VALUE", "Table", "check_named_columns", "closest_names", "load_table"]

#: Largest magnitude a numeric value may have: the float32 range the models compute in
#: (a larger value becomes infinite once standardised, and no trial can learn from it).
MAX_ABS_VALUE = float(np.finfo(np.float32).max)
#: What the data is loaded for (the wording of "no rows" differs).
Purpose = Literal["fit", "predict"]


@dataclass(frozen=True)
class Table:
    """A loaded data set: the frame and the facts about its source."""

    frame: pd.DataFrame
    facts: SourceFacts

    @property
    def base_dir(self) -> Path | None:
        """The folder relative paths inside the data resolve against (the CSV's folder)."""
        return Path(self.facts.path).parent if self.facts.path else None


def _frame_sha256(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


def _check_magnitudes(frame: pd.DataFrame, where: str) -> None:
    """Refuse finite values beyond :data:`MAX_ABS_VALUE` (they overflow once standardised)."""
    for col in frame.columns:
        if not pd.api.types.is_float_dtype(frame[col]):
            continue
        values = frame[col].to_numpy(dtype=float, na_value=np.nan)
        huge = np.isfinite(values) & (np.abs(values) > MAX_ABS_VALUE)
        if huge.any():
            row = int(np.flatnonzero(huge)[0])
            raise DataError(
                f"Column {str(col)!r} of {where} holds {values[row]:g} in data row {row + 1}, "
                f"beyond the +/-{MAX_ABS_VALUE:.3g} a model can compute with; rescale the "
                "column (e.g. take its logarithm) or fix the value."
            )


def _infinite_targets_missing(frame: pd.DataFrame, target: str | None) -> list[str]:
    """Infinite values of the columns that may be the target become missing, with a note.

    No loss and no reference can learn from ``inf`` (the target's scale becomes infinite
    and every standardised target NaN), so a row whose target is infinite is left out like
    one whose target is empty; in a feature, the same values are imputed either way.
    """
    notes = []
    for col in target_candidates([str(c) for c in frame.columns], target):
        if not pd.api.types.is_float_dtype(frame[col]):
            continue
        infinite = np.isinf(frame[col].to_numpy(dtype=float, na_value=np.nan))
        if infinite.any():
            frame[col] = frame[col].mask(infinite)
            n = int(infinite.sum())
            notes.append(
                f"column {col!r}: {n} infinite value{'s' if n > 1 else ''} read as missing "
                "(no model can learn from an infinite target)"
            )
    return notes


def _wrap_frame(source: pd.DataFrame) -> tuple[pd.DataFrame, SourceFacts]:
    frame = source.copy()
    frame.columns = [str(c) for c in frame.columns]
    check_columns(frame, "The DataFrame")
    facts = SourceFacts(
        path=None,
        sha256=_frame_sha256(frame),
        n_rows=len(frame),
        n_columns=frame.shape[1],
        columns=tuple(frame.columns),
        dtypes=tuple(str(t) for t in frame.dtypes),
        format="dataframe",
    )
    return frame, facts


def _no_rows(facts: SourceFacts, purpose: Purpose) -> DataError:
    todo = "add rows to learn from"
    if purpose == "predict":
        todo = "add the rows to predict" if facts.path else "pass at least one row to predict"
    if facts.path is None:
        return DataError(f"The DataFrame has no rows; {todo}.")
    return DataError(f"{facts.path} has a header but no data rows; {todo}.")


def load_table(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    target: str | None = None,
    purpose: Purpose = "fit",
) -> Table:
    """Load a data file (CSV, compressed CSV, Parquet or Feather) or wrap a DataFrame.

    A CSV's separator and encoding are sniffed; a numeric-looking target column whose
    values would change as numbers (``007``, ``0123``) is kept as text; missing and empty
    fields are missing values, and so are infinite values of a column that may be the target
    (noted).

    Args:
        source: Path to a data file, or a DataFrame already in memory.
        target: The target column, when known (default: a column named like
            label/target/class/y, and the last column, are checked).
        purpose: ``fit`` or ``predict`` (how a message about missing rows reads).

    Returns:
        The :class:`Table`; its facts carry the format and the sha256 that workers verify.

    Raises:
        DataError: The file is missing, empty, binary, malformed or has duplicate columns.
        UsageError: ``source`` is neither a path nor a DataFrame.

    Example:
        >>> import pandas as pd
        >>> load_table(pd.DataFrame({"a": [1, 2], "y": [0, 1]})).facts.n_rows
        2
    """
    if isinstance(source, pd.DataFrame):
        frame, facts = _wrap_frame(source)
    elif isinstance(source, (str, os.PathLike)):
        frame, facts = read_any(Path(source), target)
        # relative paths inside the data (image files) resolve against the file's folder;
        # attrs travel with row selections, so Preprocessing.transform finds it
        frame.attrs["base_dir"] = str(Path(facts.path or ".").parent)
    else:
        raise UsageError(
            f"The data is a {type(source).__name__}, not a path or a DataFrame; pass the "
            "path of a CSV (or Parquet) file, or a pandas DataFrame."
        )
    if facts.n_columns == 0:
        raise DataError("The data has no columns; it needs a header row and data rows.")
    _check_magnitudes(frame, facts.path or "the DataFrame")
    if facts.n_rows == 0:
        raise _no_rows(facts, purpose)
    notes = _infinite_targets_missing(frame, target)
    if notes:
        facts = dataclasses.replace(facts, notes=(*facts.notes, *notes))
    return Table(frame=frame, facts=facts)


def closest_names(name: str, options: list[str], n: int = 3) -> list[str]:
    """The ``n`` names of ``options`` closest to ``name`` (the first ones if none is close).

    Example:
        >>> closest_names("lable", ["height", "label", "weight"])
        ['label']
    """
    return difflib.get_close_matches(name, options, n=n, cutoff=0.3) or options[:n]


def check_named_columns(path: str | os.PathLike[str], named: dict[str, str | None]) -> None:
    """Refuse an option that names a column the data file lacks, from its header alone.

    ``named`` maps how the option reads in messages (``Target``, ``--id-col``) to the
    column it names (None: not given). A header that cannot be read cheaply is left to
    :func:`load_table`, which says why.

    Raises:
        DataError: The file does not exist, or is not a regular file.
        UsageError: A named column is not in the header.

    Example:
        >>> import tempfile; p = Path(tempfile.mkdtemp()) / "d.csv"
        >>> _ = p.write_text("a,b,label\\n1,2,0\\n")
        >>> check_named_columns(p, {"Target": "label"})  # there: nothing happens
        >>> check_named_columns(p, {"Target": "lable"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        archselect.errors.UsageError: Target column 'lable' is not in the data; the closest ...
    """
    check_regular_file(Path(path))
    wanted = {option: str(name) for option, name in named.items() if name is not None}
    if not wanted:
        return
    columns = header_names(Path(path))
    if columns is None:
        return
    for option, name in wanted.items():
        if name not in columns:
            near = ", ".join(repr(c) for c in closest_names(name, columns))
            raise UsageError(
                f"{option} column {name!r} is not in the data; the closest names are {near}."
            )
