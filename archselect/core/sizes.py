"""Sizes of the reference models: how many numbers a fitted one stores (counted as a
network's parameters are), and how many training rows one fits on, chosen by the data's
size as its authors advise.

Torch- and scikit-learn-free: it walks the fitted object's arrays and attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "KNN_MAX_WORK",
    "MINIROCKET_MAX_ROWS",
    "SIZE_MAX_DEPTH",
    "SVM_MAX_ROWS",
    "fit_rows",
    "fitted_size",
]

#: The RBF SVM's fit grows with the square of the rows: above this many training rows it
#: fits a random subsample of them (with a note).
SVM_MAX_ROWS = 10_000
#: MiniRocket's head (ridge with cross-validated alphas on ~10,000 features) fits at most
#: this many training rows: measured on MNIST-1D's 38,400 (``/tmp/ff_findings``), 2,500 rows
#: took 15 s and 1.7 GB for 91 % test accuracy, 5,000 rows 82 s, all of them > 19 minutes;
#: and on its 3,200 (issue 29, one thread), 2,500 rows 7.4 s and 1,216 MB peak resident
#: memory for 91.5 % validation accuracy, 1,500 rows 3.2 s and 949 MB for 89.4 % (the head's
#: float64 copies of rows x 10,000 features): at 64,000 rows the run's processes then hold
#: under 2 GB together.
MINIROCKET_MAX_ROWS = 1_500
#: Nearest neighbours: at most this many (validation row, training row, feature) triples;
#: 12,800 x 38,400 x 40 took 5 s.
KNN_MAX_WORK = 2e10
KNN_MIN_ROWS = 1_000


#: How deep :func:`fitted_size` follows nested estimators and containers.
SIZE_MAX_DEPTH = 6


def fitted_size(model: Any) -> int:
    """How many numbers a fitted model stores: its size, counted as a network's parameters are.

    Numeric arrays count their elements, a fitted vocabulary its entries; nested estimators
    (pipeline steps, trees, kernels) are followed. The count does not depend on timing, so a
    tie between a reference and a family can be settled on it reproducibly.

    Example:
        >>> import numpy as np
        >>> from sklearn.linear_model import LogisticRegression
        >>> lr = LogisticRegression().fit(np.eye(3)[:, :2], [0, 1, 1])
        >>> fitted_size(lr)  # coef_ (1 x 2) + intercept_ + classes_ (2) + n_iter_
        6
    """
    seen: set[int] = set()

    def count(obj: Any, depth: int) -> int:
        if depth > SIZE_MAX_DEPTH or id(obj) in seen or isinstance(obj, str | bytes | type):
            return 0
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind in "biufc" or obj.dtype.names:
                return int(obj.size)
            return sum(count(v, depth + 1) for v in obj.ravel()) if obj.dtype == object else 0
        if isinstance(obj, dict):
            return (
                len(obj)
                if all(isinstance(k, str) for k in obj) and depth > 0
                else sum(count(v, depth + 1) for v in obj.values())
            )
        if isinstance(obj, list | tuple):
            return sum(count(v, depth + 1) for v in obj)
        attrs = getattr(obj, "__dict__", None)
        if attrs is None or type(obj).__module__.split(".")[0] not in _SIZE_PACKAGES:
            return 0
        return sum(
            count(v, depth + 1)
            for k, v in attrs.items()
            if k.endswith("_") or k.startswith("_fit") or k in _SIZE_KEYS
        )

    return count(model, 0)


#: Packages whose objects :func:`fitted_size` looks inside, and the non-``_``-suffixed
#: attributes that hold fitted state (pipeline steps, tree nodes, MiniRocket's kernels).
_SIZE_PACKAGES = frozenset({"sklearn", "aeon", "archselect"})
_SIZE_KEYS = frozenset({"est", "steps", "nodes", "_predictors", "parameters"})


def fit_rows(
    name: str, n_train: int, n_val: int, n_features: int, seed: int
) -> tuple[np.ndarray | None, str | None]:
    """The training rows a reference fits on, chosen by size as its authors advise, and
    what was cut, in words (None, None: every row).

    MiniRocket's ridge head with cross-validated alphas grows as rows² x 10,000 features:
    beyond :data:`MINIROCKET_MAX_ROWS` it fits a random subsample (on MNIST-1D's 38,400
    rows, 2,500 of them took 15 s and 1.7 GB for 91 %, all of them over 19 minutes and 13
    GB). The RBF SVM
    grows with the square of the rows: :data:`SVM_MAX_ROWS`. Nearest neighbours compare
    every validation row with every training row: at most :data:`KNN_MAX_WORK`
    row-pairs x features.

    Example:
        >>> rows, note = fit_rows("minirocket", 38_400, 12_800, 40, 0)
        >>> len(rows), note[:48]
        (1500, 'fitted on a random 1500 of 38400 training rows (')
        >>> fit_rows("logistic_regression", 38_400, 12_800, 40, 0)
        (None, None)
    """
    cap, why = None, ""
    if name == "minirocket" and n_train > MINIROCKET_MAX_ROWS:
        cap, why = MINIROCKET_MAX_ROWS, "its ridge head grows with the rows squared"
    elif name == "svm_rbf" and n_train > SVM_MAX_ROWS:
        cap, why = SVM_MAX_ROWS, "its fit grows with the rows squared"
    elif name in ("knn_euclidean", "k_nearest_neighbours"):
        most = int(KNN_MAX_WORK // max(1, n_val * n_features))
        if n_train > most:
            cap = max(KNN_MIN_ROWS, most)
            why = "every validation row is compared with every training row"
    if cap is None or cap >= n_train:
        return None, None
    rows = np.sort(np.random.default_rng(seed).choice(n_train, size=cap, replace=False))
    return rows, f"fitted on a random {cap} of {n_train} training rows ({why})"
