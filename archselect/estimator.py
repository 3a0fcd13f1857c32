"""scikit-learn estimators around :func:`archselect.fit`: ``ArchSelectClassifier`` / ``Regressor``.

Like ``_run``, this is a driver, not a stage: ``fit`` turns ``X`` into the wide table the
profiler reads, runs the whole pipeline into a run directory (a fresh temporary one per
fit unless ``out`` is given, removed with the estimator) and keeps the exported model in
memory for ``predict``.

Arrays are converted as follows (the same conversion applies at ``predict``):

* 2-D ``(N, F)``: columns ``x0 .. x{F-1}``; the profiler decides the modality from the
  correlation structure (or pass ``modality=`` / ``shape=``).
* 3-D ``(N, T, C)``: a sequence; columns ``t0 .. t{T-1}`` when ``C == 1``, otherwise one
  prefix group per channel ``c0_0 .. c0_{T-1}, c1_0 ..`` (the wide multivariate layout;
  ``fit`` checks that the profile kept the ``C`` channels).
* 4-D ``(N, C, H, W)``: an image; pixel columns in row-major ``(H, W, C)`` order and
  ``shape="HxWxC"``.
* A DataFrame is used as it is (string columns are one-hot encoded for tabular data).
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from archselect.errors import ArchSelectError, DataError, UsageError
from archselect.load import load_table
from archselect.profile import profile_table
from archselect.run import Run, fit
from archselect.search import STUDY_NAME

__all__ = ["ArchSelectClassifier", "ArchSelectRegressor"]

#: Name of the target column in the table handed to the pipeline.
TARGET = "__archselect_target__"
#: Array dimensions: a table, a sequence batch (N, T, C), an image batch (N, C, H, W).
TABLE_NDIM, SEQUENCE_NDIM, IMAGE_NDIM = 2, 3, 4
#: Fewest classes a classifier can learn.
MIN_CLASSES = 2


def _array_to_frame(x: np.ndarray) -> tuple[pd.DataFrame, str | None, str | None]:
    """Array → (wide frame, modality, shape) following the module docstring's layout."""
    n = x.shape[0]
    if x.ndim == TABLE_NDIM:
        return pd.DataFrame(x, columns=[f"x{j}" for j in range(x.shape[1])]), None, None
    if x.ndim == SEQUENCE_NDIM:
        _, t, c = x.shape
        if c == 1:
            cols = [f"t{i}" for i in range(t)]
            return pd.DataFrame(x[:, :, 0], columns=cols), "sequential", None
        wide = x.transpose(0, 2, 1).reshape(n, c * t)  # channel groups one after another
        cols = [f"c{k}_{i}" for k in range(c) for i in range(t)]
        return pd.DataFrame(wide, columns=cols), "sequential", None
    if x.ndim == IMAGE_NDIM:
        _, c, h, w = x.shape
        wide = x.transpose(0, 2, 3, 1).reshape(n, h * w * c)  # (H, W, C) per row
        cols = [f"pixel{j}" for j in range(h * w * c)]
        return pd.DataFrame(wide, columns=cols), "spatial", f"{h}x{w}x{c}"
    raise DataError(
        f"X has {x.ndim} dimensions; pass (N, F) rows, (N, T, C) sequences or (N, C, H, W) images."
    )


class _ArchSelectBase(BaseEstimator):
    """Shared parameters and plumbing of the two estimators."""

    _task = ""
    columns_: tuple[str, ...]
    input_shape_: tuple[int, ...]

    def __init__(
        self,
        *,
        trials: int | None = 4,
        timeout: float | None = None,
        families: tuple[str, ...] | None = None,
        seed: int = 0,
        out: str | Path | None = None,
        storage: str | None = None,
        study_name: str | None = None,
        modality: str | None = None,
        shape: str | None = None,
        spaces: tuple[str | Path, ...] = (),
        max_failures: int | None = None,
    ) -> None:
        self.trials = trials
        self.timeout = timeout
        self.families = families
        self.seed = seed
        self.out = out
        self.storage = storage
        self.study_name = study_name
        self.modality = modality
        self.shape = shape
        self.spaces = spaces
        self.max_failures = max_failures

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are imputed by the fitted preprocessing
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True  # DataFrame text columns become one-hot categories
        return tags

    # --- input ---------------------------------------------------------------------------

    def _frame(self, X: Any, y: Any = None, *, reset: bool) -> tuple[pd.DataFrame, Any]:
        """Validate X (and y) and return the wide frame the pipeline reads."""
        if reset and y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        if isinstance(X, pd.DataFrame) and (reset or hasattr(self, "columns_")):
            return self._table(X, y, reset=reset)
        return self._array(X, y, reset=reset)

    def _table(self, X: pd.DataFrame, y: Any, *, reset: bool) -> tuple[pd.DataFrame, Any]:
        """A DataFrame as it is; at predict, the training columns in their order."""
        if y is not None:
            validate_data(self, X, y, reset=reset, skip_check_array=True)
        else:
            validate_data(self, X, reset=reset, skip_check_array=True)
        if not reset and list(map(str, X.columns)) != list(self.columns_):
            raise DataError(
                "X has other columns than the data the estimator was fitted on; pass the "
                "training columns in their order."
            )
        frame = X.reset_index(drop=True).copy()
        frame.columns = [str(c) for c in frame.columns]
        if y is not None:
            y = column_or_1d(y, warn=True)
            check_consistent_length(frame, y)
        if reset:
            self.columns_ = tuple(frame.columns)
            self.input_ndim_ = TABLE_NDIM
            self.input_shape_ = (len(self.columns_),)
            self.modality_, self.shape_ = self.modality, self.shape
        return frame, y

    def _array(self, X: Any, y: Any, *, reset: bool) -> tuple[pd.DataFrame, Any]:
        """An array (or a DataFrame at predict for an estimator fitted on arrays) → the wide
        frame; rows for an estimator fitted on a DataFrame get its columns, by position (as
        scikit-learn reads them: it has warned that X has no feature names)."""
        by_name = not reset and hasattr(self, "columns_")
        x = np.asarray(X) if not hasattr(X, "toarray") else X
        ndim = getattr(x, "ndim", TABLE_NDIM)
        if ndim == TABLE_NDIM:
            check = {"ensure_all_finite": "allow-nan", "dtype": None if by_name else np.float64}
            if y is not None:
                x, y = validate_data(self, x, y, reset=reset, **check)
            else:
                x = validate_data(self, x, reset=reset, **check)
        else:
            x = check_array(x, allow_nd=True, ensure_all_finite="allow-nan", dtype=np.float64)
            if y is not None:
                y = column_or_1d(y, warn=True)
                check_consistent_length(x, y)
            if reset:
                self.n_features_in_ = int(np.prod(x.shape[1:]))
        if reset:
            self.input_ndim_ = int(x.ndim)
            self.input_shape_ = tuple(int(d) for d in x.shape[1:])
        elif x.ndim != self.input_ndim_ or tuple(x.shape[1:]) != self.input_shape_:
            raise DataError(
                f"X has shape {tuple(x.shape)} but the estimator was fitted on samples of "
                f"shape {self.input_shape_}; pass data of the training shape."
            )
        if by_name:  # the training columns, with the types the values have
            return pd.DataFrame(x, columns=list(self.columns_)).infer_objects(), y
        frame, modality, shape = _array_to_frame(np.asarray(x, dtype=np.float64))
        if reset:
            self.modality_ = self.modality or modality
            self.shape_ = self.shape or shape
        return frame, y

    # --- fitting -------------------------------------------------------------------------

    def _check_layout(self, frame: pd.DataFrame) -> None:
        """Refuse (N, T, C>1) arrays when the profiler cannot read channel groups."""
        if self.input_ndim_ != SEQUENCE_NDIM or self.input_shape_[1] == 1:
            return
        profile = profile_table(
            load_table(frame), target=TARGET, task=self._task, modality="sequential"
        )
        if tuple(profile.input_shape) != self.input_shape_:
            raise DataError(
                f"X holds {self.input_shape_[1]}-channel sequences, but this version's "
                f"profiler reads them as shape {profile.input_shape}; pass one channel per "
                "fit or flatten X to (N, T*C) with modality='tabular'."
            )

    def _run_pipeline(self, frame: pd.DataFrame) -> None:
        if self.out is not None:
            run_dir = Path(self.out)
        else:  # removed with the estimator: the fitted model lives in memory (model_)
            root = tempfile.mkdtemp(prefix="archselect-")
            weakref.finalize(self, shutil.rmtree, root, ignore_errors=True)
            run_dir = Path(root) / "run"
        study = self.study_name or (
            f"{STUDY_NAME}-{uuid.uuid4().hex[:12]}" if self.storage else STUDY_NAME
        )
        run: Run = fit(
            frame,
            target=TARGET,
            out=run_dir,
            trials=self.trials,
            timeout=self.timeout,
            seed=self.seed,
            storage=self.storage,
            study_name=study,
            families=self.families or None,
            task=self._task,
            modality=self.modality_,
            shape=self.shape_,
            spaces=self.spaces,
            force=True,
            max_failures=self.max_failures,
            command=f"{type(self).__name__}.fit",
        )
        rec = run.recommendation
        if rec.recommended is None:
            raise ArchSelectError(
                f"No model was exported: no trial finished and no reference could be "
                f"exported (see {run.report_path}); raise trials or timeout."
            )
        self.run_dir_ = run.run_dir
        # the architecture verdict (None when no deep family was measured) and the model kept
        self.best_family_ = rec.family
        self.recommended_ = rec.recommended
        self.recommendation_ = rec
        self.model_ = run.model

    def _outputs(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        frame, _ = self._frame(X, reset=False)
        if len(frame) == 0:
            raise UsageError("X has no rows; pass at least one row to predict.")
        return self.model_.predict_frame(frame)


class ArchSelectClassifier(ClassifierMixin, _ArchSelectBase):
    """Search the architecture families that fit ``X`` and keep the best classifier.

    Args:
        trials: Trial budget of the search (all families together).
        timeout: Seconds budget of the search (as ``--timeout``: trials still training then
            stop, except a family's first).
        families: Restrict the search to these families (e.g. ``("cnn2d", "mlp")``).
        seed: Seed of the split, the sampler and training.
        out: Run directory (replaced at each fit); when ``None``, a fresh temporary one that
            is removed when the estimator is garbage-collected (pass ``out`` to keep it).
        storage: Optuna storage URL (default SQLite ``out/study.db``).
        study_name: Study name (default ``archselect``, unique per fit with ``storage``).
        modality: Force ``spatial``, ``sequential`` or ``tabular``.
        shape: Image shape ``HxWxC`` of 2-D input rows.
        spaces: TOML search spaces replacing shipped ones (``name = "shared"`` for training).
        max_failures: Stop the search after this many failed trials.

    Attributes:
        classes_: The class labels, sorted.
        best_family_: The recommended family. run_dir_: The run directory of the last fit.

    Example:
        >>> from sklearn.datasets import load_digits  # doctest: +SKIP
        >>> X, y = load_digits(return_X_y=True)  # doctest: +SKIP
        >>> clf = ArchSelectClassifier(trials=4).fit(X.reshape(-1, 1, 8, 8), y)  # doctest: +SKIP
        >>> clf.best_family_  # doctest: +SKIP
        'cnn2d'
    """

    _task = "classification"

    def fit(self, X: Any, y: Any) -> ArchSelectClassifier:
        """Run the search on ``X``, ``y`` and keep the recommended model."""
        frame, y = self._frame(X, y, reset=True)
        check_classification_targets(y)
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        if len(self.classes_) < MIN_CLASSES:
            raise DataError(
                f"y holds one class only ({str(self.classes_[0])!r}); classification needs at "
                "least two."
            )
        frame[TARGET] = codes.astype(np.int64)
        self._check_layout(frame)
        self._run_pipeline(frame)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        out = self._outputs(X)
        proba = np.zeros((len(out), len(self.classes_)))
        for cls in self.model_.preprocessing.classes:
            proba[:, int(cls)] = out[f"proba_{cls}"].to_numpy(dtype=np.float64)
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels."""
        proba = self.predict_proba(X)
        return np.asarray(self.classes_[proba.argmax(axis=1)])


class ArchSelectRegressor(RegressorMixin, _ArchSelectBase):
    """Search the architecture families that fit ``X`` and keep the best regressor.

    Takes the same parameters as :class:`ArchSelectClassifier`.

    Example:
        >>> import numpy as np  # doctest: +SKIP
        >>> X = np.random.rand(200, 64, 1); y = X[:, :, 0].sum(axis=1)  # doctest: +SKIP
        >>> ArchSelectRegressor(trials=4).fit(X, y).best_family_  # doctest: +SKIP
        'cnn1d'
    """

    _task = "regression"

    def fit(self, X: Any, y: Any) -> ArchSelectRegressor:
        """Run the search on ``X``, ``y`` and keep the recommended model."""
        frame, y = self._frame(X, y, reset=True)
        y = np.asarray(y)
        if not np.issubdtype(y.dtype, np.number):
            y = check_array(y, ensure_2d=False, dtype=np.float64)
        y = y.astype(np.float64)
        if not np.all(np.isfinite(y)):
            raise DataError("y holds missing or infinite values; regression needs finite targets.")
        frame[TARGET] = y
        self._check_layout(frame)
        self._run_pipeline(frame)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values in the units of ``y``."""
        return self._outputs(X)["prediction"].to_numpy(dtype=np.float64)
