"""The preparation every layout read from feature columns shares: the default
``LayoutPlugin.fit_preprocessing`` and ``transform`` (imputation, one-hot categories, scaling
per column or per channel, the layout's tensor shape) and the target's encoding.

Tables, wide images and wide series use these as they are; long format groups rows into
samples (``LayoutPlugin.grouped``) and builds its own tensor; image files, text and forecasts
fit and transform in their own modules, over :func:`fit_target` where they scale a target.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from archselect.core.data import Profile
from archselect.errors import DataError
from archselect.layouts._preprocessing import Preprocessing, _is_int_like, _numeric_matrix
from archselect.layouts._registry import plugin_for, reshape, samples
from archselect.layouts.constants import MAX_MISSING_FRACTION, MIN_STD

__all__ = [
    "base_preprocessing",
    "check_numeric_features",
    "feature_transform",
    "feature_values",
    "fit_feature_preprocessing",
    "no_split_notes",
    "with_scaling",
]


def base_preprocessing(profile: Profile, impute: np.ndarray, categories: Any) -> Preprocessing:
    """The profile's columns and shapes, with the fitted imputation and categories."""
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


def check_numeric_features(frame: pd.DataFrame, profile: Profile) -> None:
    """Refuse the first non-numeric cell, in file order, of a numeric feature column (the
    default ``LayoutPlugin.check_rows``, run on every row with a target before the split).

    Raises:
        DataError: Naming the column, the row and the value.
    """
    numeric = [c for c in profile.feature_columns if c not in profile.categorical_columns]
    text_cols = [c for c in numeric if not pd.api.types.is_numeric_dtype(frame[c])]
    _numeric_matrix(frame, text_cols)


def no_check(frame: pd.DataFrame, profile: Profile) -> None:
    """``LayoutPlugin.check_rows`` of layouts that check their columns as they read them."""


def fit_feature_preprocessing(
    train: pd.DataFrame, profile: Profile
) -> tuple[Preprocessing, list[str]]:
    """Fit imputation, one-hot categories and scaling on the training rows.

    Scaling is one mean/std per column (tables; long format: per value column over all
    steps), or per channel in the layout's column order (:attr:`LayoutPlugin.columns`).

    Raises:
        DataError: A feature column missing in more than ``MAX_MISSING_FRACTION`` of rows.
    """
    notes: list[str] = []
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
    pre = base_preprocessing(profile, impute, categories)
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
    return with_scaling(profile, pre, train, mean, std), notes


def with_scaling(
    profile: Profile, pre: Preprocessing, train: pd.DataFrame, mean: Any, std: Any
) -> Preprocessing:
    """``pre`` with the feature scaling ``mean``/``std`` (constant columns: scale 1) and the
    target's encoding fitted on the training samples (label type, or mean and scale)."""
    std = np.where(std > MIN_STD, std, 1.0)
    target = samples(pre, train)[profile.target]
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


def label_type(target: pd.Series) -> str:
    """How predicted labels are typed: ``int``, ``float`` or ``str`` (booleans: ``str``)."""
    if pd.api.types.is_bool_dtype(target):
        return "str"
    if pd.api.types.is_integer_dtype(target) or _is_int_like(target):
        return "int"
    return "float" if pd.api.types.is_float_dtype(target) else "str"


def feature_transform(pre: Preprocessing, frame: pd.DataFrame) -> np.ndarray:
    """Rows of feature columns → standardised float32 ``(N, *input_shape)`` (the default
    ``LayoutPlugin.transform``)."""
    x = pre.raw_matrix(frame)
    x = (x - np.asarray(pre.mean)) / np.asarray(pre.std)
    return reshape(x.astype(np.float32), pre.layout, pre.input_shape)


def feature_values(frame: pd.DataFrame, profile: Profile) -> np.ndarray:
    """The feature columns' raw values ``(N, F)`` in file order, non-numbers as NaN (the
    default ``LayoutPlugin.preview_values``)."""
    cols = list(profile.feature_columns)
    if not len(frame):
        return np.zeros((0, len(cols)))
    sub = frame[cols].apply(pd.to_numeric, errors="coerce")
    return sub.to_numpy(dtype=np.float64, na_value=np.nan)


def no_split_notes(pre: Preprocessing, x_train: np.ndarray, x_val: np.ndarray) -> tuple[str, ...]:
    """``LayoutPlugin.split_notes`` of layouts with nothing to say about the prepared split."""
    return ()
