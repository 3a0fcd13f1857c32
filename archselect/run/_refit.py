"""The final model: refit the recommended family (or reference) and export it.

Called by :func:`archselect.run._fit.fit` once the search and the selection are done. The
tested refit trains on train + validation rows and is scored on the test rows; the
exported model is then refitted on every labelled row when the time left pays for it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archselect._common.budget import Clock, refit_epoch_seconds
from archselect._common.serde import JsonRecord
from archselect.core.metrics import score
from archselect.core.stored import Evaluation, RunRecommendation, evaluate_outputs
from archselect.core.verdict import TRIAL_WEIGHTS, restate
from archselect.export import (
    ModelConfig,
    export_model,
)
from archselect.plan import Plan
from archselect.prepare import Prepared
from archselect.profile import Profile
from archselect.run._lanes import Lanes
from archselect.run._members import Member, labelled, mean_of, train_members, train_on_lanes
from archselect.run._pool import WEIGHTS
from archselect.rundir import MODEL, WORK
from archselect.search import (
    SearchResult,
    TrialRecord,
    at_resolution,
    build_network,
    split_params,
    weights_file,
)
from archselect.select import Recommendation, with_final_test
from archselect.train import predict_outputs

__all__ = [
    "FinalModel",
    "ensemble_size",
    "export_network",
    "final_need",
    "plan_refit",
]

_log = logging.getLogger(__name__)

#: Small data: the final model averages this many refits with different seeds …
ENSEMBLE_SIZE = 5
#: … when train + validation hold at most this many rows (samples).
ENSEMBLE_MAX_ROWS = 1000
#: Seconds of a ``--timeout`` budget kept for writing the report after the final model.
REPORT_RESERVE_S = 3.0
#: The exported model is refitted on every labelled row (train + validation + test) after
#: the train + validation refit was scored on the test rows: measured by
#: ``benchmarks/refit_all_rows.py`` on 7 small public sets, +1.8 points of accuracy on an
#: independent test set on average (better on 6, worse on none).
REFIT_ALL_ROWS = True
TESTED_ROWS = "train+validation"
ALL_ROWS = "train+validation+test"
#: The exported network is the best trial's own (trained on the training rows) when its
#: refit would take more than this share of a ``--timeout`` budget, or more than is left.
OWN_WEIGHTS_FRACTION = 0.2
TRAINED_ROWS = TRIAL_WEIGHTS


def ensemble_size(n_rows: int) -> int:
    """Seeds the final model averages: several on small data, where one run is a noisy draw."""
    return ENSEMBLE_SIZE if n_rows <= ENSEMBLE_MAX_ROWS else 1


@dataclass(frozen=True)
class FinalModel(JsonRecord):
    """How the exported network was trained, planned from its trial's measured pace."""

    seeds: int
    planned_seeds: int
    epochs: int
    planned_epochs: int
    #: Seconds per epoch per training row: the refit's, and its trial's (same threads).
    sec_per_epoch_row: float | None
    trial_sec_per_epoch_row: float | None
    threads: int
    train_time_s: float
    #: Why fewer seeds or epochs were trained than planned (the ``--timeout`` budget).
    note: str | None = None
    #: The rows the exported model trained on (the test figure is the train + validation
    #: refit's, on rows it never saw).
    trained_on: str = TESTED_ROWS
    rows: int | None = None
    #: The two paces in CPU seconds: what the training cost, whatever else ran meanwhile.
    cpu_sec_per_epoch_row: float | None = None
    trial_cpu_sec_per_epoch_row: float | None = None


def plan_refit(
    *, planned_seeds: int, epochs: int, one_epoch_s: float | None, time_left: float | None
) -> tuple[int, int]:
    """Seeds and epochs of the final model that fit ``time_left`` at the measured pace:
    fewer seeds first, then fewer epochs of the single refit (at least one).

    Example:
        >>> plan_refit(planned_seeds=5, epochs=10, one_epoch_s=1.0, time_left=25.0)
        (2, 10)
        >>> plan_refit(planned_seeds=5, epochs=10, one_epoch_s=1.0, time_left=4.0)
        (1, 4)
    """
    if time_left is None or not one_epoch_s:
        return planned_seeds, epochs
    per_seed = one_epoch_s * epochs
    seeds = max(1, min(planned_seeds, math.floor(time_left / per_seed)))
    if per_seed <= time_left:
        return seeds, epochs
    return 1, max(1, min(epochs, math.floor(time_left / one_epoch_s)))


def _refit_final(
    prepared: Prepared,
    rec: Recommendation,
    trial: TrialRecord,
    seed: int,
    *,
    time_left: float | None = None,
) -> tuple[Any, float | None, FinalModel]:
    """:func:`_refit_tested` alone, in this process: the network, its test metric and how
    it was trained."""
    return _refit_tested(prepared, rec, trial, seed, time_left=time_left)[:3]


def _refit_tested(
    prepared: Prepared,
    rec: Recommendation,
    trial: TrialRecord,
    seed: int,
    *,
    time_left: float | None = None,
    lanes: Lanes | None = None,
    twin: bool = False,
) -> tuple[Any, float | None, FinalModel, tuple[Any, float] | None]:
    """Retrain the winner on train + validation rows for its best epoch count (the tested
    refit: its test figure is the one reported).

    On small data (:data:`ENSEMBLE_MAX_ROWS`) the final model is the mean of
    :data:`ENSEMBLE_SIZE` such refits with different seeds. It trains with the trial's
    torch threads, so at its measured pace; with ``time_left`` (the ``--timeout`` budget)
    it trains as many seeds, then epochs, as that pace lets fit (see :func:`plan_refit`).
    The members train on ``lanes``; with ``twin``, when the tested refit is not cut short
    and two lanes pay for both at once, its twin on every labelled row trains beside it.
    Returns the network, its test metric, how it was trained, and the twin with its
    training seconds (None when it did not train).
    """
    pre = prepared.preprocessing
    x = prepared.pooled[0]
    planned_epochs = max(1, int(trial.best_epoch or trial.epochs or 1))
    planned = ensemble_size(len(x))
    pace = trial.sec_per_epoch_row
    one_epoch = None if pace is None else refit_epoch_seconds(pace, len(x), len(prepared.x_val))
    seeds, epochs = plan_refit(
        planned_seeds=planned, epochs=planned_epochs, one_epoch_s=one_epoch, time_left=time_left
    )
    tested_members = [Member(seed + i) for i in range(seeds)]
    whole = (seeds, epochs) == (planned, planned_epochs)
    twins = []
    if twin and whole and _twin_beside(prepared, one_epoch, seeds * epochs, time_left, lanes):
        twins = [Member(seed + i, all_rows=True) for i in range(seeds)]
    # the twins first: the job lane takes the first, so the tested refit, whose pace is
    # reported, trains here (a job's fresh process pays the first-use costs again)
    members = twins + tested_members
    trained, threads = train_on_lanes(prepared, rec.params, members, epochs, trial.threads, lanes)
    beside, tested = trained[: len(twins)], trained[len(twins) :]
    final = mean_of(tested, pre.task)
    spent, cpu = sum(t.seconds for t in tested), sum(t.cpu_s for t in tested)
    test = score(
        pre.task, predict_outputs(final, prepared.x_test), prepared.y_test, pre.target_std
    )
    note = None
    if (seeds, epochs) != (planned, planned_epochs):
        note = (
            f"the --timeout budget left time for {seeds} of {planned} seeds and {epochs} of "
            f"{planned_epochs} epochs (measured pace {one_epoch or 0:.3g} s per epoch)"
        )
    info = FinalModel(
        seeds=seeds,
        planned_seeds=planned,
        epochs=epochs,
        planned_epochs=planned_epochs,
        sec_per_epoch_row=spent / max(1, seeds * epochs * len(x)),
        trial_sec_per_epoch_row=pace,
        threads=threads,
        train_time_s=round(spent, 3),
        note=note,
        rows=len(x),
        cpu_sec_per_epoch_row=cpu / max(1, seeds * epochs * len(x)),
        trial_cpu_sec_per_epoch_row=trial.cpu_sec_per_epoch_row,
    )
    twin_model = (mean_of(beside, pre.task), sum(t.seconds for t in beside)) if beside else None
    return final, test, info, twin_model


def _twin_beside(
    prepared: Prepared,
    one_epoch: float | None,
    epochs: int,
    time_left: float | None,
    lanes: Lanes | None,
) -> bool:
    """Whether the all-rows twin trains beside the tested refit: two lanes, and (under a
    budget) time for both at once at the measured pace (``one_epoch`` on train + validation;
    ``epochs`` over every seed)."""
    if lanes is None or lanes.count < 2:
        return False
    if time_left is None:
        return True
    if one_epoch is None:
        return False
    ratio = len(labelled(prepared)[0]) / max(1, len(prepared.pooled[0]))
    return one_epoch * epochs * (1.0 + ratio) / lanes.count <= time_left


def evaluation_on_test(prepared: Prepared, net: Any, seed: int) -> Evaluation | None:
    """The exported model on the test split; a failure here costs the plot, never the run."""
    pre = prepared.preprocessing
    try:
        return evaluate_outputs(
            pre.task,
            predict_outputs(net, prepared.x_test),
            prepared.y_test,
            classes=pre.classes,
            target_mean=pre.target_mean,
            target_std=pre.target_std,
            seed=seed,
        )
    except Exception as exc:
        _log.warning("test evaluation skipped: %s: %s", type(exc).__name__, exc)
        return None


def export_network(
    run_dir: Path,
    prepared: Prepared,
    profile: Profile,
    plan: Plan,
    rec: RunRecommendation,
    result: SearchResult,
    seed: int,
    clock: Clock,
    lanes: Lanes | None = None,
) -> RunRecommendation:
    """Refit the recommended family within what is left of the budget, score that refit on
    the test rows, then (:data:`REFIT_ALL_ROWS`) train the same refit on every labelled row
    and export that one, when the time left pays for it; beside it on ``lanes`` when they
    pay for both at once."""
    trial = next(t for t in result.trials if t.number == rec.trial)
    # a trial measured at a lower resolution is refitted and exported at it (predict and
    # the ONNX export then read the same piecewise-aggregated series)
    prepared = at_resolution(prepared, int((trial.fidelity or {}).get("resample", 1)))
    more = REFIT_ALL_ROWS and len(labelled(prepared)[0]) > len(prepared.pooled[0])
    left = clock.left()
    own = _own_weights_instead(run_dir, prepared, trial, clock)
    if own is not None:
        with clock.phase("final model"):
            return _export_own_weights(run_dir, prepared, profile, plan, rec, trial, own, seed)
    with clock.phase("final model"):
        budget = None if left is None else max(0.0, left - REPORT_RESERVE_S)
        # the tested refit first gets all the time it plans for; the all-rows twin only
        # what is left after it, and only when the tested refit was not cut short
        net, final_test, final, twin = _refit_tested(
            prepared, rec, trial, seed, time_left=budget, lanes=lanes, twin=more
        )
        exported, final = net, final
        if twin is not None:  # trained beside the tested refit
            exported, final = twin[0], _on_all_rows(prepared, final, twin[1])
        elif more:
            exported, final = _all_rows_twin(prepared, rec, seed, net, final, clock, lanes)
        note = final.note
        family, model_params, _ = split_params(rec.params)
        export_model(
            run_dir / MODEL,
            exported,
            prepared.preprocessing,
            ModelConfig(
                family=family,
                params=model_params,
                input_shape=prepared.preprocessing.input_shape,
                n_outputs=prepared.preprocessing.n_outputs,
                layout=prepared.preprocessing.layout,
                task=profile.task,
                metrics={"test_" + plan.metric: final_test or float("nan")},
                ensemble=final.seeds,
                trained_on=final.trained_on,
                note=note,
            ),
        )
    return dataclasses.replace(
        with_final_test(rec, final_test, final.seeds, all_rows=final.trained_on == ALL_ROWS),
        evaluation=evaluation_on_test(prepared, net, seed),  # the tested refit, on unseen rows
        final_model=final.to_dict(),
    )


def _on_all_rows(prepared: Prepared, final: FinalModel, spent: float) -> FinalModel:
    """``final`` as the all-rows twin's record: its rows, and both refits' seconds."""
    return dataclasses.replace(
        final,
        rows=len(labelled(prepared)[0]),
        trained_on=ALL_ROWS,
        train_time_s=round(final.train_time_s + spent, 3),
    )


def _all_rows_twin(
    prepared: Prepared,
    rec: Recommendation,
    seed: int,
    net: Any,
    final: FinalModel,
    clock: Clock,
    lanes: Lanes | None = None,
) -> tuple[Any, FinalModel]:
    """The tested refit trained again on every labelled row (:data:`REFIT_ALL_ROWS`), when
    it was not cut short and the time left pays for it; else the tested refit, the note
    saying why."""
    x_all = labelled(prepared)[0]
    if final.note is not None:
        return net, dataclasses.replace(
            final, note=f"{final.note}; so no refit on every labelled row"
        )
    need = final.train_time_s * len(x_all) / max(1, len(prepared.pooled[0]))
    room = clock.left()
    if room is not None and need > max(0.0, room - REPORT_RESERVE_S):
        note = (
            f"no time left to refit on every labelled row (about {need:.0f} s): the exported "
            "model is the tested refit on train + validation"
        )
        return net, dataclasses.replace(final, note=note)
    exported, spent, _, _ = train_members(
        prepared, rec.params, seed, final.seeds, final.epochs, True, final.threads, lanes
    )
    return exported, _on_all_rows(prepared, final, spent)


def refit_or_own(
    run_dir: Path,
    prepared: Prepared,
    rec: Recommendation,
    trial: TrialRecord,
    seed: int,
    *,
    time_left: float | None = None,
) -> tuple[Any, float | None, FinalModel]:
    """An ensemble member's final network: its refit (:func:`_refit_final`), or, when that
    cannot train every epoch in ``time_left`` and the trial kept its weights, the trial's
    own network as it was measured (one epoch of a refit on 51,200 rows took longer than a
    whole member's share)."""
    prepared = at_resolution(prepared, int((trial.fidelity or {}).get("resample", 1)))
    saved = weights_file(run_dir / WORK / WEIGHTS, trial.number)
    if time_left is None or trial.sec_per_epoch_row is None or not saved.exists():
        return _refit_final(prepared, rec, trial, seed, time_left=time_left)
    need = _refit_need(prepared, trial)
    if need <= time_left:
        return _refit_final(prepared, rec, trial, seed, time_left=time_left)
    net = _own_network(prepared, rec, trial, saved, seed)
    note = f"the trial's own weights: a refit would need about {need:.0f} s of {time_left:.0f}"
    return net, trial.test_metric, _own_final(prepared, trial, note)


def _refit_need(prepared: Prepared, trial: TrialRecord) -> float:
    """Seconds one refit of ``trial`` on train + validation takes at its measured pace."""
    epochs = max(1, int(trial.best_epoch or trial.epochs or 1))
    pace = trial.sec_per_epoch_row or 0.0
    return refit_epoch_seconds(pace, len(prepared.pooled[0]), len(prepared.x_val)) * epochs


def _own_network(
    prepared: Prepared, rec: Recommendation, trial: TrialRecord, saved: Path, seed: int
) -> Any:
    import torch

    family, model_params, _ = split_params(dict(trial.params) or rec.params)
    net = build_network(prepared.preprocessing, family, model_params, seed=seed)
    net.load_state_dict(torch.load(saved, map_location="cpu", weights_only=True))
    return net.eval()


def _own_final(prepared: Prepared, trial: TrialRecord, note: str) -> FinalModel:
    return FinalModel(
        seeds=1,
        planned_seeds=1,
        epochs=int(trial.epochs or 0),
        planned_epochs=int(trial.epochs or 0),
        sec_per_epoch_row=trial.sec_per_epoch_row,
        trial_sec_per_epoch_row=trial.sec_per_epoch_row,
        threads=int(trial.threads or 1),
        train_time_s=0.0,
        note=note,
        trained_on=TRAINED_ROWS,
        rows=len(prepared.x_train),
        cpu_sec_per_epoch_row=trial.cpu_sec_per_epoch_row,
        trial_cpu_sec_per_epoch_row=trial.cpu_sec_per_epoch_row,
    )


def final_need(
    run_dir: Path, prepared: Prepared, trial: TrialRecord, budget_s: float | None
) -> float | None:
    """Seconds the final model of ``trial`` needs under a ``--timeout``: its refit at the
    trial's measured pace, or 0 when it will be the trial's own weights however much time is
    left (its refit would take more than :data:`OWN_WEIGHTS_FRACTION` of the budget; see
    :func:`_own_weights_instead`); None when it will be refitted whatever that costs (no
    budget, no measured pace, or no weights kept)."""
    saved = weights_file(run_dir / WORK / WEIGHTS, trial.number)
    if budget_s is None or trial.sec_per_epoch_row is None or not saved.exists():
        return None
    need = _refit_need(prepared, trial)
    return 0.0 if need > OWN_WEIGHTS_FRACTION * budget_s else need


def _own_weights_instead(
    run_dir: Path, prepared: Prepared, trial: TrialRecord, clock: Clock
) -> str | None:
    """Why the final model is the best trial's own weights rather than a refit (None: it is
    a refit): under a ``--timeout``, when the refit (one seed, every epoch, at the trial's
    measured pace) would not fit the time left, or would take more than
    :data:`OWN_WEIGHTS_FRACTION` of the budget — and the trial kept its weights. Under
    load an undertrained refit was exported (16 of 37 epochs: 91.8 % on test, where the
    trial's own weights scored 96.9 %), or the search was shortened to pay for it."""
    left, budget = clock.left(), clock.budget_s
    saved = weights_file(run_dir / WORK / WEIGHTS, trial.number)
    if left is None or budget is None or trial.sec_per_epoch_row is None or not saved.exists():
        return None
    need = _refit_need(prepared, trial)
    room = max(0.0, left - REPORT_RESERVE_S)
    if need <= room and need <= OWN_WEIGHTS_FRACTION * budget:
        return None
    return (
        f"the best trial's own weights (trained on the {len(prepared.x_train)} training "
        f"rows; its validation and test figures are exact): a refit on train + validation "
        f"would need about {need:.0f} s of the {room:.0f} s left"
    )


def _export_own_weights(
    run_dir: Path,
    prepared: Prepared,
    profile: Profile,
    plan: Plan,
    rec: RunRecommendation,
    trial: TrialRecord,
    note: str,
    seed: int,
) -> RunRecommendation:
    """Export trial ``trial``'s saved network, as it was measured (see
    :func:`_own_weights_instead`)."""
    pre = prepared.preprocessing
    family, model_params, _ = split_params(rec.params)
    saved = weights_file(run_dir / WORK / WEIGHTS, trial.number)
    net = _own_network(prepared, rec, trial, saved, seed)
    test = trial.test_metric
    export_model(
        run_dir / MODEL,
        net,
        pre,
        ModelConfig(
            family=family,
            params=model_params,
            input_shape=pre.input_shape,
            n_outputs=pre.n_outputs,
            layout=pre.layout,
            task=profile.task,
            metrics={"test_" + plan.metric: test if test is not None else float("nan")},
            ensemble=1,
            trained_on=TRAINED_ROWS,
            note=note,
        ),
    )
    final = _own_final(prepared, trial, note)
    rec = dataclasses.replace(
        rec,
        final_test_metric=test,
        evaluation=evaluation_on_test(prepared, net, seed),
        final_model=final.to_dict(),
    )
    # the headline's test sentence comes from the verdict's words: "the best trial's own
    # weights" (core.verdict.TRIAL_WEIGHTS)
    return restate(rec, final_model={"seeds": 1, "trained_on": TRIAL_WEIGHTS})
