"""Non-deep reference models on the same split (scikit-learn), so the report can say
how much a deep family earns."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge

from archselect._serde import JsonRecord
from archselect.prepare import Prepared
from archselect.train import score

__all__ = ["BaselineResult", "run_baselines"]

#: Iteration cap of the linear baselines.
MAX_ITER = 1000


@dataclass(frozen=True)
class BaselineResult(JsonRecord):
    """One reference model's scores on the validation and test splits."""

    name: str
    val_metric: float | None
    test_metric: float | None
    train_time_s: float
    latency_b256_ms: float | None = None
    error: str | None = None


def _make(name: str, task: str, seed: int):  # type: ignore[no-untyped-def]
    if name == "logistic_regression":
        return LogisticRegression(max_iter=MAX_ITER)
    if name == "ridge":
        return Ridge()
    if name == "hist_gradient_boosting":
        cls = (
            HistGradientBoostingClassifier
            if task == "classification"
            else HistGradientBoostingRegressor
        )
        return cls(random_state=seed)
    raise ValueError(f"unknown baseline {name!r}")


def _outputs(model, x: np.ndarray, task: str) -> np.ndarray:  # type: ignore[no-untyped-def]
    if task == "classification":
        proba = model.predict_proba(x)
        full = np.zeros((len(x), int(model.classes_.max()) + 1))
        full[:, model.classes_] = proba
        return full
    return model.predict(x)[:, None]


def run_baselines(
    prepared: Prepared, names: tuple[str, ...], *, seed: int = 0
) -> list[BaselineResult]:
    """Fit each baseline on flattened training features; score validation and test."""
    task = prepared.preprocessing.task
    std = prepared.preprocessing.target_std
    flat = [a.reshape(len(a), -1) for a in (prepared.x_train, prepared.x_val, prepared.x_test)]
    results = []
    for name in names:
        start = time.perf_counter()
        try:
            model = _make(name, task, seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(flat[0], prepared.y_train)
            elapsed = time.perf_counter() - start
            t0 = time.perf_counter()
            val_out = _outputs(model, flat[1], task)
            latency = (time.perf_counter() - t0) / max(1, len(flat[1])) * 1000
            results.append(
                BaselineResult(
                    name=name,
                    val_metric=score(task, val_out, prepared.y_val, std),
                    test_metric=score(task, _outputs(model, flat[2], task), prepared.y_test, std),
                    train_time_s=elapsed,
                    latency_b256_ms=latency,
                )
            )
        except Exception as exc:  # a baseline failing must not stop the run
            results.append(
                BaselineResult(
                    name=name,
                    val_metric=None,
                    test_metric=None,
                    train_time_s=time.perf_counter() - start,
                    error=f"{type(exc).__name__}: {exc}",
                )
            )
    return results
