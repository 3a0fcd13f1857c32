"""After the search: each family's best trial timed at batch 256, and at sequence lengths
T, 2T and 4T (batch 1).

Trials time themselves at batch 1 only: batch 256 on long series is compute (1,024 rows of
1,460 steps: 17.6 s of a 23 s trial on ACSF1), paid once per finalist here instead."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from typing import Any

import optuna
import torch

from archselect.core.records import ALL_FAMILIES as ALL_FAMILIES
from archselect.core.records import SearchResult, TrialRecord
from archselect.core.records import best_by_family as best_by_family
from archselect.models import create_model
from archselect.plan import Plan
from archselect.prepare import Prepared
from archselect.search._attrs import trial_records
from archselect.search._constants import (
    BATCH_LATENCY_ATTR,
    LENGTH_LATENCY_ATTR,
    LENGTH_MAX_S,
    LENGTH_MIN_REPEATS,
    LENGTH_MULTIPLES,
    LENGTH_REPEATS,
)
from archselect.search._objective import build_network, split_params
from archselect.train import measure_latency

#: The batch at which finalists' latency per sample is timed (``latency_b256_ms``).
FINALIST_BATCH = 256


@torch.no_grad()
def length_latency(
    nets: dict[int, torch.nn.Module],
    shape: tuple[int, int],
    repeats: int = LENGTH_REPEATS,
    max_s: float | None = LENGTH_MAX_S,
) -> dict[int, float]:
    """Batch-1 latency (ms) of ``nets[m]`` on a ``(m * T, C)`` sequence, for each ``m``.

    The lengths are timed round-robin and the minimum of ``repeats`` runs is kept, so load
    from other processes affects every length alike and inflates none. After
    ``LENGTH_MIN_REPEATS`` rounds, no new round starts once ``max_s`` seconds are spent.
    """
    t_len, channels = shape
    inputs = {m: torch.randn(1, m * t_len, channels) for m in nets}
    best = {m: math.inf for m in nets}
    start = time.perf_counter()
    for m, net in nets.items():
        net.eval()(inputs[m])  # warm-up
    for done in range(repeats):
        spent = time.perf_counter() - start
        if max_s is not None and done >= LENGTH_MIN_REPEATS and spent > max_s:
            break
        for m, net in nets.items():
            t0 = time.perf_counter()
            net(inputs[m])
            best[m] = min(best[m], time.perf_counter() - t0)
    return {m: v * 1000.0 for m, v in best.items()}


def _untimed_bests(
    study: optuna.Study,
    plan: Plan,
    stored: dict[str, dict[str, Any]],
    deadline: float | None,
    what: str,
) -> Iterator[TrialRecord]:
    """Each planned family's best trial not yet in ``stored``, while ``deadline`` (a
    ``time.time()`` value) has not passed; a family skipped for the deadline is logged."""
    interim = SearchResult("", "", plan.metric, plan.direction, tuple(trial_records(study)), ())
    for rec in best_by_family(interim).values():
        if str(rec.number) in stored or rec.family not in plan.family_names:
            continue
        if deadline is not None and time.time() >= deadline:
            logging.getLogger(__name__).info(
                "%s latency of %s skipped: the --timeout budget is spent", what, rec.family
            )
            continue
        yield rec


def measure_length_latency(
    study: optuna.Study, prepared: Prepared, plan: Plan, *, deadline: float | None = None
) -> None:
    """Time each family's best trial at sequence lengths T, 2T, 4T (batch 1, per sample).

    The architecture is rebuilt from the trial's parameters for each length (latency does
    not depend on the trained weights); families whose builder is tied to the length (the
    MLP) are built for the longer input. Figures are stored once per trial in the study's
    ``LENGTH_LATENCY_ATTR`` user attribute, so a resumed run measures only new best trials.
    """
    pre = prepared.preprocessing
    if len(pre.input_shape) != 2:
        return
    t_len, channels = pre.input_shape
    stored: dict[str, dict[str, Any]] = dict(study.user_attrs.get(LENGTH_LATENCY_ATTR, {}))
    changed = False
    for rec in _untimed_bests(study, plan, stored, deadline, "length"):
        family, model_params, _ = split_params(rec.params)
        nets: dict[int, torch.nn.Module] = {}
        for mult in LENGTH_MULTIPLES:
            try:
                nets[mult] = create_model(
                    family,
                    input_shape=(int(t_len) * mult, int(channels)),
                    n_outputs=len(pre.classes) or 1,
                    **{**model_params, **plan.space(family).fixed},
                )
            except Exception:  # a family that cannot take this length: no figure
                continue
        timed = length_latency(nets, (int(t_len), int(channels)))
        entry: dict[str, Any] = {"seq_len": int(t_len)}
        entry.update({f"latency_len{m}x_ms": timed.get(m) for m in LENGTH_MULTIPLES})
        stored[str(rec.number)] = entry
        changed = True
    if changed:
        study.set_user_attr(LENGTH_LATENCY_ATTR, stored)


def measure_batch_latency(
    study: optuna.Study, prepared: Prepared, plan: Plan, *, deadline: float | None = None
) -> None:
    """Time each family's best trial at batch :data:`FINALIST_BATCH` (ms per sample).

    The network is rebuilt from the trial's parameters (latency does not depend on the
    weights). Figures are stored once per trial in the study's ``BATCH_LATENCY_ATTR`` and
    merged into the trial records; a family is skipped once ``deadline`` (a ``time.time()``
    value) has passed.
    """
    pre = prepared.preprocessing
    stored: dict[str, dict[str, Any]] = dict(study.user_attrs.get(BATCH_LATENCY_ATTR, {}))
    changed = False
    for rec in _untimed_bests(study, plan, stored, deadline, "batch"):
        family, model_params, _ = split_params(rec.params)
        try:
            net = build_network(
                pre, family, {**model_params, **plan.space(family).fixed}, seed=plan.seed
            )
        except Exception:  # a configuration that no longer builds: no figure
            continue
        ms = measure_latency(
            net, pre.input_shape, batch_sizes=(FINALIST_BATCH,), example=prepared.x_val[:1]
        )
        stored[str(rec.number)] = {"latency_b256_ms": ms[FINALIST_BATCH]}
        changed = True
    if changed:
        study.set_user_attr(BATCH_LATENCY_ATTR, stored)
