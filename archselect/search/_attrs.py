"""A trial's records: its figures written to the study in one transaction, the weights a
family's best trial keeps, the chance level, and every trial read back as a
:class:`TrialRecord`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import optuna
import torch

from archselect.core.ensemble_selection import encode_outputs
from archselect.core.metrics import encode_scores, per_sample_brier, per_sample_scores, score
from archselect.core.records import TrialRecord
from archselect.plan import Plan
from archselect.prepare import Prepared
from archselect.search._constants import ATTR_WEIGHTS, BATCH_LATENCY_ATTR, LENGTH_LATENCY_ATTR
from archselect.train import TrainResult


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities of logits ``(N, K)`` (what the ensemble selection averages)."""
    z = logits - logits.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def chance_level(prepared: Prepared, folds: bool) -> float:
    """The score of a model that learned nothing, on the rows trials are scored on (the
    validation rows; the pooled train + validation rows where trials cross-validate,
    ``folds``): predicting the training rows' majority class (accuracy), or their mean
    (RMSE, in the target's units).

    Example:
        >>> import numpy as np, pandas as pd
        >>> from archselect.load import load_table
        >>> from archselect.prepare import prepare
        >>> from archselect.profile import profile_table
        >>> rng = np.random.default_rng(0)
        >>> frame = pd.DataFrame({"a": rng.normal(size=200), "y": [0, 0, 0, 1] * 50})
        >>> table = load_table(frame)
        >>> round(chance_level(prepare(table, profile_table(table)), folds=False), 2)
        0.75
    """
    pre = prepared.preprocessing
    y_train = np.asarray(prepared.y_train)
    y = np.asarray(prepared.pooled[1] if folds else prepared.y_val)
    if pre.task == "classification":
        majority = int(np.bincount(y_train.astype(np.int64)).argmax())
        return float(np.mean(y.astype(np.int64) == majority))
    mean = y_train.reshape(len(y_train), -1).mean(axis=0)
    flat = y.reshape(len(y), -1)
    return float(np.sqrt(np.mean((flat - mean) ** 2)) * pre.target_std)


def write_attrs(trial: optuna.Trial, attrs: dict[str, Any]) -> None:
    """Set the trial's user attributes in one storage transaction where the storage can
    (:meth:`archselect.search._storage._SlotStorage.set_trial_user_attrs`), one by one
    otherwise: a trial wrote ~26 separate SQLite transactions before (0.11 s each trial)."""
    storage = getattr(trial.storage, "_backend", trial.storage)
    bulk = getattr(storage, "set_trial_user_attrs", None)
    if bulk is None:
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        return
    bulk(trial._trial_id, attrs)
    trial._cached_frozen_trial.user_attrs.update(attrs)


class _Outcome(NamedTuple):
    """One trial's training: the run's result, outputs and the seconds spent training."""

    result: TrainResult
    val_out: np.ndarray
    y_val: np.ndarray
    test_out: np.ndarray
    best_epoch: int
    rows: int
    train_s: float
    #: The cross-validation folds the validation figures are out of (None: one split).
    cv_folds: int | None = None


def weights_file(folder: str | Path, number: int) -> Path:
    """Where trial ``number``'s weights are kept in the run's weights folder."""
    return Path(folder) / f"trial_{number}.pt"


def _keep_weights(
    trial: optuna.Trial, family: str, net: torch.nn.Module, value: float, direction: str
) -> None:
    """Save the trial's weights (its ``state_dict``) when it is its family's best so far
    and the run keeps weights (``ATTR_WEIGHTS``: a folder on this machine), so the final
    model can be the best trial's own network instead of a refit the budget cannot pay
    for (:mod:`archselect.run._refit`)."""
    folder = trial.study.user_attrs.get(ATTR_WEIGHTS)
    if not folder or not Path(folder).is_dir():
        return  # no time budget, or a worker on another machine
    sign = 1.0 if direction == "maximize" else -1.0
    done = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    best = [
        sign * t.values[0]
        for t in done
        if t.params.get("family") == family and t.values and t.number != trial.number
    ]
    if best and sign * value < max(best):
        return
    tmp = weights_file(folder, trial.number).with_suffix(".tmp")
    torch.save(net.state_dict(), tmp)
    tmp.replace(weights_file(folder, trial.number))


def _measured_attrs(
    prepared: Prepared, plan: Plan, outcome: _Outcome, latency_b1: float
) -> dict[str, Any]:
    """Every figure of a finished trial, as the user attributes :func:`trial_records`
    reads back."""
    pre = prepared.preprocessing
    result, rows = outcome.result, outcome.rows
    attrs: dict[str, Any] = {
        "val_metric": result.val_metric,
        "test_metric": score(plan.task, outcome.test_out, prepared.y_test, pre.target_std),
        "train_metric": result.train_metric,
        "gap": result.gap,
        "train_time_s": result.train_time_s,
        "epochs": result.epochs,
        "best_epoch": outcome.best_epoch,
        "cv_folds": outcome.cv_folds,
        "n_params": result.n_params,
        "peak_memory_mb": result.peak_memory_mb,
        "latency_b1_ms": latency_b1,
        "device": result.device,
        "sec_per_epoch_row": result.train_time_s / max(1, result.epochs * rows),
        "cpu_sec_per_epoch_row": (result.cpu_time_s or 0.0) / max(1, result.epochs * rows),
        "history_val": list(result.history_val),
        "history_train": list(result.history_train),
        "val_scores_b64": encode_scores(
            per_sample_scores(plan.task, outcome.val_out, outcome.y_val)
        ),
    }
    val_out, test_out, y_val = outcome.val_out, outcome.test_out, outcome.y_val
    if plan.task == "classification":
        attrs["val_brier_b64"] = encode_scores(per_sample_brier(val_out, y_val))
        attrs["val_outputs_b64"] = encode_outputs(_softmax(val_out))
        attrs["test_outputs_b64"] = encode_outputs(_softmax(test_out))
    elif pre.forecast is None:  # regression: predictions, in the per-row scores' units
        attrs["val_outputs_b64"] = encode_outputs(val_out, precise=True)
        attrs["test_outputs_b64"] = encode_outputs(test_out, precise=True)
    if pre.forecast is not None:
        attrs.update(_forecast_attrs(prepared, val_out, test_out))
    return attrs


def _forecast_attrs(
    prepared: Prepared, val_out: np.ndarray, test_out: np.ndarray
) -> dict[str, Any]:
    """MAE, MASE and sMAPE next to the RMSE, and the test-period forecast for the report's
    plot (:meth:`Prepared.forecast_scores`, :meth:`Prepared.plot_forecast`)."""
    extra: dict[str, float] = {}
    for part, out in (("val", val_out), ("test", test_out)):
        extra.update({f"{part}_{k}": v for k, v in prepared.forecast_scores(part, out).items()})
    return {"extra_metrics": extra, "test_forecast": prepared.plot_forecast(test_out)}


def trial_records(study: optuna.Study) -> list[TrialRecord]:
    """Every trial of the study as a :class:`TrialRecord`, by number."""
    records = []
    fields = set(TrialRecord.__dataclass_fields__)
    by_length = study.user_attrs.get(LENGTH_LATENCY_ATTR, {})
    by_batch = study.user_attrs.get(BATCH_LATENCY_ATTR, {})
    for t in study.get_trials(deepcopy=False):
        if t.state == optuna.trial.TrialState.WAITING:
            continue  # a queued slot, not a trial yet
        attrs = {k: v for k, v in t.user_attrs.items() if k in fields}
        attrs.update(by_length.get(str(t.number), {}))
        attrs.update(by_batch.get(str(t.number), {}))
        attrs["history_val"] = tuple(attrs.get("history_val") or t.intermediate_values.values())
        duration = t.duration.total_seconds() if t.duration else None
        done = t.datetime_complete.timestamp() if t.datetime_complete else None
        records.append(
            TrialRecord.from_dict(
                {
                    **attrs,
                    "number": t.number,
                    "family": str(t.params.get("family", attrs.get("family", "?"))),
                    "state": t.state.name,
                    "params": dict(t.params),
                    "duration_s": duration,
                    "completed_unix": done,
                }
            )
        )
    return sorted(records, key=lambda r: r.number)
