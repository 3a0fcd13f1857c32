"""The networks of a refit, trained on two lanes: ``fit``'s process and a job beside it.

Not a stage. A refit trains one network per seed (several on small data), and the exported
model's twin on every labelled row; :func:`train_members` hands them to
:class:`archselect.run._lanes.Lanes`, so on the CPU two train at once. A member trained as a
job (:func:`member_job`) reads the prepared arrays from the run's work folder, trains with
one torch thread as ``fit``'s process does, and sends its weights back as a tensor file
read with ``weights_only``: the same training on either lane (its weights equal up to the
order of floating-point sums).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from archselect.models.ensemble import MeanEnsemble
from archselect.prepare import Prepared, load_prepared
from archselect.run._lanes import Job, Lanes
from archselect.search import at_resolution, build_network, split_params, train_config
from archselect.train import torch_threads, train_network

__all__ = [
    "MEMBER_JOB",
    "Member",
    "Trained",
    "labelled",
    "mean_of",
    "member_job",
    "train_members",
    "train_on_lanes",
]


def labelled(prepared: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Every labelled row: train + validation + test (the exported model's rows)."""
    x, y = prepared.pooled
    if not len(prepared.x_test):
        return x, y
    return np.concatenate([x, prepared.x_test]), np.concatenate([y, prepared.y_test])


#: The job that trains one member of a refit (see :func:`member_job`).
MEMBER_JOB = "archselect.run._members:member_job"


class Member(NamedTuple):
    """One network of a refit: its seed, and whether it trains on every labelled row (else
    on train + validation)."""

    seed: int
    all_rows: bool = False


class Trained(NamedTuple):
    net: Any
    seconds: float
    cpu_s: float


def _train_one(prepared: Prepared, params: dict[str, Any], member: Member, epochs: int) -> Trained:
    """One member of a refit, trained here with the current torch threads."""
    family, model_params, shared = split_params(params)
    pre = prepared.preprocessing
    x, y = labelled(prepared) if member.all_rows else prepared.pooled
    net = build_network(pre, family, model_params, seed=member.seed)
    result = train_network(
        net, x, y, prepared.x_val, prepared.y_val,
        train_config(pre.task, shared, member.seed),
        fixed_epochs=epochs, target_std=pre.target_std,
    )  # fmt: skip
    return Trained(net.eval(), result.train_time_s, result.cpu_time_s or 0.0)


def member_job(
    folder: str, params: dict[str, Any], resample: int, member: list[Any], epochs: int, out: str
) -> list[float]:
    """:func:`_train_one` in a job's process (:class:`archselect.run._lanes.Lanes`): the
    prepared arrays memory-mapped from ``folder`` (at 1/``resample`` of their resolution, as
    the refit reads them), one torch thread, as in ``fit``'s process, so that the weights are
    the same training wherever it runs. The weights go to ``out`` (a tensor file, read back with
    ``weights_only``); returns the training's wall and CPU seconds."""
    import torch

    prepared = at_resolution(load_prepared(Path(folder)), resample)
    with torch_threads(1):
        trained = _train_one(prepared, params, Member(int(member[0]), bool(member[1])), epochs)
    torch.save(trained.net.state_dict(), out)
    return [trained.seconds, trained.cpu_s]


def train_on_lanes(
    prepared: Prepared,
    params: dict[str, Any],
    members: list[Member],
    epochs: int,
    threads: int | None,
    lanes: Lanes | None,
) -> tuple[list[Trained], int]:
    """Every member of ``members`` trained for ``epochs`` epochs on ``lanes`` (default: here
    alone, with ``threads`` torch threads); returns them and the threads used here."""
    import torch

    lanes = lanes or Lanes()
    pre = prepared.preprocessing
    family, model_params, _ = split_params(params)
    work = Path(
        tempfile.mkdtemp(prefix="members-", dir=lanes.folder.parent if lanes.folder else None)
    )

    def weights(member: Member) -> Path:
        return work / f"{member.seed}-{int(member.all_rows)}.pt"

    def as_job(member: Member) -> Job:
        args = (
            str(lanes.folder),
            params,
            pre.resample,
            list(member),
            epochs,
            str(weights(member)),
        )
        return Job(MEMBER_JOB, args, None)

    def back(member: Member, value: Any) -> Trained:
        out = weights(member)
        net = build_network(pre, family, model_params, seed=member.seed)
        net.load_state_dict(torch.load(out, map_location="cpu", weights_only=True))
        out.unlink(missing_ok=True)
        return Trained(net.eval(), float(value[0]), float(value[1]))

    try:
        with torch_threads(threads) as used:
            trained = lanes.run(
                members, lambda m: _train_one(prepared, params, m, epochs), as_job, back
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return trained, used


def mean_of(trained: list[Trained], task: str) -> Any:
    nets = [t.net for t in trained]
    return nets[0] if len(nets) == 1 else MeanEnsemble(nets, task).eval()


def train_members(
    prepared: Prepared,
    params: dict[str, Any],
    seed: int,
    seeds: int,
    epochs: int,
    all_rows: bool,
    threads: int | None,
    lanes: Lanes | None = None,
) -> tuple[Any, float, int, float]:
    """``seeds`` refits of the recommended configuration on train + validation (or every
    labelled row) for ``epochs`` epochs, averaged when several, on ``lanes``; returns the
    model, the training seconds, the torch threads and the training CPU seconds."""
    members = [Member(seed + i, all_rows) for i in range(seeds)]
    trained, used = train_on_lanes(prepared, params, members, epochs, threads, lanes)
    final = mean_of(trained, prepared.preprocessing.task)
    return final, sum(t.seconds for t in trained), used, sum(t.cpu_s for t in trained)
