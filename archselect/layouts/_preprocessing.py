"""The fitted preprocessing (what ``predict`` replays) and the array helpers it uses.

It lives with the layouts because each layout builds it (``LayoutPlugin.fit_preprocessing``)
and turns rows into arrays with it (``LayoutPlugin.transform``, reached through
:func:`archselect.layouts.transform`); :mod:`archselect.prepare` re-exports it. A plain value:
it imports only the layouts' leaf helpers and never the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from archselect._common.serde import JsonRecord
from archselect.errors import DataError
from archselect.layouts._forecast_time import SeriesGrid, series_label
from archselect.layouts._forecast_windows import ForecastWindowing, windows
from archselect.layouts._text_tokens import TextEncoding


@dataclass(frozen=True)
class Preprocessing(JsonRecord):
    """Everything needed to turn raw rows into model input, fitted on the training split.

    :func:`archselect.layouts.transform` turns rows into model input with it, the one path
    shared by training, ``predict`` and the export.
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
    forecast: ForecastWindowing | None = None
    #: The resolution fidelity of long series: the model reads the mean of every
    #: ``resample`` consecutive steps (piecewise-aggregate), so ``input_shape`` is the
    #: shortened one and ``source_shape`` the layout's own (:func:`resampled`; applied by
    #: :func:`archselect.layouts.transform`, hence by training, ``predict`` and the export).
    resample: int = 1
    source_shape: tuple[int, ...] = ()

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
                    else f"Series {series_label(s.series_id)!r} of the history"
                )
                raise DataError(
                    f"{which} has {len(s.values)} time steps; the model reads the last "
                    f"{window}, so pass at least that many rows."
                )
            out.append((s, windows(self.standardise(s), window)))
        return out

    def _target_scale(self, s: SeriesGrid) -> tuple[float, float]:
        """The level and scale of ``s``' target: its own with several series, else global."""
        assert self.forecast is not None
        if self.forecast.per_series:
            return self.forecast.target_scale(s)
        return self.target_mean, self.target_std

    def standardise(self, s: SeriesGrid) -> np.ndarray:
        """A forecast series' values ``(T, C)`` in the units the network reads (float32)."""
        z = (s.values - np.asarray(self.mean)) / np.asarray(self.std)
        level, scale = self._target_scale(s)
        z[:, 0] = (s.values[:, 0] - level) / scale
        return z.astype(np.float32)

    def decode_forecast(self, s: SeriesGrid, out: np.ndarray) -> np.ndarray:
        """Network outputs ``(N, H)`` for series ``s`` → target units."""
        level, scale = self._target_scale(s)
        return np.asarray(out, dtype=np.float64).reshape(len(out), -1) * scale + level

    def encode_target(self, y: pd.Series) -> np.ndarray:
        """Class labels → int64 indices, or values → standardised float32."""
        if self.task == "classification":
            lookup = {c: i for i, c in enumerate(self.classes)}
            labels = [label_str(v) for v in y]
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


def label_str(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_int_like(values: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(values):
        return False
    arr = values.dropna().to_numpy(dtype=float)
    return bool(np.all(arr == np.round(arr)))


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
