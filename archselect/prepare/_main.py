"""``prepare``: fit the preprocessing on the training split; tables, images, series, text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from archselect._errors import DataError, UsageError
from archselect.core.kinds import Form
from archselect.core.specs import ForecastSpec, TextSpec
from archselect.layouts import plugin_for
from archselect.layouts import text as _text
from archselect.load import Table
from archselect.prepare._constants import MIN_STD, SUPPORTED_LAYOUTS
from archselect.prepare._forecasting import _prepare_forecast
from archselect.prepare._preprocessing import Preprocessing, _is_int_like, _numeric_matrix
from archselect.prepare._splits import Prepared, _split
from archselect.profile import (
    MAX_MISSING_FRACTION,
    Profile,
)


def _base_preprocessing(profile: Profile, impute: np.ndarray, categories: Any) -> Preprocessing:
    return Preprocessing(
        layout=profile.layout,
        task=profile.task,
        target=profile.target,
        feature_columns=profile.feature_columns,
        input_shape=profile.input_shape,
        impute=tuple(float(v) for v in impute),
        categories=categories,
        classes=profile.classes,
        form=profile.form,
        id_column=profile.id_column,
        time_column=profile.time_column,
    )


def fit_preprocessing(profile: Profile, train: pd.DataFrame) -> tuple[Preprocessing, list[str]]:
    """Fit imputation, one-hot categories and scaling on the training rows."""
    notes: list[str] = []
    if profile.form == Form.IMAGE_PATHS:
        pre = _base_preprocessing(profile, np.zeros(0), {})
        images = pre.transform(train)  # raw pixel values: no scaling fitted yet
        mean, std = images.mean(axis=(0, 2, 3)), images.std(axis=(0, 2, 3))
        return _with_scaling(profile, pre, train, mean, std), notes
    numeric = [c for c in profile.feature_columns if c not in profile.categorical_columns]
    x = _numeric_matrix(train, numeric)
    finite = np.isfinite(x)
    if x.size:
        frac = 1.0 - finite.mean(axis=0)
        worst = int(np.argmax(frac))
        if frac[worst] > MAX_MISSING_FRACTION:
            raise DataError(
                f"Column {numeric[worst]!r} is missing or non-finite in {frac[worst]:.0%} of "
                f"training rows (limit {MAX_MISSING_FRACTION:.0%}); drop it or fill it in."
            )
        n_bad = int((~finite).sum())
        if n_bad:
            notes.append(
                f"{n_bad} missing or infinite feature values imputed with the column median"
            )
    with np.errstate(all="ignore"):
        med = np.nanmedian(np.where(finite, x, np.nan), axis=0) if x.size else np.zeros(0)
    impute = np.where(np.isfinite(med), med, 0.0)
    del x, finite
    categories = {
        c: tuple(sorted(train[c].astype("string").fillna("").unique().tolist()))
        for c in profile.categorical_columns
    }
    pre = _base_preprocessing(profile, impute, categories)
    plugin = plugin_for(profile.layout)
    if categories and plugin.columns is None:
        # one-hots of the categories seen in the training rows only: the width follows them
        width = len(numeric) + sum(len(v) for v in categories.values())
        pre = Preprocessing(**{**pre.__dict__, "input_shape": (width,)})
    raw = pre.raw_matrix(train)
    if plugin.columns is None:
        # tables: one per column; long format: one per value column (channel), over steps
        mean, std = raw.mean(axis=0), raw.std(axis=0)
    else:
        # images and wide series: one mean/std per channel, in the layout's column order
        channel = plugin.column_channels(tuple(profile.input_shape), raw.shape[1])
        mean, std = np.empty(raw.shape[1]), np.empty(raw.shape[1])
        for ch in np.unique(channel):
            cols = np.flatnonzero(channel == ch)
            mean[cols], std[cols] = raw[:, cols].mean(), raw[:, cols].std()
    return _with_scaling(profile, pre, train, mean, std), notes


def _with_scaling(
    profile: Profile, pre: Preprocessing, train: pd.DataFrame, mean: Any, std: Any
) -> Preprocessing:
    std = np.where(std > MIN_STD, std, 1.0)
    target = train[profile.target]
    if profile.form == Form.LONG:
        assert profile.id_column is not None
        target = train.drop_duplicates(profile.id_column)[profile.target]
    extra: dict[str, Any] = {}
    if profile.task == "classification":
        if pd.api.types.is_bool_dtype(target):
            extra["label_type"] = "str"
        elif pd.api.types.is_integer_dtype(target) or _is_int_like(target):
            extra["label_type"] = "int"
        elif pd.api.types.is_float_dtype(target):
            extra["label_type"] = "float"
    if profile.task == "regression":
        yv = pd.to_numeric(target, errors="coerce").to_numpy(dtype=float)
        sd = float(np.nanstd(yv))
        extra = {"target_mean": float(np.nanmean(yv)), "target_std": sd if sd > MIN_STD else 1.0}
    return Preprocessing(
        **{**pre.__dict__, "mean": tuple(map(float, mean)), "std": tuple(map(float, std)), **extra}
    )


def prepare(table: Table, profile: Profile, *, seed: int = 0) -> Prepared:
    """Split rows (stratified for classification) and fit preprocessing on train only.

    Args:
        table: The loaded data.
        profile: Its profile.
        seed: Seed of the split (the same seed feeds the sampler and training).

    Returns:
        The :class:`Prepared` tensors and preprocessing.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from archselect.load import load_table
        >>> from archselect.profile import profile_table
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(40, 2))
        >>> frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": [0, 1] * 20})
        >>> table = load_table(frame)
        >>> prepare(table, profile_table(table)).x_train.shape[1]
        2
    """
    if profile.layout not in SUPPORTED_LAYOUTS:
        raise DataError(
            f"The {profile.layout} layout is not prepared by this version of archselect; "
            "choose another layout with --layout or remove the column it came from."
        )
    own = _OWN_PREPARATION.get(plugin_for(profile.layout).spec_type)
    if own is not None:  # the layout's own split and encoding
        return own(table, profile, seed)
    frame = table.frame
    if profile.form == Form.LONG:
        assert profile.id_column is not None
        ids = frame[profile.id_column]
        with_target = frame.loc[frame[profile.target].notna(), profile.id_column].unique()
        frame = frame[ids.isin(with_target)]
        samples = frame.drop_duplicates(profile.id_column)
    else:
        frame = frame[frame[profile.target].notna()]  # index kept: row numbers in messages
        samples = frame
        numeric = [c for c in profile.feature_columns if c not in profile.categorical_columns]
        if profile.form != Form.IMAGE_PATHS:
            text_cols = [c for c in numeric if not pd.api.types.is_numeric_dtype(frame[c])]
            _numeric_matrix(frame, text_cols)  # names the first non-numeric cell in file order
    y = samples[profile.target]
    split = _split(y, profile.task, seed)

    def rows(idx: tuple[int, ...]) -> pd.DataFrame:
        if profile.form != Form.LONG:
            return frame.iloc[list(idx)]
        assert profile.id_column is not None
        return frame[frame[profile.id_column].isin(samples[profile.id_column].iloc[list(idx)])]

    pre, notes = fit_preprocessing(profile, rows(split.train))

    def xy(idx: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        part = rows(idx)
        return pre.transform(part), pre.encode_target(pre.samples(part)[profile.target])

    x_train, y_train = xy(split.train)
    x_val, y_val = xy(split.val)
    x_test, y_test = xy(split.test)
    return Prepared(pre, split, x_train, y_train, x_val, y_val, x_test, y_test, tuple(notes))


def _label_type(target: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(target):
        return "str"
    if pd.api.types.is_integer_dtype(target) or _is_int_like(target):
        return "int"
    return "float" if pd.api.types.is_float_dtype(target) else "str"


def _prepare_text(table: Table, profile: Profile, seed: int) -> Prepared:
    """Stratified split; the vocabulary is fitted on the training texts only."""
    frame = table.frame
    frame = frame[frame[profile.target].notna()]
    y = frame[profile.target]
    split = _split(y, profile.task, seed)
    spec = profile.spec
    if not isinstance(spec, TextSpec):
        raise UsageError(
            f"The profile's spec is {type(spec).__name__}, not text; profile the data again "
            "with this version of archselect."
        )
    col = spec.column
    train = frame.iloc[list(split.train)]
    encoding = _text.fit_text_encoding(col, list(train[col]), spec.tokenizer, spec.max_length)
    pre = Preprocessing(
        layout=profile.layout,
        task=profile.task,
        target=profile.target,
        feature_columns=profile.feature_columns,
        input_shape=(encoding.max_length,),
        impute=(),
        classes=profile.classes,
        label_type=_label_type(train[profile.target]),
        text=encoding,
    )
    parts: list[np.ndarray] = []
    for idx in (split.train, split.val, split.test):
        part = frame.iloc[list(idx)]
        parts += [pre.transform(part), pre.encode_target(part[profile.target])]
    oov = float(np.mean(parts[2] == _text.OOV) / max(1e-9, np.mean(parts[2] != _text.PAD)))
    notes = (
        f"vocabulary of {encoding.vocab_size - 2} {encoding.tokenizer} tokens fitted on "
        f"{len(split.train)} training texts; {oov:.1%} of validation tokens are unknown",
    )
    x_train, y_train, x_val, y_val, x_test, y_test = parts
    return Prepared(pre, split, x_train, y_train, x_val, y_val, x_test, y_test, notes)


#: Layouts prepared by their own function (by spec type): text (a vocabulary fitted on the
#: training texts) and forecasts (sliding windows split in time).
_OWN_PREPARATION: dict[type, Callable[[Table, Profile, int], Prepared]] = {
    TextSpec: _prepare_text,
    ForecastSpec: _prepare_forecast,
}
