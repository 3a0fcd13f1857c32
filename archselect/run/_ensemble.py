"""The driver's part of the ensemble of the best trials: its candidate row from the run's
labels, and — when it is recommended — the refit of each member and the export.

Each family member is refitted as a recommended family is (the driver's ``refit``: train +
validation, its trial's best epoch count, the small-data seed average, within the time
left); each reference member as a recommended reference is (:func:`fit_baseline`). The
weighted mean of their class probabilities (classification) or of their predictions
(regression, standardised units) on the test rows is the exported ensemble's test figure.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import numpy as np
import torch

from archselect.baselines import fit_baseline
from archselect.core.ensemble_selection import log_outputs
from archselect.core.metrics import score
from archselect.core.recommendation import Recommendation
from archselect.core.records import SearchResult, TrialRecord
from archselect.core.stored import evaluate_outputs
from archselect.export import (
    ENSEMBLE_KIND,
    ModelConfig,
    export_baseline,
    export_model,
    write_ensemble,
)
from archselect.layouts import plugin_for
from archselect.plan import Plan
from archselect.prepare import Prepared, cross_folds
from archselect.search import split_params
from archselect.select import (
    ENSEMBLE,
    EnsembleLabels,
    at_chance_families,
    ensemble_row,
    paired_interval,
    with_ensemble,
    with_final_test,
)
from archselect.train import predict_outputs

__all__ = ["add_ensemble", "ensemble_labels", "export_ensemble"]

_Rec = TypeVar("_Rec", bound=Recommendation)


def ensemble_labels(prepared: Prepared, seed: int) -> EnsembleLabels:
    """The labels of the rows the candidates were scored on (out-of-fold rows on small
    data, else the validation rows) and of the test rows."""
    cv = bool(cross_folds(prepared, seed))
    val = prepared.pooled[1] if cv else prepared.y_val
    return EnsembleLabels(
        val=np.asarray(val),
        test=np.asarray(prepared.y_test),
        cv=cv,
        target_std=float(prepared.preprocessing.target_std),
    )


def add_ensemble(rec: _Rec, result: SearchResult, plan: Plan, prepared: Prepared) -> _Rec:
    """``rec`` with the ensemble row (and the ensemble recommended when it wins clearly)."""
    # a forecast's references are not exportable and an ensemble export cannot forecast
    # (:data:`archselect.report._ensemble.FORECAST_NOTE`)
    forecast = plugin_for(plan.layout).forecast or prepared.preprocessing.forecast is not None
    if forecast or rec.family is None:
        return rec
    row = ensemble_row(
        result,
        ensemble_labels(prepared, plan.seed),
        plan.seed,
        paired_interval,
        exclude=at_chance_families(rec),  # a family at chance level is not a measurement
    )
    return with_ensemble(rec, row)


def _member_outputs(out: np.ndarray, network: bool, task: str) -> np.ndarray:
    """A member's test outputs as the ensemble averages them: class probabilities, or one
    prediction per row (standardised units)."""
    if task != "classification":
        return np.asarray(out, dtype=np.float64).reshape(len(out), -1)[:, :1]
    if network:
        return torch.softmax(torch.from_numpy(out).double(), dim=1).numpy()
    return np.asarray(out, dtype=np.float64)


def _write_network(folder: Path, *, net: Any, pre: Any, config: ModelConfig) -> None:
    export_model(folder, net, pre, config)


def _write_reference(folder: Path, *, est: Any, pre: Any, config: ModelConfig) -> None:
    export_baseline(folder, est, pre, config)


def export_ensemble(
    run_dir: Path,
    prepared: Prepared,
    plan: Plan,
    rec: _Rec,
    result: SearchResult,
    seed: int,
    *,
    refit: Callable[..., tuple[Any, float | None, Any]],
    time_left: float | None,
    model_dir: str,
) -> _Rec:
    """Refit every member of ``rec.ensemble`` on train + validation, score their weighted
    mean on the test rows and export it into ``run_dir / model_dir``.

    ``refit(prepared, rec, trial, seed, time_left=…)`` is the driver's refit of one family
    (returns the network, its test metric and how it was trained); ``time_left`` (seconds,
    None without ``--timeout``) is shared evenly among the members still to train.
    """
    pre = prepared.preprocessing
    row = rec.ensemble
    trials = {t.number: t for t in result.trials}
    start = time.perf_counter()
    parts: list[tuple[dict[str, Any], Callable[[Path], None]]] = []
    cols = len(pre.classes) if pre.task == "classification" else 1
    test_out = np.zeros((len(prepared.x_test), cols))
    notes, refits = [], []
    for i, m in enumerate(row["members"]):
        share = None
        if time_left is not None:
            spent = time.perf_counter() - start
            share = max(0.0, time_left - spent) / (len(row["members"]) - i)
        member = _fit_member(prepared, rec, m, trials, seed, share, refit)
        parts.append((m, member.write))
        refits.append(member.info)
        if member.note:
            notes.append(f"{m['name']}: {member.note}")
        test_out += float(m["weight"]) * member.out
    final_test = (
        score(pre.task, test_out, prepared.y_test, pre.target_std)
        if len(prepared.y_test)
        else None
    )
    write_ensemble(
        run_dir / model_dir,
        parts,
        ModelConfig(
            family=ENSEMBLE,
            params={},
            input_shape=pre.input_shape,
            n_outputs=pre.n_outputs,
            layout=pre.layout,
            task=pre.task,
            metrics={"test_" + plan.metric: final_test if final_test is not None else np.nan},
            ensemble=len(parts),
            note="; ".join(notes) or None,
            kind=ENSEMBLE_KIND,
        ),
        pre,
    )
    final_model = {
        "members": refits,
        "train_time_s": round(time.perf_counter() - start, 3),
        "note": "; ".join(notes) or None,
    }
    return _tested(rec, prepared, plan, test_out, final_test, final_model, seed)


class _Member(NamedTuple):
    """One refitted member: its test outputs, how to write it, how it was trained."""

    out: np.ndarray
    write: Callable[[Path], None]
    info: dict[str, Any]
    note: str | None = None


def _fit_member(
    prepared: Prepared,
    rec: _Rec,
    m: dict[str, Any],
    trials: dict[int, TrialRecord],
    seed: int,
    share: float | None,
    refit: Callable[..., tuple[Any, float | None, Any]],
) -> _Member:
    """Refit one member (a family's trial, or a reference) within ``share`` seconds."""
    pre = prepared.preprocessing
    config = ModelConfig(
        family=m["family"],
        params={},
        input_shape=pre.input_shape,
        n_outputs=pre.n_outputs,
        layout=pre.layout,
        task=pre.task,
    )
    if m["kind"] != "family":
        estimator, raw = fit_baseline(prepared, m["name"], seed, seconds=share)
        config = dataclasses.replace(config, kind="baseline")
        write = partial(_write_reference, est=estimator, pre=pre, config=config)
        return _Member(_member_outputs(raw, False, pre.task), write, {"name": m["name"]})
    trial = trials[m["trial"]]
    member_rec = dataclasses.replace(rec, params=dict(trial.params), trial=trial.number)
    net, test, final = refit(prepared, member_rec, trial, seed, time_left=share)
    out = _member_outputs(predict_outputs(net, prepared.x_test), True, pre.task)
    _, model_params, _ = split_params(trial.params)
    config = dataclasses.replace(
        config, params=model_params, ensemble=final.seeds, note=final.note
    )
    info = {"name": m["name"], "test_metric": test, **final.to_dict()}
    write = partial(_write_network, net=net, pre=pre, config=config)
    return _Member(out, write, info, final.note)


def _tested(
    rec: _Rec,
    prepared: Prepared,
    plan: Plan,
    test_out: np.ndarray,
    final_test: float | None,
    final_model: dict[str, Any],
    seed: int,
) -> _Rec:
    """``rec`` with the exported ensemble's test figure (the headline's test sentence comes
    from the verdict's words, :func:`archselect.select.with_final_test`) and, for the stored
    recommendation, how it was trained and its test evaluation."""
    pre = prepared.preprocessing
    extra: dict[str, Any] = {}
    if hasattr(rec, "final_model"):  # the stored recommendation: how it was trained, tested
        extra["final_model"] = final_model
        try:
            extra["evaluation"] = evaluate_outputs(
                pre.task,
                log_outputs(test_out) if pre.task == "classification" else test_out,
                prepared.y_test,
                classes=pre.classes,
                target_mean=pre.target_mean,
                target_std=pre.target_std,
                seed=seed,
            )
        except Exception:  # a failure here costs the plot, never the run
            extra["evaluation"] = None
    # the headline's test sentence comes from the verdict's words (with_final_test)
    return with_final_test(
        dataclasses.replace(
            rec, ensemble={**rec.ensemble, "final_test_metric": final_test}, **extra
        ),
        final_test,
    )
