"""Retraining a searched candidate as its trial trained it, for the controls of a verdict
(:mod:`archselect.run._controls`): the order control and the learning curves.

A deep candidate is rebuilt from its best trial (the family's space, its fixed values and the
shared training draw, seed ``plan.seed + trial.number``) and trained under the trial's
fidelity (its epoch cap and early stop on the validation rows); a reference is refitted
as the search fitted it. Scores are per validation row, so two candidates, or one candidate
on two inputs, compare on the same rows with a paired bootstrap interval.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archselect._common.serde import JsonRecord
from archselect.baselines import baseline_inputs, baseline_outputs, fit_baseline
from archselect.core.metrics import MAX_STORED_SCORES, per_sample_scores
from archselect.core.records import TrialRecord
from archselect.plan import Plan
from archselect.prepare import Prepared, load_prepared
from archselect.search import build_network, split_params, train_config
from archselect.train import TrainConfig, predict_outputs, torch_threads, train_network

__all__ = [
    "BOOTSTRAP_ROUNDS",
    "COVERAGE",
    "Fitted",
    "Retraining",
    "fit_network",
    "fit_reference",
    "fitted_from",
    "metric_of",
    "metric_samples",
    "n_scored",
    "out_of_fold_scores",
    "permute",
    "quantiles",
    "retrain",
    "retraining_job",
    "stored_split_scores",
    "subsample",
    "trial_setup",
]

#: Bootstrap resamples of the validation rows behind every interval of the controls, and
#: the intervals' coverage.
BOOTSTRAP_ROUNDS = 2000
COVERAGE = 0.95
#: Resamples drawn at a time (bounds the index array at this many times the rows).
BOOTSTRAP_CHUNK = 200


@dataclass(frozen=True)
class Fitted:
    """One retraining: per-row validation scores, the epochs it trained and its seconds."""

    scores: np.ndarray
    epochs: int
    seconds: float
    #: Why it stopped short of its schedule (the time it was given ran out), else None.
    cut: str | None = None


@dataclass(frozen=True)
class Retraining(JsonRecord):
    """One retraining of the controls, by value, so that it runs alike in this process or in
    a job's (:func:`retraining_job`): a deep candidate's best ``trial`` (or the reference
    ``name``), trained on the pooled train + validation rows at ``train`` and scored on
    those at ``val`` (None: the validation split), with its inputs read in the order
    ``perm`` of what ``kind`` moves (``steps``, ``pixels``; None: as they are)."""

    name: str
    train: tuple[int, ...]
    trial: TrialRecord | None = None
    val: tuple[int, ...] | None = None
    kind: str | None = None
    perm: tuple[int, ...] = ()
    max_epochs: int | None = None
    seed_offset: int = 0


def permute(x: np.ndarray, kind: str, perm: np.ndarray) -> np.ndarray:
    """``x`` with its pixels (``(N, C, H, W)``, every channel alike) or its steps
    (``(N, T, C)``) in the order ``perm``.

    Example:
        >>> x = np.arange(8.0).reshape(1, 2, 2, 2)
        >>> permute(x, "pixels", np.array([3, 2, 1, 0]))[0, 0].tolist()
        [[3.0, 2.0], [1.0, 0.0]]
    """
    if kind == "pixels":
        n, c, h, w = x.shape
        return np.ascontiguousarray(x.reshape(n, c, h * w)[:, :, perm].reshape(n, c, h, w))
    return np.ascontiguousarray(x[:, perm])


def retrain(prepared: Prepared, plan: Plan, job: Retraining, seconds: float | None) -> Fitted:
    """``job`` trained here, within ``seconds`` (None: no limit)."""
    if job.trial is None:
        return fit_reference(prepared, job.name, np.asarray(job.train), plan.seed, seconds)
    x, y = prepared.pooled
    if job.kind is not None:
        x = permute(x, job.kind, np.asarray(job.perm))
    train = np.asarray(job.train, dtype=np.int64)
    n_train = len(prepared.x_train)
    val = np.arange(n_train, len(x)) if job.val is None else np.asarray(job.val, dtype=np.int64)
    return fit_network(
        prepared, plan, job.trial, (x[train], y[train]), (x[val], y[val]),
        max_epochs=job.max_epochs, time_limit_s=seconds, seed_offset=job.seed_offset,
    )  # fmt: skip


def retraining_job(
    folder: str, plan: dict[str, Any], job: dict[str, Any], seconds: float | None
) -> dict[str, Any]:
    """:func:`retrain` in a job's process (:class:`archselect._common.jobs.JobServer`): the
    prepared arrays memory-mapped from ``folder``, one torch thread, as in ``fit``'s own
    process, so that it is the same computation wherever it runs. Arguments and result are
    JSON values."""
    prepared = load_prepared(Path(folder))
    with torch_threads(1):
        fitted = retrain(prepared, Plan.from_dict(plan), Retraining.from_dict(job), seconds)
    return {
        "scores": fitted.scores.tolist(), "epochs": fitted.epochs,
        "seconds": fitted.seconds, "cut": fitted.cut,
    }  # fmt: skip


def fitted_from(value: dict[str, Any]) -> Fitted:
    """The :class:`Fitted` a :func:`retraining_job` returned."""
    return Fitted(
        np.asarray(value["scores"], dtype=np.float64),
        int(value["epochs"]),
        float(value["seconds"]),
        value.get("cut"),
    )


def n_scored(prepared: Prepared) -> int:
    """Validation rows the controls score: as many as a trial stores scores for."""
    return min(len(prepared.y_val), MAX_STORED_SCORES)


def stored_split_scores(scores: np.ndarray | None, prepared: Prepared) -> np.ndarray | None:
    """A trial's (or reference's) stored per-row scores when they are those of the
    validation split (not out-of-fold over the pooled rows), else None."""
    if scores is None or len(scores) != n_scored(prepared):
        return None
    return scores


def out_of_fold_scores(scores: np.ndarray | None, prepared: Prepared) -> bool:
    """Whether stored per-row scores are out of fold over every train + validation row (a
    cross-validated study's reference or trial)."""
    return scores is not None and len(scores) == len(prepared.pooled[1])


def subsample(n: int, rows: int | None, seed: int) -> np.ndarray:
    """Sorted positions of ``rows`` of ``n`` rows drawn with ``seed`` (all for None), as a
    trial draws its low-fidelity training rows."""
    if rows is None or rows >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=rows, replace=False))


def trial_setup(plan: Plan, trial: TrialRecord) -> tuple[str, dict[str, Any], TrainConfig]:
    """The family, builder parameters and training config a trial trained with."""
    family, model_params, shared = split_params(trial.params)
    model_params = {**model_params, **plan.space(family).fixed}
    shared = {**plan.shared.fixed, **shared}
    return family, model_params, train_config(plan.task, shared, plan.seed + trial.number)


def fit_network(
    prepared: Prepared,
    plan: Plan,
    trial: TrialRecord,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    *,
    max_epochs: int | None,
    time_limit_s: float | None,
    seed_offset: int = 0,
) -> Fitted:
    """The trial's configuration trained afresh on ``train`` (early stop on ``val``), scored
    per row on ``val`` (its first :func:`n_scored` rows)."""
    pre = prepared.preprocessing
    family, model_params, config = trial_setup(plan, trial)
    config = dataclasses.replace(config, seed=config.seed + seed_offset)
    net = build_network(pre, family, model_params, seed=config.seed)
    start = time.perf_counter()
    result = train_network(
        net, *train, *val, config, target_std=pre.target_std, max_epochs=max_epochs,
        time_limit_s=time_limit_s, to_limit=time_limit_s is not None,
    )  # fmt: skip
    out = predict_outputs(net, val[0][: n_scored(prepared)])
    cut = None
    # it stops before an epoch that would pass its time (``to_limit``): short of its epochs
    # with no time left for another, it was cut
    epoch_s = result.train_time_s / max(1, result.epochs)
    short = result.epochs < (max_epochs or config.epochs)
    if (
        time_limit_s is not None
        and short
        and time.perf_counter() - start + epoch_s >= time_limit_s
    ):
        cut = f"stopped after {result.epochs} epochs, when its {time_limit_s:.0f} s ran out"
    return Fitted(
        per_sample_scores(pre.task, out, val[1][: len(out)]),
        result.epochs,
        time.perf_counter() - start,
        cut,
    )


def fit_reference(
    prepared: Prepared, name: str, rows: np.ndarray, seed: int, seconds: float | None
) -> Fitted:
    """Reference ``name`` fitted on the training rows at ``rows``, scored per row on the
    validation rows."""
    pre = prepared.preprocessing
    start = time.perf_counter()
    x, y = prepared.x_train[rows], prepared.y_train[rows]
    model, _ = fit_baseline(prepared, name, seed, rows=(x, y), seconds=seconds)
    x_val = prepared.x_val[: n_scored(prepared)]
    out = baseline_outputs(model, baseline_inputs(name, x_val, pre), pre.task, len(pre.classes))
    scores = per_sample_scores(pre.task, out, prepared.y_val[: len(x_val)])
    return Fitted(scores, 0, time.perf_counter() - start)


def metric_of(task: str, scores: np.ndarray, target_std: float) -> float:
    """The task's metric from per-row scores: accuracy, or RMSE in target units."""
    if task == "classification":
        return float(scores.mean())
    return float(np.sqrt(scores.mean()) * target_std)


def metric_samples(
    task: str, scores: tuple[np.ndarray, ...], target_std: float, seed: int
) -> tuple[np.ndarray, ...]:
    """The metric of each of ``scores`` (same rows) over the same bootstrap resamples of
    the rows: one array of :data:`BOOTSTRAP_ROUNDS` values per score array."""
    rng = np.random.default_rng(seed)
    n = len(scores[0])
    out: list[list[np.ndarray]] = [[] for _ in scores]
    for start in range(0, BOOTSTRAP_ROUNDS, BOOTSTRAP_CHUNK):
        idx = rng.integers(0, n, size=(min(BOOTSTRAP_CHUNK, BOOTSTRAP_ROUNDS - start), n))
        for k, s in enumerate(scores):
            means = s[idx].mean(axis=1)
            out[k].append(means if task == "classification" else np.sqrt(means) * target_std)
    return tuple(np.concatenate(parts) for parts in out)


def quantiles(values: np.ndarray) -> tuple[float, float]:
    """The central :data:`COVERAGE` interval of bootstrap values."""
    lo, hi = np.quantile(values, [(1 - COVERAGE) / 2, (1 + COVERAGE) / 2])
    return float(lo), float(hi)
