"""``profile_table``: the user's overrides, the target, the layouts' detectors in their
declared order (:data:`archselect.layouts.DETECTION_ORDER`), and the Profile."""

from __future__ import annotations

from typing import Any

import pandas as pd

from archselect import layouts
from archselect.core.data import Profile
from archselect.core.kinds import Task
from archselect.errors import DataError, UsageError
from archselect.layouts import Decision, DetectContext, name_evidence
from archselect.layouts import long as long_layout
from archselect.layouts.constants import MIN_ROWS, MODALITIES, THRESHOLDS
from archselect.layouts.table import check_missing, check_numeric_text
from archselect.load import Table, load_table
from archselect.profile._target import (
    _check_column,
    _choose_target,
    _choose_task,
    _class_labels,
    _regression_hint,
)


def _only_layout(known: dict[str, layouts.LayoutPlugin], modality: str | None) -> str | None:
    """The layout a forced ``--modality`` asks for: its one layout (sequential data has
    several: detected)."""
    names = [name for name, plugin in known.items() if plugin.modality == modality]
    return names[0] if len(names) == 1 else None


def _shape_layout(known: dict[str, layouts.LayoutPlugin]) -> str | None:
    """The layout ``--shape`` describes (the image)."""
    return next((name for name, plugin in known.items() if "--shape" in plugin.options), None)


def _check_options(
    known: dict[str, layouts.LayoutPlugin],
    *,
    modality: str | None,
    shape: str | tuple[int, ...] | None,
    layout: str | None,
    id_col: str | None,
    time_col: str | None,
) -> None:
    """Refuse overrides that name nothing known or contradict one another."""
    if modality is not None and modality not in MODALITIES:
        raise UsageError(f"Unknown modality {modality!r}; choose one of {', '.join(MODALITIES)}.")
    if layout is not None and layout not in known:
        raise UsageError(f"Unknown layout {layout!r}; choose one of {', '.join(known)}.")
    if layout is not None and modality is not None and known[layout].modality != modality:
        raise UsageError(
            f"--layout {layout} is {known[layout].modality}, not {modality}; "
            "drop one of --layout and --modality."
        )
    with_ids = [name for name, plugin in known.items() if "--id-col" in plugin.options]
    if (id_col or time_col) and layout is not None and layout not in with_ids:
        raise UsageError(
            f"--id-col/--time-col describe long format (layout {' or '.join(with_ids)}), "
            f"not {layout}; drop one of them."
        )
    if shape is not None and layout is not None and "--shape" not in known[layout].options:
        raise UsageError(f"--shape describes an image, not layout {layout}; drop one of them.")


def _target_column(
    frame: pd.DataFrame, target: str | None, given: tuple[str, ...], seed: int, **forced: Any
) -> tuple[str, str]:
    """The target column and the rule that chose it (never an id or time column); a last
    column may turn out to be long format's per-id label (``forced``: the user's layout,
    modality and shape)."""
    target_col, target_rule = _choose_target(frame, target, given)
    if target_col in given:
        raise UsageError(
            f"Column {target_col!r} cannot be both the target and the id/time column; "
            "choose another --target."
        )
    if target is None and target_rule.startswith("last column"):
        target_col, target_rule = long_layout.unnamed_label(
            frame, target_col, target_rule, seed, given=given, **forced
        )
    return target_col, target_rule


def _check_target_rows(frame: pd.DataFrame, target_col: str, *, lone_series: bool) -> int:
    """Refuse a target empty everywhere, or a table with no features (unless ``lone_series``:
    one numeric column that may be a series to forecast); the rows missing it."""
    y = frame[target_col]
    n_missing = int(y.isna().sum())
    if n_missing == len(y):
        raise DataError(f"Target column {target_col!r} is empty in every row; choose another.")
    if len(y) - n_missing < 2:
        raise DataError(
            f"The data has {len(y) - n_missing} row with a target; archselect needs at least "
            f"{MIN_ROWS} (better a few dozen) to split into training, validation and test rows."
        )
    if len(frame.columns) < 2 and not (lone_series and pd.api.types.is_numeric_dtype(y)):
        raise DataError("The data has no feature columns besides the target; add features.")
    return n_missing


def _samples(
    frame: pd.DataFrame, target_col: str, result: Decision, grouped: bool, n_missing: int,
    notes: list[str],
) -> pd.Series:  # fmt: skip
    """The targets of the samples: one per row, or one per id in long format (with notes on
    the rows or ids left out)."""
    y = frame[target_col]
    if grouped:
        assert result.id_column is not None
        per_id = frame[[result.id_column, target_col]].dropna()
        y = per_id.drop_duplicates(result.id_column)[target_col]
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
    return y


def _task_and_classes(
    y: pd.Series, target_col: str, task: str | None, evidence: dict[str, Any], notes: list[str]
) -> tuple[str, tuple[str, ...]]:
    """The task (with its rule in the evidence) and, for classification, the classes."""
    task_name, task_rule = _choose_task(y, task)
    evidence["task_rule"] = task_rule
    hint = _regression_hint(y, target_col, task_name, task)
    if hint:
        notes.append(hint)
    classes: tuple[str, ...] = ()
    if task_name == Task.CLASSIFICATION:
        classes = _class_labels(y)
        if len(classes) < 2:
            raise DataError(
                f"Target column {target_col!r} has one class only ({classes[0]!r}); "
                "classification needs at least two."
            )
    elif not pd.api.types.is_numeric_dtype(y):
        raise DataError(f"Regression needs a numeric target, but {target_col!r} holds text.")
    return str(task_name), classes


def _context(
    table: Table, target_col: str, target_rule: str, n_missing: int, notes: list[str],
    **options: Any,
) -> DetectContext:  # fmt: skip
    """What the detectors are given: the rows with a target, their columns split by dtype,
    the evidence begun (thresholds, rules, names) and the user's choices (``options``)."""
    frame = table.frame
    features = frame.drop(columns=[target_col])
    if n_missing:
        features = features[frame[target_col].notna()]
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    other = [c for c in features.columns if c not in numeric]
    check_numeric_text(features, other)
    evidence: dict[str, Any] = {
        "thresholds": dict(THRESHOLDS),
        "target_rule": target_rule,
        "n_numeric": len(numeric),
        "n_non_numeric": len(other),
        "names": name_evidence([str(c) for c in features.columns]),
    }
    return DetectContext(
        frame, features, numeric, other, str(target_col), evidence, notes, **options
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
    known = layouts.registered_layouts()
    forced: dict[str, Any] = {"layout": layout, "modality": modality, "shape": shape}
    _check_options(known, id_col=id_col, time_col=time_col, **forced)
    frame = table.frame
    for col, option in ((id_col, "--id-col"), (time_col, "--time-col")):
        if col is not None:
            _check_column(frame, col, option)
    given = tuple(c for c in (id_col, time_col) if c)
    target_col, target_rule = _target_column(frame, target, given, seed, **forced)
    lone_series = layout is None or known[layout].forecast  # one value column: a series
    n_missing = _check_target_rows(frame, target_col, lone_series=lone_series)
    notes: list[str] = list(table.facts.notes)
    want = layout or (_shape_layout(known) if shape is not None else _only_layout(known, modality))
    ctx = _context(
        table, target_col, target_rule, n_missing, notes,
        task=task, want=want, modality=modality, shape=shape, id_col=id_col,
        time_col=time_col, seed=seed, tokenizer=tokenizer, horizon=horizon, window=window,
    )  # fmt: skip
    result = layouts.detect(ctx)
    return _profile(table, ctx, result, target_col, target_rule, n_missing)


def _profile(
    table: Table, ctx: DetectContext, result: Decision, target_col: str, target_rule: str,
    n_missing: int,
) -> Profile:  # fmt: skip
    """The Profile of a decided layout: its samples' targets, the task and classes, the
    missing-value checks of the columns it uses, and every note."""
    known = layouts.registered_layouts()
    notes, dropped_ids, task = ctx.notes, ctx.dropped_ids, ctx.task
    if known[result.layout].forecast:
        # the time column is not an identifier here, and gaps in the target are filled
        notes = [n for n in notes if not n.startswith(f"column {result.time_column!r}")]
        dropped_ids = [c for c in dropped_ids if c != result.time_column]
        task = task or Task.REGRESSION
        n_missing = 0
    grouped = known[result.layout].grouped
    y = _samples(table.frame, target_col, result, grouped, n_missing, notes)
    task_name, classes = _task_and_classes(y, target_col, task, ctx.evidence, notes)
    used = set(result.feature_columns)
    features = ctx.features
    check_missing(features, [c for c in ctx.numeric if str(c) in used], len(features), notes)
    return Profile(
        modality=str(result.modality),
        layout=str(result.layout),
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
        evidence=ctx.evidence,
        notes=tuple(notes + result.notes),
        dropped_columns=tuple(str(c) for c in dropped_ids + result.dropped),
        source=table.facts,
        form=str(result.form),
        id_column=result.id_column,
        time_column=result.time_column,
        spec=result.spec,
        readings=tuple(str(r) for r in result.readings),
    )


def profile_frame(frame: pd.DataFrame, **options: Any) -> Profile:
    """Profile a DataFrame in memory; ``options`` as for :func:`profile_table`.

    Example:
        >>> import pandas as pd
        >>> profile_frame(pd.DataFrame({"a": [1.0, 2.5, 3.1, 4.2], "y": [0, 1, 0, 1]})).task
        'classification'
    """
    for name in ("target", "id_col", "time_col"):  # named as load_table names the columns:
        if options.get(name) is not None:  # text (an int, or a MultiIndex tuple, as str)
            options[name] = str(options[name])
    return profile_table(load_table(frame, target=options.get("target")), **options)
