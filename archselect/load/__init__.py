"""Stage 1 — load: a data file or a DataFrame becomes a :class:`Table`.

Files are CSV (separator, encoding and header sniffed), CSV compressed with gzip, bzip2, xz
or zip, Parquet and Feather/Arrow IPC, told apart by their first bytes (``_formats``); the
CSV reader (``_csv``) refuses every malformed shape with one sentence; ``_main`` holds
:func:`load_table` and the header-only check the command line runs before heavy imports.

Example:
    >>> import pandas as pd
    >>> load_table(pd.DataFrame({"a": [1, 2], "y": [0, 1]})).frame.shape
    (2, 2)
"""

from __future__ import annotations

from archselect.core.data import SourceFacts
from archselect.load._csv import MAX_COLUMNS, file_sha256
from archselect.load._formats import FORMATS, MAX_INFLATED_BYTES
from archselect.load._main import (
    MAX_ABS_VALUE,
    Table,
    check_named_columns,
    closest_names,
    load_table,
)

__all__ = [
    "FORMATS",
    "MAX_ABS_VALUE",
    "MAX_COLUMNS",
    "MAX_INFLATED_BYTES",
    "SourceFacts",
    "Table",
    "check_named_columns",
    "closest_names",
    "file_sha256",
    "load_table",
]
