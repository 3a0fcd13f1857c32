"""Running the study: the trial loop, promotion, failing stale trials, and the result."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable

import optuna

from archselect._common import signals as _signals
from archselect._common.budget import Clock, Fidelity, search_window
from archselect._common.secrets import mask_url
from archselect.baselines import BaselineResult
from archselect.core.records import ALL_FAMILIES as ALL_FAMILIES
from archselect.core.records import SearchResult, TrialRecord
from archselect.core.records import best_by_family as best_by_family
from archselect.layouts import plugin_for
from archselect.plan import Plan
from archselect.prepare import Prepared
from archselect.search._attrs import trial_records
from archselect.search._constants import ATTR_BASELINES, ATTR_CHANCE, STUDY_NAME, WORKER_ID
from archselect.search._objective import make_objective, study_folds
from archselect.search._share import search_deadline
from archselect.search._storage import BudgetSpent
from archselect.search._study import (
    StudyRecipe,
    _window,
    open_study,
    prepare_study,
    queue_next_slot,
    set_window,
)
from archselect.search._timing import measure_batch_latency, measure_length_latency

#: Seconds between checks while other workers' trials are still running.
POLL_S = 1.0


def _states(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts


def _fail_own_running(study: optuna.Study, numbers: list[int]) -> None:
    """Fail this process's trial that an interrupt left RUNNING (outside the objective)."""
    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if t.user_attrs.get("worker") == WORKER_ID:
            storage.set_trial_user_attr(
                t._trial_id, "error", f"interrupted by {_signals.signal_name()}"
            )
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
                numbers.append(t.number)


def _requeue(study: optuna.Study, numbers: list[int]) -> None:
    """Queue a retry of each interrupted trial, so rerunning the command runs it again."""
    # Optuna 5's name for the retry callback (RetryFailedTrialCallback is deprecated); it
    # queues a WAITING copy of the trial, its parameters and attributes. A stop is not the
    # trial's fault: however often its reruns are stopped, the next rerun runs it again (a
    # crashed process's trial gets STALE_RETRIES retries, in the storage).
    retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=None)
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)):
        if t.number in numbers:
            retry(study, t)


def collect_result(study: optuna.Study, plan: Plan) -> SearchResult:
    """The study's trials and baselines as a :class:`SearchResult` (password masked)."""
    url = getattr(study._storage, "url", None) or getattr(
        getattr(study._storage, "_backend", None), "url", ""
    )
    return SearchResult(
        study_name=study.study_name,
        storage=mask_url(str(url)),
        metric=plan.metric,
        direction=plan.direction,
        trials=tuple(trial_records(study)),
        baselines=tuple(
            BaselineResult.from_dict(b) for b in study.user_attrs.get(ATTR_BASELINES, [])
        ),
        objectives=plan.objectives or (plan.metric,),
        chance_metric=study.user_attrs.get(ATTR_CHANCE),
    )


def finish_search(
    study: optuna.Study, prepared: Prepared, plan: Plan, *, deadline: float | None = None
) -> SearchResult:
    """After the last trial: time each family's best trial at batch 256, and sequence
    families at longer lengths (until ``deadline``, a ``time.time()`` value); return every
    trial."""
    measure_batch_latency(study, prepared, plan, deadline=deadline)
    if plugin_for(plan.layout).longer_inputs:
        measure_length_latency(study, prepared, plan, deadline=deadline)
    return collect_result(study, plan)


def run_search(
    prepared: Prepared,
    plan: Plan,
    *,
    storage: str,
    study_name: str = STUDY_NAME,
    on_trial: Callable[[TrialRecord], None] | None = None,
    max_failures: int | None = None,
    recipe: StudyRecipe | None = None,
    worker: bool = False,
    sampler_seed: int | None = None,
) -> SearchResult:
    """Run (or resume) the study until its budget is spent; return every trial.

    The owner of the run (``worker=False``) creates the study, queues the budget's trial
    slots, records ``recipe`` and fits the baselines once; a worker only joins. Either
    runs queued slots until none is left, then waits for the trials other processes are
    running (failing and retrying those whose process died). Finished trials of an
    earlier run count against ``plan.n_trials``.

    Example:
        See :func:`archselect.fit`, which prepares the arguments.
    """
    if worker:
        study = open_study(
            storage, plan, study_name=study_name, enqueue=False, sampler_seed=sampler_seed
        )
    else:
        study = prepare_study(
            prepared, plan, storage=storage, study_name=study_name, recipe=recipe
        )
        if plan.timeout_s is not None:
            window = search_window(
                Clock(plan.timeout_s), n_families=len(plan.family_names), workers=1, reserve=0.0
            )
            assert window is not None
            set_window(study, window)
    run_trials(study, prepared, plan, on_trial=on_trial, max_failures=max_failures)
    if worker:
        return collect_result(study, plan)
    return finish_search(study, prepared, plan)


#: Study user attribute: the trials whose configuration has been promoted (re-run with
#: the time left, at full fidelity when it pays for it).
ATTR_PROMOTED = "archselect.promoted"


#: A measurement is *still rising* when its best validation epoch is among the last
#: RISING_TAIL of the epochs it trained (at least the last one): its schedule ended before
#: its curve flattened, so its figure understates the family.
RISING_TAIL = 0.1
#: A family still rising when its measurement ended is promoted with its schedule's epochs
#: times this, at most the shared space's highest ``epochs``.
LONGER_SCHEDULE = 2


def rising(rec: TrialRecord) -> bool:
    """Whether ``rec``'s best validation epoch is in the last :data:`RISING_TAIL` of its
    epochs (its curve had not flattened when training stopped).

    Example:
        >>> rising(TrialRecord(number=0, family="gru", state="COMPLETE", epochs=40,
        ...                    best_epoch=38))
        True
    """
    if not rec.epochs or rec.best_epoch is None:
        return False
    return rec.best_epoch >= rec.epochs - max(1, math.ceil(RISING_TAIL * rec.epochs))


def _longest_epochs(plan: Plan) -> int | None:
    spec = next((p for p in plan.shared.params if p.name == "epochs"), None)
    return None if spec is None or spec.high is None else int(spec.high)


def _promotion(rec: TrialRecord, plan: Plan) -> dict[str, object] | None:
    """The params ``rec`` is promoted with: a longer schedule when it ended still rising
    (:func:`rising`: its schedule, cut short or not, ended before its curve flattened), else
    its own when it was measured at reduced fidelity (they train at full fidelity with the
    time left); None when neither applies."""
    epochs, longest = rec.params.get("epochs"), _longest_epochs(plan)
    if rising(rec) and isinstance(epochs, int) and longest is not None and epochs < longest:
        return {**rec.params, "epochs": min(longest, LONGER_SCHEDULE * epochs)}
    if rec.fidelity and not Fidelity.from_dict(rec.fidelity).full:
        return dict(rec.params)
    return None


def _promotion_cost(rec: TrialRecord, params: dict[str, object]) -> float:
    """Seconds a promoted run is expected to train: its source's pace times the epochs of
    the schedule it is promoted to."""
    epochs = params.get("epochs")
    per_epoch = float(rec.train_time_s or 0.0) / max(1, int(rec.epochs or 1))
    return per_epoch * (epochs if isinstance(epochs, int) else int(rec.epochs or 1))


def promote(study: optuna.Study, plan: Plan) -> list[int]:
    """Successive halving over the families' first measurements, fair to slow learners:
    once every planned family has a result (or a measured "too slow"), queue again the best
    configuration of each family measured at reduced fidelity that is in the better half,
    and of every family whose measurement ended still rising (:func:`rising`), with a
    longer schedule (as it is when its schedule is already the longest). The cheapest runs
    go first, so that the time left measures as many families as it can; a promoted run is
    never promoted again. Returns the numbers of the trials promoted now.
    """
    records = trial_records(study)
    measured = {r.family for r in records if r.state in ("COMPLETE", "PRUNED")}
    if not set(plan.family_names) <= measured:
        return []
    interim = SearchResult("", "", plan.metric, plan.direction, tuple(records), ())
    sign = 1.0 if plan.direction == "maximize" else -1.0
    ranked = sorted(best_by_family(interim).values(), key=lambda r: -sign * (r.val_metric or 0))
    better = {r.family for r in ranked[: math.ceil(len(ranked) / 2)]}
    done = set(study.user_attrs.get(ATTR_PROMOTED, []))
    promoted_runs = {
        t.number for t in study.get_trials(deepcopy=False) if "promoted_from" in t.user_attrs
    }
    queue = []
    for rec in ranked:
        if rec.number in done or rec.number in promoted_runs:
            continue
        params = _promotion(rec, plan)
        outside = rec.family not in better and not rising(rec)
        if params is None or (params == rec.params and outside):
            continue  # nothing to promote, or a flat reduced one outside the better half
        queue.append((_promotion_cost(rec, params), rec.number, params))
    for _, number, params in sorted(queue, key=lambda q: (q[0], q[1])):
        study.enqueue_trial(params, user_attrs={"promoted_from": number})
    now = [number for _, number, _ in queue]
    if now:
        study.set_user_attr(ATTR_PROMOTED, sorted(done | set(now)))
    return now


def run_trials(
    study: optuna.Study,
    prepared: Prepared,
    plan: Plan,
    *,
    on_trial: Callable[[TrialRecord], None] | None = None,
    max_failures: int | None = None,
) -> None:
    """Run the study's queued slots (and, with a time budget, new trials until its window
    ends), then wait for trials other processes are running."""
    failures = ran = 0
    stopped = False

    def notify(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
        nonlocal failures, stopped, ran
        ran += 1
        if _signals.received is not None:  # stop between trials; the loop below raises
            study.stop()
            return
        if window is not None and plan.n_trials is None:
            promote(study, plan)  # promoted trials are queued first …
            queue_next_slot(study, plan)  # … the next fair-share slot only when none waits
        if frozen.state == optuna.trial.TrialState.FAIL:
            failures += 1
            if max_failures is not None and failures >= max_failures:
                stopped = True
                study.stop()
        if on_trial is not None:
            rec = next((r for r in trial_records(study) if r.number == frozen.number), None)
            if rec is not None:
                on_trial(rec)

    interrupted: list[int] = []
    window = _window(study)
    objective = make_objective(
        prepared, plan, interrupted, study_folds(study, prepared, plan), window
    )
    logging.getLogger("optuna").setLevel(logging.ERROR)
    try:
        while not stopped:
            _signals.check()
            # the window's end, or earlier when the best trial's final refit needs the time
            left = (
                None if window is None else search_deadline(window, study, prepared) - time.time()
            )
            if left is not None and left <= 0:
                break
            ran_before = ran
            with contextlib.suppress(BudgetSpent):
                study.optimize(
                    objective,
                    timeout=left,
                    catch=(Exception,),
                    callbacks=[notify],
                    gc_after_trial=True,
                )
            _signals.check()
            if stopped or plan.n_trials is None:
                break
            optuna.storages.fail_stale_trials(study)
            counts = _states(study)
            if counts.get("WAITING"):
                if ran == ran_before:  # the queued trials wait for an earlier batch
                    time.sleep(POLL_S)
                continue
            if not counts.get("RUNNING"):
                break
            time.sleep(POLL_S)
    except KeyboardInterrupt:
        _fail_own_running(study, interrupted)
        _requeue(study, interrupted)
        raise
