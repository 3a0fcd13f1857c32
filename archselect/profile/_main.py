"""``profile_table``: the user's overrides, the detectors in order, and the Profile."""

from __future__ import annotations

from typing import Any

import pandas as pd

from archselect import _forecast, _longformat
from archselect._errors import DataError, UsageError
from archselect.core.data import Profile
from archselect.load import Table, load_table
from archselect.profile._constants import (
    LAYOUT_MODALITY,
    LAYOUTS,
    MIN_NAMED_SERIES_COLUMNS,
    MIN_ROWS,
    MIN_WIDE_COLUMNS,
    MODALITIES,
    N_COLOUR_CHANNELS,
    THRESHOLDS,
    _Decision,
    _SequenceOptions,
)
from archselect.profile._evidence import (
    _colour_name_order,
    _image_sides,
    _name_evidence,
    _prefix_groups,
)
from archselect.profile._forecasting import _panel_forecast
from archselect.profile._free_text import _special_layouts
from archselect.profile._images import _detect_image_paths, _image_path_columns, parse_shape
from archselect.profile._long import _detect_long
from archselect.profile._table import _check_missing, _check_numeric_text, _decide_table, _id_like
from archselect.profile._target import _check_column, _choose_target, _choose_task, _class_labels
from archselect.profile._wide import _decide_wide

# --- main entry ----------------------------------------------------------------------------


def _forced_image(
    frame: pd.DataFrame, numeric: list[str], other: list[str], shape: str | None, seed: int,
    evidence: dict[str, Any],
) -> _Decision:  # fmt: skip
    if other:
        raise DataError(
            f"Image pixels must be numeric, but column {other[0]!r} is not; "
            "remove non-pixel columns or fix their values."
        )
    detected = _decide_wide(frame, numeric, seed, evidence) if len(numeric) > 1 else None
    if shape is not None:
        c, h, w = parse_shape(shape, len(numeric))
    elif detected is not None and detected.layout == "image":
        c, h, w = detected.input_shape
    else:
        sides = _image_sides(len(numeric))
        if not sides:
            raise UsageError(
                f"{len(numeric)} pixel columns do not factorise into an image; "
                "give the shape with --shape HxWxC."
            )
        c, (h, w) = 1, sides[0]
    columns = list(numeric)
    if detected is not None and detected.input_shape == (c, h, w):
        columns = detected.feature_columns  # channel order as detected
    elif c == N_COLOUR_CHANNELS:
        named = _colour_name_order(numeric)
        planar = (named is not None and named[0] == "planar") or evidence.get(
            "channel_order"
        ) == "planar"
        if named is not None:
            columns = [ch[p] for p in range(h * w) for ch in named[1]]
        elif planar:
            columns = [numeric[k * h * w + p] for p in range(h * w) for k in range(c)]
    return _Decision(
        "spatial", "image", "wide_pixels", (c, h, w), 1.0, "image layout given by the user",
        columns,
    )  # fmt: skip


def _forced_series(
    frame: pd.DataFrame, numeric: list[str], other: list[str], seed: int,
    evidence: dict[str, Any],
) -> _Decision:  # fmt: skip
    if other:
        raise DataError(
            f"A wide sequence needs numeric columns, but {other[0]!r} is not; "
            "remove it or fix its values."
        )
    groups = _prefix_groups(numeric)
    if groups is not None:
        t, c = len(groups[0][1]), len(groups)
        return _Decision(
            "sequential", "series", "wide_groups", (t, c), 1.0,
            f"sequential layout given by the user: {c} series of {t} steps",
            [col for _, g in groups for col in g],
        )  # fmt: skip
    return _Decision(
        "sequential", "series", "wide_series", (len(numeric), 1), 1.0,
        "sequential layout given by the user", list(numeric),
    )  # fmt: skip


def _long_label(
    frame: pd.DataFrame,
    target_col: str,
    target_rule: str,
    seed: int,
    *,
    layout: str | None,
    modality: str | None,
    shape: Any,
    given: tuple[str, ...],
) -> tuple[str, str]:
    """The target when none is named: the last column, unless the table reads as long format
    only with a class-code column (constant within every id) as the label."""
    if given or shape is not None or layout not in (None, "series_padded"):
        return target_col, target_rule
    if modality not in (None, "sequential"):
        return target_col, target_rule
    try:
        if _longformat.find_long(frame, target_col, None, None, False, {}, seed) is not None:
            return target_col, target_rule
    except DataError:
        return target_col, target_rule  # the long-format decision reports it
    label = _longformat.class_code_label(frame, target_col, seed)
    if label is None:
        return target_col, target_rule
    return label, (
        f"column {label!r}: constant within every sequence of a long-format table (a class "
        f"code), while the last column {target_col!r} varies within them"
    )


def profile_table(
    table: Table,
    *,
    target: str | None = None,
    task: str | None = None,
    modality: str | None = None,
    shape: str | tuple[int, ...] | None = None,
    layout: str | None = None,
    id_col: str | None = None,
    time_col: str | None = None,
    seed: int = 0,
    tokenizer: str | None = None,
    horizon: int | None = None,
    window: int | None = None,
) -> Profile:
    """Decide modality, layout, task and target of a loaded table, with evidence.

    Args:
        table: The loaded data.
        target: Target column; detected when omitted.
        task: ``classification`` or ``regression``; detected when omitted.
        modality: Force ``spatial``, ``sequential`` or ``tabular``.
        shape: Image shape ``HxW`` or ``HxWxC`` (implies spatial).
        layout: Force a layout (``image``, ``series``, ``series_padded``, ``table``).
        id_col: Long format: the column naming each sequence (implies ``series_padded``).
        time_col: Long format: the column ordering the steps within a sequence.
        seed: Seed for the row and column-pair samples.
        tokenizer: ``word`` or ``char`` for a text column (chosen from the texts when omitted).
        horizon: Forecast horizon in time steps (chosen from the frequency when omitted).
        window: Forecast input window in time steps (chosen when omitted).

    Returns:
        The :class:`Profile`.

    Example:
        >>> import numpy as np, pandas as pd
        >>> t = np.linspace(0, 6, 64)
        >>> rows = [np.sin(t + p) for p in np.linspace(0, 3, 40)]
        >>> frame = pd.DataFrame(rows, columns=[f"t{i}" for i in range(64)])
        >>> frame["label"] = [0, 1] * 20
        >>> profile_table(load_table(frame)).modality
        'sequential'
    """
    if modality is not None and modality not in MODALITIES:
        raise UsageError(f"Unknown modality {modality!r}; choose one of {', '.join(MODALITIES)}.")
    if layout is not None and layout not in LAYOUTS:
        raise UsageError(f"Unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}.")
    if layout is not None and modality is not None and LAYOUT_MODALITY[layout] != modality:
        raise UsageError(
            f"--layout {layout} is {LAYOUT_MODALITY[layout]}, not {modality}; "
            "drop one of --layout and --modality."
        )
    if (id_col or time_col) and layout not in (None, "series_padded", "forecast"):
        raise UsageError(
            f"--id-col/--time-col describe long format (layout series_padded or forecast), "
            f"not {layout}; drop one of them."
        )
    if shape is not None and layout not in (None, "image"):
        raise UsageError(f"--shape describes an image, not layout {layout}; drop one of them.")
    frame = table.frame
    for col, option in ((id_col, "--id-col"), (time_col, "--time-col")):
        if col is not None:
            _check_column(frame, col, option)
    exclude = tuple(c for c in (id_col, time_col) if c)
    target_col, target_rule = _choose_target(frame, target, exclude)
    if target_col in exclude:
        raise UsageError(
            f"Column {target_col!r} cannot be both the target and the id/time column; "
            "choose another --target."
        )
    if target is None and target_rule.startswith("last column"):
        target_col, target_rule = _long_label(
            frame, target_col, target_rule, seed,
            layout=layout, modality=modality, shape=shape, given=exclude,
        )  # fmt: skip
    y = frame[target_col]
    n_missing = int(y.isna().sum())
    notes: list[str] = list(table.facts.notes)
    if n_missing == len(y):
        raise DataError(f"Target column {target_col!r} is empty in every row; choose another.")
    if len(y) - n_missing < 2:
        raise DataError(
            f"The data has {len(y) - n_missing} row with a target; archselect needs at least "
            f"{MIN_ROWS} (better a few dozen) to split into training, validation and test rows."
        )
    if len(frame.columns) < 2:
        raise DataError("The data has no feature columns besides the target; add features.")

    features = frame.drop(columns=[target_col])
    if n_missing:
        features = features[frame[target_col].notna()]
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    other = [c for c in features.columns if c not in numeric]
    _check_numeric_text(features, other)
    evidence: dict[str, Any] = {
        "thresholds": dict(THRESHOLDS),
        "target_rule": target_rule,
        "n_numeric": len(numeric),
        "n_non_numeric": len(other),
        "names": _name_evidence([str(c) for c in features.columns]),
    }
    want = layout or (
        "image" if shape is not None else {"spatial": "image", "tabular": "table"}.get(
            modality or ""
        )
    )  # fmt: skip
    result: _Decision | None = None
    if want in (None, "forecast") and task != "classification" and modality != "spatial":
        options = _SequenceOptions(
            str(target_col), task, want, tuple(map(str, numeric)), tokenizer, horizon, window
        )
        result = _panel_forecast(frame, id_col, time_col, options, evidence)
    if result is None and want in (None, "series_padded"):
        forced = bool(id_col or time_col or want == "series_padded")
        result = _detect_long(frame, target_col, id_col, time_col, forced, evidence, seed)
    dropped_ids: list[str] = []
    if result is None:
        # identifiers (unique increasing integers, unique short codes) never feed a model
        paths = _image_path_columns(features, other)
        for col in list(features.columns):
            if col not in paths and _id_like(features, col):
                dropped_ids.append(col)
                notes.append(f"column {col!r} dropped: a row identifier (unique values)")
        numeric = [c for c in numeric if c not in dropped_ids]
        other = [c for c in other if c not in dropped_ids]
        dated = _forecast.find_time_column(frame, exclude=str(target_col))[0] is not None
        if not numeric and not other and not dated:  # a lone time column may be a forecast
            raise DataError(
                "Every feature column is a row identifier; add informative feature columns."
            )
    if result is None and want in (None, "text", "forecast") and modality != "spatial":
        options = _SequenceOptions(
            str(target_col), task, want, tuple(map(str, numeric)), tokenizer, horizon, window
        )
        result = _special_layouts(frame, features, other, evidence, options)
        if result is None and want == "text":
            raise UsageError("--layout text needs a free-text column, and the data has none.")
        if result is None and want == "forecast":
            raise UsageError(
                "--layout forecast needs a date/time column and a numeric target; the data "
                "has no column of dates."
            )
    if result is not None and result.layout == "forecast":
        # the time column is not an identifier here, and gaps in the target are filled
        notes = [n for n in notes if not n.startswith(f"column {result.time_column!r}")]
        dropped_ids = [c for c in dropped_ids if c != result.time_column]
        task = task or "regression"
        n_missing = 0
    if result is None and want in (None, "image"):
        paths = _image_path_columns(features, other)
        if paths:
            result = _detect_image_paths(
                frame, paths, shape if isinstance(shape, str) or shape is None else None,
                evidence,
            )  # fmt: skip
            extra = [c for c in numeric + other if c != paths[0]]
            result.dropped += extra
            result.notes += [f"column {c!r} dropped: not used with image files" for c in extra]
    if result is None and want == "image":
        shape_text = "x".join(map(str, shape)) if isinstance(shape, tuple) else shape
        result = _forced_image(features, numeric, other, shape_text, seed, evidence)
    if result is None and want == "series":
        result = _forced_series(features, numeric, other, seed, evidence)
    if result is None and want != "table" and not other:
        named = evidence["names"].get("ordered", False) and (
            evidence["names"].get("numbered") or evidence["names"].get("dated")
        )
        if len(numeric) >= (MIN_NAMED_SERIES_COLUMNS if named else MIN_WIDE_COLUMNS):
            result = _decide_wide(features, numeric, seed, evidence)
            if modality == "sequential" and result.modality != "sequential":
                result = _forced_series(features, numeric, other, seed, evidence)
    if result is None and modality == "sequential":
        result = _forced_series(features, numeric, other, seed, evidence)
    ambiguity = evidence.get("long", {}).get("ambiguity")
    if ambiguity and (result is None or result.modality == "tabular") and want is None:
        notes.append(ambiguity)
    if result is None or result.modality == "tabular":
        if result is not None:
            reason, conf = result.decision, result.confidence
        elif want == "table":
            reason, conf = "tabular layout given by the user", 1.0
        else:
            reason = (
                "too few numeric columns for an image or a sequence"
                if not other
                else "mixed numeric and non-numeric columns"
            )
            conf = 0.9 if len(numeric) < MIN_WIDE_COLUMNS else 1.0
        result = _decide_table(features, numeric, other, reason, conf)
        if ambiguity and evidence["long"].get("ambiguous") and want is None:
            result.confidence = min(result.confidence, _longformat.LONG_AMBIGUOUS_CONFIDENCE)

    # target rows (samples): one per row, or one per id in long format
    if result.form == "long":
        assert result.id_column is not None
        y = (
            frame[[result.id_column, target_col]]
            .dropna()
            .drop_duplicates(result.id_column)[target_col]
        )
        n_missing_ids = int(frame[result.id_column].nunique()) - len(y)
        if n_missing_ids:
            notes.append(f"{n_missing_ids} ids without a target are left out")
    elif n_missing:
        notes.append(f"{n_missing} rows without a target are left out")
        y = y.dropna()
    if len(y) < 2:
        raise DataError(
            f"The data has {len(y)} sample with a target; archselect needs at least "
            f"{MIN_ROWS} (better a few dozen) to split into training, validation and test."
        )
    task_name, task_rule = _choose_task(y, task)
    evidence["task_rule"] = task_rule
    classes: tuple[str, ...] = ()
    if task_name == "classification":
        classes = _class_labels(y)
        if len(classes) < 2:
            raise DataError(
                f"Target column {target_col!r} has one class only ({classes[0]!r}); "
                "classification needs at least two."
            )
    elif not pd.api.types.is_numeric_dtype(y):
        raise DataError(f"Regression needs a numeric target, but {target_col!r} holds text.")
    used = set(result.feature_columns)
    _check_missing(features, [c for c in numeric if str(c) in used], len(features), notes)
    return Profile(
        modality=result.modality,
        layout=result.layout,
        task=task_name,
        target=str(target_col),
        target_rule=target_rule,
        feature_columns=tuple(str(c) for c in result.feature_columns),
        categorical_columns=tuple(str(c) for c in result.categorical),
        input_shape=tuple(int(d) for d in result.input_shape),
        classes=classes,
        n_rows=len(y),
        confidence=round(float(result.confidence), 3),
        decision=result.decision,
        evidence=evidence,
        notes=tuple(notes + result.notes),
        dropped_columns=tuple(str(c) for c in dropped_ids + result.dropped),
        source=table.facts,
        form=result.form,
        id_column=result.id_column,
        time_column=result.time_column,
    )


def profile_frame(frame: pd.DataFrame, **options: Any) -> Profile:
    """Profile a DataFrame in memory; ``options`` as for :func:`profile_table`.

    Example:
        >>> import pandas as pd
        >>> profile_frame(pd.DataFrame({"a": [1.0, 2.5, 3.1, 4.2], "y": [0, 1, 0, 1]})).task
        'classification'
    """
    return profile_table(load_table(frame), **options)
