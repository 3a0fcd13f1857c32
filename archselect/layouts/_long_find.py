"""Long format found from structure: which column names the sequences, which orders them.

A table in long format holds one row per time step: an id column whose values come in
runs (or groups) of several rows, a label constant within each id, and either a step
column that restarts at each id and increases within it, or rows already in time order
(neighbouring rows of an id more alike than random rows of the same id). Column names
(``ID_NAMES``, ``TIME_NAMES``) only raise the prior: a column named like an id needs less
ordering evidence, never none. Every measured fact and threshold goes to the evidence.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from archselect.errors import DataError, UsageError

__all__ = [
    "ID_NAMES",
    "LONG_THRESHOLDS",
    "TIME_NAMES",
    "LongReading",
    "class_code_label",
    "find_long",
    "looks_like_id_name",
    "order_values",
]

#: Column names that mark a sequence id (long format), besides ``*_id`` / ``id_*``.
ID_NAMES = (
    "id", "series", "sequence", "seq", "subject", "sample", "case", "unit", "group",
    "instance", "instances", "entity", "object", "patient", "participant", "user", "session",
    "device", "sensor", "trajectory", "track", "record", "recording", "trial", "episode",
)  # fmt: skip
#: Column names that mark the order/time column of a long-format table.
TIME_NAMES = (
    "time", "t", "timestamp", "step", "timestep", "time_step", "date", "datetime",
    "order", "position", "pos", "index", "frame", "tick", "seq_no", "step_no",
    "timepoint", "timepoints", "time_index", "time_idx", "ts", "cycle", "epoch", "sequence_no",
    "year", "month", "day", "hour", "minute", "second", "elapsed", "offset",
)  # fmt: skip
#: An id column repeats, on average, at least this many rows per id …
LONG_MIN_MEAN_STEPS = 3
#: … and the label is constant within at least this fraction of ids (the others are errors).
LONG_MIN_CONSTANT_FRACTION = 0.9
#: Found from structure alone (no id name): at least this many ids, and more ids than labels.
LONG_MIN_IDS = 10
#: Rows used to screen every column cheaply before the full test, in this many contiguous
#: blocks spread over the file (so that ids of thousands of rows still repeat in them).
LONG_SCREEN_ROWS = 5000
LONG_SCREEN_BLOCKS = 4
#: Text values parsed first to tell a column of times from other text.
ORDER_PROBE_ROWS = 50
#: Numeric columns screened together, as one (rows x columns) block.
SCREEN_BLOCK = 128
#: At most this many screened id candidates are measured on every row.
LONG_MAX_CANDIDATES = 8
#: A step column restarts at this fraction of id boundaries at least (its value drops), so
#: a row counter that runs through the whole file is not mistaken for one.
LONG_MIN_RESTART_FRACTION = 0.5
#: Rows in time order: the mean squared difference between neighbouring rows of an id, over
#: that between random rows of the same id, is at most this (about 1 when rows are exchangeable).
LONG_MAX_SMOOTH_RATIO = 0.75
#: Readings whose smoothness ratio lies this close to the threshold are reported as ambiguous.
LONG_AMBIGUITY_MARGIN = 0.15
#: Value columns and rows used for the smoothness ratio.
LONG_SMOOTH_COLUMNS = 16
LONG_SMOOTH_ROWS = 20000
#: Confidence of a clear structural reading, of a named one, and of an ambiguous one.
LONG_CONFIDENCE = 0.9
LONG_NAMED_CONFIDENCE = 0.95
LONG_AMBIGUOUS_CONFIDENCE = 0.65
#: A column whose groups equal the label's is a copy of the label, not an id, unless the label
#: has more values than this (one numeric target per sequence).
LONG_MAX_LABEL_VALUES = 50
#: Without a target name, a class-code column constant within every id may replace the last
#: column as the target; searched only in tables of at most this many columns.
LONG_MAX_LABEL_SEARCH_COLUMNS = 64

LONG_THRESHOLDS: dict[str, float] = {
    "long_min_mean_steps": LONG_MIN_MEAN_STEPS,
    "long_min_constant_fraction": LONG_MIN_CONSTANT_FRACTION,
    "long_min_ids": LONG_MIN_IDS,
    "long_screen_rows": LONG_SCREEN_ROWS,
    "long_min_restart_fraction": LONG_MIN_RESTART_FRACTION,
    "long_max_smooth_ratio": LONG_MAX_SMOOTH_RATIO,
    "long_ambiguity_margin": LONG_AMBIGUITY_MARGIN,
    "long_ambiguous_confidence": LONG_AMBIGUOUS_CONFIDENCE,
    "long_max_label_values": LONG_MAX_LABEL_VALUES,
}


@dataclass
class LongReading:
    """The long-format reading chosen (internal; profile turns it into a decision)."""

    id_column: str
    time_column: str | None
    confidence: float
    how: str
    notes: list[str] = field(default_factory=list)


def looks_like_id_name(name: str) -> bool:
    """Whether a column is named like a sequence id (``id``, ``subject``, ``*_id``…)."""
    low = name.lower()
    return (
        low in ID_NAMES
        or low.endswith(("_id", " id", "-id"))
        or low.startswith(("id_", "id "))
        or name.endswith(("Id", "ID"))
    )


def order_values(values: pd.Series) -> pd.Series:
    """A sortable view of a time/order column (datetimes parsed, numbers as numbers)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(values.astype("string"), errors="coerce", format="mixed")
    if parsed.notna().all():
        return parsed
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric
    return values.astype("string")


def label_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- measurements ----------------------------------------------------------------------------


def _id_codes(values: pd.Series) -> np.ndarray | None:
    """Codes 0..K-1 of a column that can name sequences (text or whole numbers), else None."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return None
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if not (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
            return None
    codes = pd.factorize(values, sort=False)[0]
    return None if (codes < 0).any() else codes


def _label_codes(values: pd.Series) -> np.ndarray:
    return pd.factorize(values, sort=False)[0]  # -1 where the label is missing


def _varying_ids(codes: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Ids whose rows carry more than one label, and the number of ids with a label."""
    has = labels >= 0
    pairs = np.unique(codes[has].astype(np.int64) * (int(labels.max()) + 1) + labels[has])
    per_id = np.bincount(pairs // (int(labels.max()) + 1))
    return np.flatnonzero(per_id > 1), int((per_id > 0).sum())


def _screen(frame: pd.DataFrame, columns: list[str], target: str) -> list[str]:
    """Columns that may name sequences, judged on the head rows (cheap, vectorised)."""
    n = len(frame)
    if n > LONG_SCREEN_ROWS:  # contiguous blocks spread over the file: long runs show up
        size = LONG_SCREEN_ROWS // LONG_SCREEN_BLOCKS
        starts = np.linspace(0, n - size, LONG_SCREEN_BLOCKS).astype(np.int64)
        head = frame.take(np.concatenate([np.arange(s, s + size) for s in starts]))
    else:
        head = frame
    labels = _label_codes(head[target])
    if not (labels >= 0).any():
        return []
    dtypes = {str(c): t for c, t in head.dtypes.items()}  # no Series built per column
    numeric = [
        c
        for c in columns
        if pd.api.types.is_numeric_dtype(dtypes[c]) and not pd.api.types.is_bool_dtype(dtypes[c])
    ]
    other = [c for c in columns if c not in set(numeric)]
    ok = set(_screen_numeric(head, numeric, labels)) | set(other)
    found = []
    for col in [c for c in columns if c in ok]:
        codes = _id_codes(head[col])
        if codes is None:
            continue
        n_ids = int(codes.max()) + 1
        if not 1 < n_ids <= len(head) / 2:  # ids repeat (runs may be cut by the head)
            continue
        varying, with_label = _varying_ids(codes, labels)
        if len(varying) > (1 - LONG_MIN_CONSTANT_FRACTION) * with_label:
            continue
        found.append(col)
    return found


def _screen_numeric(head: pd.DataFrame, columns: list[str], labels: np.ndarray) -> list[str]:
    """Numeric columns, a block at a time: whole numbers, not constant, and the label does
    not change between neighbouring rows of equal value more often than ids may break it."""
    out: list[str] = []
    change = labels[1:] != labels[:-1]
    for start in range(0, len(columns), SCREEN_BLOCK):
        block = columns[start : start + SCREEN_BLOCK]
        x = head[block].to_numpy(dtype=np.float64, na_value=np.nan)
        whole = np.all(np.isfinite(x) & (x == np.round(x)), axis=0)
        varies = np.nanmax(x, axis=0, initial=-np.inf) > np.nanmin(x, axis=0, initial=np.inf)
        breaks = ((x[1:] == x[:-1]) & change[:, None]).sum(axis=0)
        # a break is a label change inside a run: at most one per id that may vary
        limit = (1 - LONG_MIN_CONSTANT_FRACTION) * len(x) / LONG_MIN_MEAN_STEPS
        keep = whole & varies & (breaks <= limit)
        out.extend(c for c, k in zip(block, keep, strict=True) if k)
    return out


def _as_order(values: pd.Series) -> np.ndarray | None:
    """A column as float order keys (numbers, or parseable times), None if neither."""
    if pd.api.types.is_bool_dtype(values):
        return None
    if not pd.api.types.is_numeric_dtype(values):
        head = order_values(values.head(ORDER_PROBE_ROWS))  # free text is not parsed in full
        if not pd.api.types.is_datetime64_any_dtype(head):
            return None
        values = order_values(values)
        if not (
            pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)
        ):
            return None
    if pd.api.types.is_datetime64_any_dtype(values):
        arr = values.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        return None if values.isna().any() else arr
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    return arr if np.all(np.isfinite(arr)) else None


def _step_facts(
    order: np.ndarray, codes: np.ndarray, rows: np.ndarray, named: bool
) -> dict[str, float]:
    """Does a column increase within every id (file order), restart at each new id, and
    (sorted) hold distinct values within every id?"""
    o = order[rows]
    c = codes[rows]
    same = c[1:] == c[:-1]
    rising = o[1:] > o[:-1]
    n_ids = int(c.max()) + 1
    bad_ids = np.unique(c[1:][same & ~rising])
    boundary = ~same
    restarts = float(np.mean(~rising[boundary])) if boundary.any() else 0.0
    facts = {
        "increasing_fraction": 1.0 - len(bad_ids) / max(1, n_ids),
        "restart_fraction": restarts,
    }
    if named and len(bad_ids):  # a named time column may be out of file order: sorted, distinct?
        by_value = np.lexsort((o, c))
        cs, os_ = c[by_value], o[by_value]
        dup = (cs[1:] == cs[:-1]) & (os_[1:] == os_[:-1])
        facts["distinct_fraction"] = 1.0 - len(np.unique(cs[1:][dup])) / max(1, n_ids)
    else:
        facts["distinct_fraction"] = facts["increasing_fraction"]
    return facts


def _smooth_ratio(
    frame: pd.DataFrame, values: list[str], codes: np.ndarray, rows: np.ndarray, seed: int
) -> float | None:
    """Neighbouring rows of an id vs random rows of the same id: mean squared difference ratio
    (median over value columns); rows ``rows`` are in id-major, time order."""
    cols = values[:LONG_SMOOTH_COLUMNS]
    if not cols:
        return None
    rng = np.random.default_rng(seed)
    c = codes[rows]
    starts = np.r_[0, np.flatnonzero(c[1:] != c[:-1]) + 1]
    lengths = np.diff(np.r_[starts, len(c)])
    if len(rows) > LONG_SMOOTH_ROWS:  # whole ids, drawn at random, up to the row budget
        pick = rng.permutation(len(starts))
        keep = pick[np.cumsum(lengths[pick]) <= LONG_SMOOTH_ROWS]
        keep = np.sort(keep if len(keep) else pick[:1])
        rows = np.concatenate([rows[starts[k] : starts[k] + lengths[k]] for k in keep])
        c = codes[rows]
        starts = np.r_[0, np.flatnonzero(c[1:] != c[:-1]) + 1]
        lengths = np.diff(np.r_[starts, len(c)])
    size = np.repeat(lengths, lengths)
    pos = np.arange(len(c)) - np.repeat(starts, lengths)
    ok = size > 2  # a random partner other than the neighbour exists
    shift = 1 + (rng.random(len(c)) * np.maximum(size - 1, 1)).astype(np.int64)
    partner = np.repeat(starts, lengths) + (pos + shift) % np.maximum(size, 1)
    neighbour = np.r_[c[1:] == c[:-1], False] & ok
    ratios = []
    for col in cols:
        x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=np.float64)[rows]
        d1 = (x[1:] - x[:-1])[neighbour[:-1]]
        dr = (x[partner] - x)[ok]
        d1, dr = d1[np.isfinite(d1)], dr[np.isfinite(dr)]
        if len(d1) and len(dr) and float(np.mean(dr**2)) > 0:
            ratios.append(float(np.mean(d1**2) / np.mean(dr**2)))
    return float(np.median(ratios)) if ratios else None


def _measure(
    frame: pd.DataFrame,
    col: str,
    target: str,
    time_col: str | None,
    seed: int,
) -> dict[str, Any]:
    """Every fact about one id candidate, on every row."""
    n = len(frame)
    codes = _id_codes(frame[col])
    if codes is None:  # a given id column of other values: its groups all the same
        codes = pd.factorize(frame[col].astype("string"), sort=False)[0]
    labels = _label_codes(frame[target])
    counts = np.bincount(codes)
    n_ids = len(counts)
    n_runs = 1 + int(np.count_nonzero(codes[1:] != codes[:-1]))
    varying, with_label = _varying_ids(codes, labels)
    facts: dict[str, Any] = {
        "column": col,
        "named": looks_like_id_name(col),
        "n_ids": n_ids,
        "n_runs": n_runs,
        "contiguous": n_runs == n_ids,
        "rows_per_id_min": int(counts.min()),
        "rows_per_id_median": float(np.median(counts)),
        "rows_per_id_mean": n / max(1, n_ids),
        "label_constant_fraction": 1.0 - len(varying) / max(1, with_label),
        "n_labels": int(labels.max()) + 1,
        "label_is_code": _id_codes(frame[target].dropna()) is not None,
    }
    rows = np.argsort(codes, kind="stable")  # id-major, file order within each id
    others = [str(c) for c in frame.columns if str(c) not in (col, target)]
    steps: dict[str, Any] = {}
    chosen = None
    given = [time_col] if time_col is not None else []
    named = [c for c in others if c.lower() in TIME_NAMES and c not in given]
    rest = [c for c in others if c not in given and c not in named]
    for other in given + named + rest:
        order = _as_order(frame[other])
        if order is None:
            continue
        named_step = other.lower() in TIME_NAMES or other == time_col
        step = _step_facts(order, codes, rows, named_step)
        passes = step["increasing_fraction"] == 1.0 and (
            step["restart_fraction"] >= LONG_MIN_RESTART_FRACTION
        )
        steps[other] = {**step, "named": named_step, "passes": passes}
        if passes or other == time_col:
            chosen = other
            break
    if chosen is None:  # a time column named so, its rows not in time order
        chosen = next(
            (c for c, s in steps.items() if s["named"] and s["distinct_fraction"] == 1.0), None
        )
    facts["step_columns"] = steps
    facts["step_column"] = chosen
    if chosen is not None and steps[chosen]["increasing_fraction"] < 1.0:
        # a given or named time column out of file order: sort by it within each id
        key = order_values(frame[chosen])
        rank = pd.Series(key.to_numpy()).rank(method="first").to_numpy()
        rows = np.lexsort((np.arange(n), rank, codes))
    values = [c for c in others if c != chosen and pd.api.types.is_numeric_dtype(frame[c])]
    facts["smooth_ratio"] = _smooth_ratio(frame, values, codes, rows, seed)
    facts["value_columns"] = len(values)
    return facts


# --- decision ---------------------------------------------------------------------------------


def _judge(facts: dict[str, Any], named_pair: bool) -> None:
    """Mark a measured candidate: ``passes`` (long format), ``close`` (ambiguous)."""
    ratio = facts["smooth_ratio"]
    ordered_rows = ratio is not None and ratio <= LONG_MAX_SMOOTH_RATIO
    near = ratio is not None and abs(ratio - LONG_MAX_SMOOTH_RATIO) <= LONG_AMBIGUITY_MARGIN
    step = (
        facts["step_column"] is not None and facts["step_columns"][facts["step_column"]]["passes"]
    )
    enough = (
        facts["rows_per_id_mean"] >= LONG_MIN_MEAN_STEPS
        and (
            facts["n_ids"] > facts["n_labels"]
            or facts["n_labels"] > LONG_MAX_LABEL_VALUES
            or not facts["label_is_code"]  # a measured value per sequence, not a class copy
        )
        and facts["value_columns"] > 0
        and (facts["named"] or facts["n_ids"] >= LONG_MIN_IDS)
    )
    facts["enough"] = bool(enough)
    grouped = facts["contiguous"] or step
    order_ok = step or (facts["contiguous"] and ordered_rows)
    if facts["named"] and facts["contiguous"] and ratio is not None:
        order_ok = order_ok or ratio <= LONG_MAX_SMOOTH_RATIO + LONG_AMBIGUITY_MARGIN
    structure = bool(enough and grouped and order_ok)
    facts["ordered_by"] = (
        "step column" if step else "file order (rows smooth in time)" if order_ok else None
    )
    facts["passes"] = bool(structure or (enough and named_pair))
    facts["label_constant"] = facts["label_constant_fraction"] == 1.0
    # close: a second reading (rows as exchangeable samples, or a sequence) is near
    facts["close"] = bool(
        enough
        and grouped
        and (near or (step and not ordered_rows) or (named_pair and not structure))
    )
    facts["strong"] = bool(structure and step)


def _rank(facts: dict[str, Any]) -> tuple[int, ...]:
    return (
        int(facts["passes"]),
        int(facts["strong"]),
        int(facts["named"]),
        int(not facts["close"]),
        int(facts["contiguous"]),
    )


def _label_error(frame: pd.DataFrame, col: str, target: str) -> DataError:
    labels = frame[[col, target]].dropna()
    per_id = labels.groupby(col, sort=False)[target].nunique()
    bad = per_id[per_id > 1].index[0]
    values = labels.loc[labels[col] == bad, target].unique()[:3]
    return DataError(
        f"The label changes within id {label_str(bad)!r} of column {col!r} "
        f"({', '.join(map(label_str, values))}); long format needs one label per id, "
        "so fix that id's rows."
    )


def _measured_candidates(
    frame: pd.DataFrame, target: str, id_col: str | None, time_col: str | None, seed: int,
    long_ev: dict[str, Any],
) -> list[dict[str, Any]]:  # fmt: skip
    """The facts of every column that could name the sequences (the given one, else the
    screened ones, those named like an id first), each judged."""
    others = [str(c) for c in frame.columns if str(c) not in (target, time_col)]
    if id_col is not None:
        columns = [id_col]
    else:
        screened = _screen(frame, others, target)
        screened.sort(key=lambda c: not looks_like_id_name(c))  # named ones are measured first
        columns = screened[:LONG_MAX_CANDIDATES]
    long_ev["screened"] = columns
    if id_col is not None and frame[id_col].isna().any():
        row = int(np.flatnonzero(frame[id_col].isna().to_numpy())[0]) + 1
        raise DataError(f"Id column {id_col!r} is empty in data row {row}; fill in every id.")
    measured = []
    for col in columns:
        facts = _measure(frame, col, target, time_col, seed)
        named_time = time_col is not None or any(
            c.lower() in TIME_NAMES for c in others if c != col
        )
        _judge(facts, named_pair=facts["named"] and named_time)
        measured.append(facts)
    if measured:
        long_ev["candidates"] = measured
    return measured


def _check_labels(frame: pd.DataFrame, best: dict[str, Any], target: str, given: bool) -> None:
    """A label that changes within an id is an error where the id column is given (or long
    format forced) or certain; elsewhere the reading fails."""
    if best["label_constant"]:
        return
    certain = given or best["named"] or best["strong"]
    sure = best["passes"] and best["label_constant_fraction"] >= LONG_MIN_CONSTANT_FRACTION
    if given or (certain and sure):
        raise _label_error(frame, best["column"], target)
    best["passes"] = False


def _confidence(
    best: dict[str, Any], measured: list[dict[str, Any]], given: bool
) -> tuple[float, list[str]]:
    """The reading's confidence, and notes when it is ambiguous (a weak smoothness signal,
    or rival columns that would cut the rows into other sequences)."""
    notes: list[str] = []
    confidence = LONG_NAMED_CONFIDENCE if best["named"] and best["strong"] else LONG_CONFIDENCE
    if given:
        return 1.0, notes
    if best["close"]:
        confidence = LONG_AMBIGUOUS_CONFIDENCE
        notes.append(_long_note(best))
    rivals = [
        f
        for f in measured[1:]
        if f["passes"] and f["label_constant"] and f["n_ids"] != best["n_ids"]
    ]
    if rivals:
        confidence = min(confidence, LONG_AMBIGUOUS_CONFIDENCE)
        names = ", ".join(f"--id-col {f['column']} ({f['n_ids']} sequences)" for f in rivals)
        notes.append(
            f"several columns could name the sequences; {best['column']!r} "
            f"({best['n_ids']} sequences) was chosen: pass {names} to read the data another way"
        )
    return confidence, notes


def find_long(
    frame: pd.DataFrame,
    target: str,
    id_col: str | None,
    time_col: str | None,
    forced: bool,
    evidence: dict[str, Any],
    seed: int = 0,
) -> LongReading | None:
    """The long-format reading of ``frame``, or None; facts go to ``evidence["long"]``.

    Raises:
        DataError: The label changes within an id of a column that is given, named like an
            id, or structurally certain (step column) to name sequences.
        UsageError: Long format is forced and no column can name the sequences.
    """
    long_ev: dict[str, Any] = {}
    evidence["long"] = long_ev
    measured = _measured_candidates(frame, target, id_col, time_col, seed, long_ev)
    if not measured:
        if forced:
            raise UsageError(
                "Long format needs an id column naming each sequence, and no column repeats "
                "in runs with one label each; give it with --id-col."
            )
        return None
    measured.sort(key=_rank, reverse=True)
    best = measured[0]
    given = id_col is not None or forced
    _check_labels(frame, best, target, given)
    if not best["passes"] and not given:
        if best["enough"] and best["label_constant"] and (best["close"] or best["contiguous"]):
            long_ev["ambiguity"] = _table_note(best)
            long_ev["ambiguous"] = True
        return None
    col = best["column"]
    time_used = time_col if time_col is not None else best["step_column"]
    long_ev.update(id_column=col, time_column=time_used, chosen=col)
    confidence, notes = _confidence(best, measured, given)
    long_ev["ambiguous"] = bool(notes)
    return LongReading(col, time_used, confidence, "given" if given else "detected", notes)


def _ratio_text(facts: dict[str, Any]) -> str:
    ratio = facts["smooth_ratio"]
    return "n/a" if ratio is None else f"{ratio:.2f}"


def _long_note(facts: dict[str, Any]) -> str:
    return (
        f"ambiguous: read as long format, one sequence per value of {facts['column']!r} "
        f"({facts['n_ids']} runs, one label each), but neighbouring rows of a sequence are "
        f"barely more alike than random ones (ratio {_ratio_text(facts)}, threshold "
        f"{LONG_MAX_SMOOTH_RATIO}); if every row is its own sample, pass --layout table"
    )


def _table_note(facts: dict[str, Any]) -> str:
    return (
        f"ambiguous: column {facts['column']!r} repeats in {facts['n_runs']} runs of "
        f"{facts['rows_per_id_min']}+ rows with one label each, as a sequence id would, but no "
        f"column restarts and increases within it and neighbouring rows are not clearly more "
        f"alike than random ones (ratio {_ratio_text(facts)}, threshold "
        f"{LONG_MAX_SMOOTH_RATIO}): read as a table; if each value is one sequence, pass "
        f"--id-col {facts['column']} (and --time-col for its order)"
    )


def class_code_label(frame: pd.DataFrame, current: str, seed: int = 0) -> str | None:
    """Without a named target: a whole-number or text column with few values that is
    constant within every id of a clear long-format reading, when the last column (``current``,
    the fallback target) gives none: a class code, not a value channel.

    Returns None when no such column exists or the table is too wide to search.
    """
    if len(frame.columns) > LONG_MAX_LABEL_SEARCH_COLUMNS:
        return None
    tried = 0
    for col in [str(c) for c in frame.columns if str(c) != current]:
        values = frame[col]
        if _id_codes(values) is None or not 2 <= values.nunique() <= LONG_MAX_LABEL_VALUES:
            continue
        tried += 1
        if tried > LONG_MAX_CANDIDATES:
            break
        try:
            reading = find_long(frame, col, None, None, False, {}, seed)
        except (DataError, UsageError):
            continue
        if reading is not None and reading.confidence >= LONG_CONFIDENCE:
            return col
    return None
