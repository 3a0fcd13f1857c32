"""Stage 3 — prepare: split the rows and fit the preprocessing on the training split only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from archselect import _forecast, _text
from archselect._errors import DataError
from archselect._forecast import ForecastSpec, SeriesGrid
from archselect._serde import JsonRecord
from archselect._text import TextEncoding
from archselect.load import Table
from archselect.profile import (
    MAX_MISSING_FRACTION,
    MIN_ROWS,
    Profile,
    open_image,
    order_values,
)

__all__ = [
    "Fold",
    "PlotSeries",
    "Prepared",
    "Preprocessing",
    "Split",
    "cross_folds",
    "fit_preprocessing",
    "out_of_fold",
    "prepare",
]

#: Fractions of the rows held out for validation (model choice) and test (the final word).
VAL_FRACTION = 0.2
TEST_FRACTION = 0.2
#: MAX_MISSING_FRACTION (imported from the profile): refuse a feature column with a larger
#: fraction of missing or non-finite training values.
#: Layouts this module prepares (text and forecast windows: :func:`_prepare_text` and
#: :func:`_prepare_forecast`, over the helpers in ``_text`` and ``_forecast``).
SUPPORTED_LAYOUTS = ("image", "series", "series_padded", "table", "text", "forecast")
#: Standard deviations below this are treated as constant (scale 1).
MIN_STD = 1e-8
#: With at most this many train + validation rows, the validation split holds so few rows
#: (80 at most) that one split cannot tell good configurations from lucky ones: every trial
#: is then scored by CV_FOLDS-fold cross-validation over the train + validation rows.
CV_MAX_ROWS = 400
#: Folds of that cross-validation. Fold 0 is the train / validation split itself, so each
#: fold trains on as many rows as the single split does (VAL_FRACTION / (1 - TEST_FRACTION)
#: = a quarter of the train + validation rows held out per fold).
CV_FOLDS = 4


@dataclass(frozen=True)
class Preprocessing(JsonRecord):
    """Everything needed to turn raw rows into model input, fitted on the training split.

    ``transform`` is the one path from a DataFrame to tensors, shared by training,
    ``predict`` and the export.
    """

    layout: str
    task: str
    target: str
    feature_columns: tuple[str, ...]
    input_shape: tuple[int, ...]
    impute: tuple[float, ...]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    classes: tuple[str, ...] = ()
    target_mean: float = 0.0
    target_std: float = 1.0
    label_type: str = "str"
    form: str = "table"
    id_column: str | None = None
    time_column: str | None = None
    text: TextEncoding | None = None
    forecast: ForecastSpec | None = None

    @property
    def n_outputs(self) -> int:
        """Width of the model's output: classes, the forecast horizon, or 1."""
        if self.forecast is not None:
            return self.forecast.horizon
        return len(self.classes) or 1

    def model_inputs(self) -> dict[str, Any]:
        """Builder arguments that come from the data, not the search (the vocabulary size)."""
        return {"vocab_size": self.text.vocab_size} if self.text is not None else {}

    def numeric_columns(self) -> list[str]:
        return [c for c in self.feature_columns if c not in self.categories]

    def raw_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Numeric feature matrix (N, F) with missing values imputed and categories one-hot."""
        missing = [c for c in self.feature_columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"The data lacks {len(missing)} feature column(s) the model was trained on "
                f"(first: {missing[0]!r}); pass rows with the training columns."
            )
        numeric = self.numeric_columns()
        x = _numeric_matrix(frame, numeric)
        bad = ~np.isfinite(x)
        if bad.any():
            x = np.where(bad, np.asarray(self.impute, dtype=np.float64)[None, :], x)
        parts = [x]
        for col, cats in self.categories.items():
            values = frame[col].astype("string").fillna("").to_numpy()
            parts.append(
                (values[:, None] == np.asarray(cats, dtype=object)[None, :]).astype(float)
            )
        return np.concatenate(parts, axis=1) if len(parts) > 1 else x

    def samples(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row per model sample, in ``transform``'s order: the rows themselves, or in
        long format the first row of each id (ids in order of first appearance)."""
        if self.form == "long":
            assert self.id_column is not None
            return frame.drop_duplicates(self.id_column)
        return frame

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Raw rows → float32 model input of shape ``(N, *input_shape)``.

        The one path from a DataFrame to tensors (training, ``predict`` and the export).
        Image files resolve against ``frame.attrs["base_dir"]`` (set by ``load_table``).
        Text: int64 token ids ``(N, T)``. Forecast: every input window ``(N, W, C)`` of the
        (regularised, time-sorted) history, the last one last; with several series, each
        series' windows in turn (series in order of first appearance).
        """
        if self.text is not None:
            if self.text.column not in frame.columns:
                raise DataError(
                    f"The data lacks the text column {self.text.column!r} the model was "
                    "trained on; pass rows with that column."
                )
            return self.text.encode(list(frame[self.text.column]))
        if self.forecast is not None:
            parts = [x for _, x in self.forecast_windows(frame)]
            return parts[0] if len(parts) == 1 else np.concatenate(parts)
        if self.form == "long":
            return self._long_tensor(frame)
        if self.form == "image_paths":
            return self._image_tensor(frame)
        x = self.raw_matrix(frame)
        x = (x - np.asarray(self.mean)) / np.asarray(self.std)
        return reshape(x.astype(np.float32), self.layout, self.input_shape)

    def forecast_windows(self, frame: pd.DataFrame) -> list[tuple[SeriesGrid, np.ndarray]]:
        """Every series of the history with its standardised input windows ``(N, W, C)``.

        Raises:
            DataError: A series shorter than the window (named by its id).
        """
        assert self.forecast is not None
        out = []
        window = self.forecast.window
        for s in self.forecast.panel(frame, self.feature_columns):
            if len(s.values) < window:
                which = (
                    "The history"
                    if s.series_id is None
                    else f"Series {_forecast.series_label(s.series_id)!r} of the history"
                )
                raise DataError(
                    f"{which} has {len(s.values)} time steps; the model reads the last "
                    f"{window}, so pass at least that many rows."
                )
            z = (s.values - np.asarray(self.mean)) / np.asarray(self.std)
            out.append((s, _forecast.windows(z.astype(np.float32), window)))
        return out

    def _image_tensor(self, frame: pd.DataFrame) -> np.ndarray:
        """Image files → (N, C, H, W), resized, standardised per channel."""
        from PIL import Image

        (col,) = self.feature_columns
        c, h, w = self.input_shape
        if col not in frame.columns:
            raise DataError(
                f"The data lacks the image column {col!r} the model was trained on; "
                "pass rows with that column."
            )
        base = frame.attrs.get("base_dir")
        out = np.empty((len(frame), c, h, w), dtype=np.float32)
        mode = "L" if c == 1 else "RGB"
        for i, (row, value) in enumerate(frame[col].items()):
            img = open_image(value, base, row, col).convert(mode)
            if img.size != (w, h):
                img = img.resize((w, h), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.float32)
            out[i] = arr[None] if c == 1 else arr.transpose(2, 0, 1)
        mean = np.asarray(self.mean, dtype=np.float32).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=np.float32).reshape(-1, 1, 1)
        if len(self.mean):
            out -= mean
            out /= std
        return out

    def _long_tensor(self, frame: pd.DataFrame) -> np.ndarray:
        """Long rows → (N, T, C+1): per-id sequences, post-padded with zeros, mask last.

        Convention (layout ``series_padded``): one sample is T steps of C standardised
        values followed by a 0/1 channel, 1 on real steps and 0 on padding; real steps come
        first. Sequences longer than T keep their first T steps. Recurrent models pack the
        real steps by the mask; cnn1d and mlp read the mask as one more channel.
        """
        ids, steps, x = _long_arrays(self, frame)
        t_max, width = self.input_shape
        n = int(ids.max()) + 1 if len(ids) else 0
        out = np.zeros((n, t_max, width), dtype=np.float32)
        keep = steps < t_max
        if len(self.mean):
            x = (x - np.asarray(self.mean)) / np.asarray(self.std)
        x = np.where(np.isfinite(x), x, 0.0)  # missing values: the (standardised) mean
        out[ids[keep], steps[keep], :-1] = x[keep]
        out[ids[keep], steps[keep], -1] = 1.0
        return out

    def encode_target(self, y: pd.Series) -> np.ndarray:
        """Class labels → int64 indices, or values → standardised float32."""
        if self.task == "classification":
            lookup = {c: i for i, c in enumerate(self.classes)}
            labels = [_label_str(v) for v in y]
            unknown = sorted({lab for lab in labels if lab not in lookup})
            if unknown:
                raise DataError(
                    f"Target has labels unseen in training ({', '.join(unknown[:5])}); "
                    f"known classes are {', '.join(self.classes[:10])}."
                )
            return np.asarray([lookup[lab] for lab in labels], dtype=np.int64)
        values = pd.to_numeric(y, errors="coerce").to_numpy(dtype=np.float64)
        return ((values - self.target_mean) / self.target_std).astype(np.float32)

    def decode_output(self, out: np.ndarray) -> np.ndarray:
        """Model output → predicted labels (strings) or values in target units."""
        if self.task == "classification":
            labels = np.asarray(self.classes, dtype=object)[out.argmax(axis=1)]
            if self.label_type == "int":
                return labels.astype(np.int64)
            if self.label_type == "float":
                return labels.astype(np.float64)
            return labels
        if self.forecast is not None:
            return out.reshape(len(out), -1) * self.target_std + self.target_mean
        return out.reshape(len(out), -1)[:, 0] * self.target_std + self.target_mean


def _long_arrays(
    pre: Preprocessing, frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Long rows → (sample index per row, step within its sample, raw values (rows, C)).

    Samples are numbered by first appearance of their id; steps follow the time column
    (file order when there is none, or for ties).
    """
    assert pre.id_column is not None
    for col in (pre.id_column, pre.time_column):
        if col is not None and col not in frame.columns:
            raise DataError(
                f"The data lacks the column {col!r} that long format needs; pass rows with "
                "the id, time and value columns of training."
            )
    codes, _ = pd.factorize(frame[pre.id_column], sort=False)
    if pre.time_column is not None:
        order = order_values(frame[pre.time_column])
        rank = pd.Series(order.to_numpy()).rank(method="first").to_numpy()
        idx = np.lexsort((np.arange(len(frame)), rank, codes))
    else:
        idx = np.lexsort((np.arange(len(frame)), codes))
    sorted_codes = codes[idx]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_codes)) + 1]
    counts = np.diff(np.r_[starts, len(idx)])
    steps_sorted = np.arange(len(idx)) - np.repeat(starts, counts)
    steps = np.empty(len(idx), dtype=np.int64)
    steps[idx] = steps_sorted
    x = pre.raw_matrix(frame)
    return codes, steps, x


def _label_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_int_like(values: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(values):
        return False
    arr = values.dropna().to_numpy(dtype=float)
    return bool(np.all(arr == np.round(arr)))


def reshape(x: np.ndarray, layout: str, input_shape: tuple[int, ...]) -> np.ndarray:
    """Flat (N, F) features → the layout's tensor shape."""
    n = x.shape[0]
    if layout == "image":
        c, h, w = input_shape
        # wide pixels arrive row-major, channels interleaved: (H, W, C) per row
        return np.ascontiguousarray(x.reshape(n, h, w, c).transpose(0, 3, 1, 2))
    if layout == "series":
        t, c = input_shape
        # channel groups arrive one after another: (C, T) per row
        return np.ascontiguousarray(x.reshape(n, c, t).transpose(0, 2, 1))
    return x.reshape(n, *input_shape)


def _numeric_matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    if not columns:
        return np.zeros((len(frame), 0))
    sub = frame[columns]
    if all(pd.api.types.is_numeric_dtype(t) for t in sub.dtypes):
        return sub.to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.empty((len(frame), len(columns)))
    for j, col in enumerate(columns):
        s = sub[col]
        if pd.api.types.is_numeric_dtype(s):
            out[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        conv = pd.to_numeric(s, errors="coerce")
        bad = conv.isna() & s.notna()
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            label = s.index[pos]
            row = label + 1 if isinstance(label, (int, np.integer)) else label
            raise DataError(
                f"Column {col!r} should be numeric but data row {row} holds {s.iloc[pos]!r}; "
                "fix or remove the non-numeric values."
            )
        out[:, j] = conv.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


@dataclass(frozen=True)
class Split(JsonRecord):
    """Row positions (into the rows that have a target) of each split."""

    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]
    seed: int
    stratified: bool
    time_ordered: bool = False


@dataclass(frozen=True)
class PlotSeries(JsonRecord):
    """Several series: the one the report plots, and where its test windows lie.

    Attributes:
        series_id: Its id (as text).
        test_rows: ``(start, stop)`` of its windows among the test windows.
        first_step: The step of its grid that its first test window predicts.
        reason: Why this series, in words.
    """

    series_id: str
    test_rows: tuple[int, int]
    first_step: int
    reason: str


@dataclass(frozen=True)
class Prepared:
    """Tensors for each split plus the fitted preprocessing.

    The arrays are derived data; the JSON part (``to_dict``) is the preprocessing and
    the split, from which the arrays are rebuilt exactly.
    """

    preprocessing: Preprocessing
    split: Split
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    notes: tuple[str, ...] = ()
    #: Forecasts only: the regular time grid and the target on it (target units); with
    #: several series, those of the plotted one (``plot``).
    times: tuple[str, ...] = ()
    series: tuple[float, ...] = ()
    plot: PlotSeries | None = None
    #: Several series: each window's series id and the time of its first target step, in
    #: window order (split positions index into these).
    window_series: tuple[str, ...] = ()
    window_target_times: tuple[str, ...] = ()

    @cached_property
    def pooled(self) -> tuple[np.ndarray, np.ndarray]:
        """The train + validation rows as one ``(x, y)``: what folds and final refits use."""
        return (
            np.concatenate([self.x_train, self.x_val]),
            np.concatenate([self.y_train, self.y_val]),
        )

    def plot_outputs(self, test_outputs: np.ndarray) -> np.ndarray:
        """The test outputs (or targets) of the plotted series: all of them for one series."""
        if self.plot is None:
            return test_outputs
        start, stop = self.plot.test_rows
        return test_outputs[start:stop]

    def to_dict(self) -> dict[str, Any]:
        return {
            "preprocessing": self.preprocessing.to_dict(),
            "split": self.split.to_dict(),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Fold:
    """One cross-validation fold: positions into the pooled rows ``x_train`` + ``x_val``."""

    train: np.ndarray
    val: np.ndarray


def cross_folds(prepared: Prepared, seed: int) -> tuple[Fold, ...]:
    """The folds every trial trains on; ``()`` where one validation split is enough.

    Small data (at most :data:`CV_MAX_ROWS` train + validation rows) gets
    :data:`CV_FOLDS` folds; forecasts never do (their windows are ordered in time, and a fold
    would train on the future). Fold 0 is the train / validation split itself; the training
    rows are cut into ``CV_FOLDS - 1`` further validation parts (stratified for
    classification when every class has a training row per part), each of which trains on
    the rest plus the validation rows. Every pooled row is validated exactly once.

    Example:
        >>> import numpy as np, pandas as pd
        >>> from archselect.load import load_table
        >>> from archselect.profile import profile_table
        >>> rng = np.random.default_rng(0)
        >>> df = pd.DataFrame(rng.normal(size=(60, 3)), columns=list("abc"))
        >>> df["label"] = np.where(df["a"] > 0, "yes", "no")
        >>> table = load_table(df)
        >>> prepared = prepare(table, profile_table(table, target="label"))
        >>> folds = cross_folds(prepared, seed=0)
        >>> len(folds), sorted(np.concatenate([f.val for f in folds])) == list(range(48))
        (4, True)
    """
    n_train, n_val = len(prepared.y_train), len(prepared.y_val)
    if prepared.preprocessing.forecast is not None or n_train + n_val > CV_MAX_ROWS:
        return ()
    y = prepared.y_train
    parts = CV_FOLDS - 1
    if n_train < parts:
        return ()
    stratify = prepared.preprocessing.task == "classification"
    stratify = stratify and int(np.unique(y, return_counts=True)[1].min()) >= parts
    splitter = (StratifiedKFold if stratify else KFold)(parts, shuffle=True, random_state=seed)
    val_rows = n_train + np.arange(n_val)
    folds = [Fold(train=np.arange(n_train), val=val_rows)]
    for rest, part in splitter.split(np.zeros(n_train), y if stratify else None):
        folds.append(Fold(train=np.concatenate([rest, val_rows]), val=part))
    return tuple(folds)


def out_of_fold(
    folds: tuple[Fold, ...],
    first_val_out: np.ndarray,
    fit_predict: Callable[[int, Fold], np.ndarray],
) -> np.ndarray:
    """Every pooled row's output from the fold that held it out.

    Fold 0's outputs are given (the run on the split itself); ``fit_predict(i, fold)`` trains
    on ``fold.train`` and returns the outputs on ``fold.val`` for each further fold.
    """
    n = sum(len(f.val) for f in folds)
    out = np.empty((n, *first_val_out.shape[1:]), dtype=first_val_out.dtype)
    out[folds[0].val] = first_val_out
    for i, fold in enumerate(folds[1:], start=1):
        out[fold.val] = fit_predict(i, fold)
    return out


def _split(y: pd.Series, task: str, seed: int) -> Split:
    n = len(y)
    positions = np.arange(n)
    stratify = None
    if n < MIN_ROWS:
        raise DataError(
            f"The data has {n} rows with a target; archselect needs at least {MIN_ROWS} "
            "(better a few dozen)."
        )
    if task == "classification":
        counts = y.map(_label_str).value_counts()
        single = counts[counts < 2]
        if len(single):
            raise DataError(
                f"Class {single.index[0]!r} has a single example, so a stratified split cannot "
                "place it in training and validation; add examples or remove that class."
            )
        n_classes = len(counts)
        if n_classes > n * TEST_FRACTION:
            raise DataError(
                f"The target has {n_classes} classes for {n} rows, too many to hold out "
                f"{TEST_FRACTION:.0%} per split; is {y.name!r} really the target (use --target) "
                "or is this a regression (use --task regression)?"
            )
        stratify = y.map(_label_str).to_numpy()
    try:
        rest, test = train_test_split(
            positions, test_size=TEST_FRACTION, random_state=seed, stratify=stratify
        )
        rest_strat = stratify[rest] if stratify is not None else None
        train, val = train_test_split(
            rest,
            test_size=VAL_FRACTION / (1 - TEST_FRACTION),
            random_state=seed,
            stratify=rest_strat,
        )
    except ValueError as exc:
        if stratify is None:
            raise
        counts = pd.Series(stratify).value_counts()
        raise DataError(
            f"Class {counts.index[-1]!r} has only {counts.iloc[-1]} examples, too few to "
            "stratify train, validation and test splits; add examples of it."
        ) from exc
    return Split(
        train=tuple(int(i) for i in sorted(train)),
        val=tuple(int(i) for i in sorted(val)),
        test=tuple(int(i) for i in sorted(test)),
        seed=seed,
        stratified=stratify is not None,
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
    if profile.form == "image_paths":
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
    if profile.layout == "table":
        # categories seen in the training rows only: the width follows them
        width = len(numeric) + sum(len(v) for v in categories.values())
        pre = Preprocessing(**{**pre.__dict__, "input_shape": (width,)})
    raw = pre.raw_matrix(train)
    if profile.layout == "image":
        # one mean/std per channel (pixels are interleaved: column j is channel j % C)
        c = profile.input_shape[0]
        mean = np.empty(raw.shape[1])
        std = np.empty(raw.shape[1])
        for ch in range(c):
            mean[ch::c], std[ch::c] = raw[:, ch::c].mean(), raw[:, ch::c].std()
    elif profile.layout == "series":
        # one mean/std per channel (channel groups follow one another)
        t, c = profile.input_shape
        mean = np.repeat([raw[:, k * t : (k + 1) * t].mean() for k in range(c)], t)
        std = np.repeat([raw[:, k * t : (k + 1) * t].std() for k in range(c)], t)
    else:
        # tables: one per column; long format: one per value column (channel), over steps
        mean, std = raw.mean(axis=0), raw.std(axis=0)
    return _with_scaling(profile, pre, train, mean, std), notes


def _with_scaling(
    profile: Profile, pre: Preprocessing, train: pd.DataFrame, mean: Any, std: Any
) -> Preprocessing:
    std = np.where(std > MIN_STD, std, 1.0)
    target = train[profile.target]
    if profile.form == "long":
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
    if profile.layout == "text":
        return _prepare_text(table, profile, seed)
    if profile.layout == "forecast":
        return _prepare_forecast(table, profile, seed)
    frame = table.frame
    if profile.form == "long":
        assert profile.id_column is not None
        ids = frame[profile.id_column]
        with_target = frame.loc[frame[profile.target].notna(), profile.id_column].unique()
        frame = frame[ids.isin(with_target)]
        samples = frame.drop_duplicates(profile.id_column)
    else:
        frame = frame[frame[profile.target].notna()]  # index kept: row numbers in messages
        samples = frame
        numeric = [c for c in profile.feature_columns if c not in profile.categorical_columns]
        if profile.form != "image_paths":
            text_cols = [c for c in numeric if not pd.api.types.is_numeric_dtype(frame[c])]
            _numeric_matrix(frame, text_cols)  # names the first non-numeric cell in file order
    y = samples[profile.target]
    split = _split(y, profile.task, seed)

    def rows(idx: tuple[int, ...]) -> pd.DataFrame:
        if profile.form != "long":
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
    text_ev = profile.evidence["text"]
    col = text_ev["column"]
    train = frame.iloc[list(split.train)]
    encoding = _text.fit_text_encoding(
        col, list(train[col]), text_ev["tokenizer"], int(text_ev["max_length"])
    )
    pre = Preprocessing(
        layout="text",
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


def _forecast_preprocessing(
    profile: Profile, spec: ForecastSpec, fit_part: np.ndarray, mase_scale: float
) -> Preprocessing:
    """Forecast preprocessing: scaling fitted on the training steps ``fit_part`` (T, C)."""
    mean, std = fit_part.mean(axis=0), fit_part.std(axis=0)
    std = np.where(std > MIN_STD, std, 1.0)
    return Preprocessing(
        layout="forecast",
        task="regression",
        target=profile.target,
        feature_columns=profile.feature_columns,
        input_shape=(spec.window, len(profile.feature_columns)),
        impute=(),
        mean=tuple(map(float, mean)),
        std=tuple(map(float, std)),
        target_mean=float(mean[0]),
        target_std=float(std[0]),
        forecast=ForecastSpec(**{**spec.__dict__, "mase_scale": mase_scale}),
    )


def _prepare_forecast(table: Table, profile: Profile, seed: int) -> Prepared:
    """Sliding windows over the time-sorted series; validation and test are the latest."""
    fc = profile.evidence["forecast"]
    if fc.get("id_column") is not None:
        return _prepare_panel_forecast(table, profile, seed)
    window, horizon, season = int(fc["window"]), int(fc["horizon"]), int(fc["season"])
    spec = ForecastSpec(fc["time_column"], fc["frequency"], window, horizon, season)
    grid, values, _ = spec.series(table.frame, profile.feature_columns)
    train_w, val_w, test_w, val_start, _ = _forecast.time_ordered_split(
        len(values), window, horizon
    )
    fit_part = values[:val_start]  # scaling and the MASE scale see training steps only
    pre = _forecast_preprocessing(
        profile, spec, fit_part, _forecast.mase_scale(fit_part[:, 0], season)
    )
    mean, std = np.asarray(pre.mean), np.asarray(pre.std)
    x_all = pre.transform(table.frame)
    z = ((values[:, 0] - mean[0]) / std[0]).astype(np.float32)
    y_all = _forecast.window_targets(z, window, horizon)
    split = Split(train_w, val_w, test_w, seed=seed, stratified=False, time_ordered=True)
    parts: list[np.ndarray] = []
    for idx in (train_w, val_w, test_w):
        parts += [x_all[list(idx)], y_all[list(idx)]]
    x_train, y_train, x_val, y_val, x_test, y_test = parts
    notes = (
        f"{len(train_w)} training, {len(val_w)} validation and {len(test_w)} test windows; "
        f"validation predicts steps from {grid[val_start].date()} on, test the last "
        f"{len(values) - (test_w[0] + window)} steps (never shuffled across time)",
    )
    return Prepared(
        pre,
        split,
        x_train,
        y_train,
        x_val,
        y_val,
        x_test,
        y_test,
        notes=notes,
        times=tuple(str(t) for t in grid),
        series=tuple(float(v) for v in values[:, 0]),
    )


@dataclass(frozen=True)
class _SeriesSplit:
    """One series of a panel: its grid, values and window indices of each split."""

    grid: SeriesGrid
    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]
    val_start: int


def _panel_splits(series: list[SeriesGrid], window: int, horizon: int) -> list[_SeriesSplit]:
    """Each usable series' time-ordered split (same fractions as one series)."""
    out = []
    for s in series:
        try:
            train, val, test, val_start, _ = _forecast.time_ordered_split(
                len(s.values), window, horizon
            )
        except DataError:
            continue  # too short: left out, as the profile's notes say
        out.append(_SeriesSplit(s, train, val, test, val_start))
    return out


def _plot_series(parts: list[_SeriesSplit], window: int) -> tuple[int, PlotSeries]:
    """The series with most test windows (the first on ties) and where its windows lie."""
    best = max(range(len(parts)), key=lambda i: (len(parts[i].test), -i))
    start = sum(len(p.test) for p in parts[:best])
    chosen = parts[best]
    label = _forecast.series_label(chosen.grid.series_id)
    plot = PlotSeries(
        series_id=label,
        test_rows=(start, start + len(chosen.test)),
        first_step=chosen.test[0] + window,
        reason=(
            f"series {label!r} of {len(parts)}, the one with most test windows (the first on ties)"
        ),
    )
    return best, plot


def _prepare_panel_forecast(table: Table, profile: Profile, seed: int) -> Prepared:
    """Several series: windows per series, concatenated; each series split in time.

    Validation and test are each series' latest periods (same fractions as one series);
    scaling is fitted on the training steps of every series together, and the MASE scale
    pools their in-sample seasonal naive errors (:func:`_forecast.panel_mase_scale`).
    """
    fc = profile.evidence["forecast"]
    window, horizon, season = int(fc["window"]), int(fc["horizon"]), int(fc["season"])
    spec = ForecastSpec(
        fc["time_column"], fc["frequency"], window, horizon, season, id_column=fc["id_column"]
    )
    parts = _panel_splits(spec.panel(table.frame, profile.feature_columns), window, horizon)
    if not parts:
        raise DataError(
            f"No series of {spec.id_column!r} is long enough for window {window} and horizon "
            f"{horizon}; give longer series or smaller --window/--horizon."
        )
    fit_part = np.concatenate([p.grid.values[: p.val_start] for p in parts])
    scale = _forecast.panel_mase_scale([p.grid.values[: p.val_start, 0] for p in parts], season)
    pre = _forecast_preprocessing(profile, spec, fit_part, scale)
    mean, std = np.asarray(pre.mean), np.asarray(pre.std)
    xs: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    ys: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    positions: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    ids: list[str] = []
    target_times: list[str] = []
    for p in parts:
        z = (p.grid.values - mean) / std
        x_all = _forecast.windows(z.astype(np.float32), window)
        y_all = _forecast.window_targets(z[:, 0].astype(np.float32), window, horizon)
        for name, idx in (("train", p.train), ("val", p.val), ("test", p.test)):
            xs[name].append(x_all[list(idx)])
            ys[name].append(y_all[list(idx)])
            positions[name] += [len(ids) + i for i in range(len(idx))]
            ids += [_forecast.series_label(p.grid.series_id)] * len(idx)
            target_times += [str(p.grid.grid[i + window]) for i in idx]
    split = Split(
        tuple(positions["train"]),
        tuple(positions["val"]),
        tuple(positions["test"]),
        seed=seed,
        stratified=False,
        time_ordered=True,
    )
    best, plot = _plot_series(parts, window)
    shown = parts[best].grid
    notes = (
        f"{len(parts)} series, one global model: {len(split.train)} training, "
        f"{len(split.val)} validation and {len(split.test)} test windows; validation and test "
        "are each series' latest periods (never shuffled across time)",
        f"the report plots {plot.reason}",
    )
    return Prepared(
        pre,
        split,
        np.concatenate(xs["train"]),
        np.concatenate(ys["train"]),
        np.concatenate(xs["val"]),
        np.concatenate(ys["val"]),
        np.concatenate(xs["test"]),
        np.concatenate(ys["test"]),
        notes=notes,
        times=tuple(str(t) for t in shown.grid),
        series=tuple(float(v) for v in shown.values[:, 0]),
        plot=plot,
        window_series=tuple(ids),
        window_target_times=tuple(target_times),
    )
