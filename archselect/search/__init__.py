"""Stage 5 — search: one Optuna study over every planned family, fair shares first.

This is the only module that touches ``optuna.Trial``. Each trial picks a family
(the first ``share_per_family`` trials of each family are enqueued round-robin so
every family gets its share before the sampler concentrates), samples that family's
space plus the shared training space, trains through :mod:`archselect.train`, and
stores every measurement as trial user attributes.

After the search, each family's best trial on sequence data is rebuilt for sequences
1x, 2x and 4x as long as the data's and timed at batch 1 (the parallelism claim:
recurrent nets step through time, convolutions do not); those figures live in the
study's user attribute ``LENGTH_LATENCY_ATTR`` and are merged into the trial records.

With ``plan.objectives == (metric, "latency")`` the study is multi-objective (the metric
and milliseconds per sample at batch 1); Optuna cannot prune such trials, so every trial
runs to its early stop.

Reproducibility (a trial budget, ``--trials``): trials run in synchronous batches whose
bounds depend only on the trial numbers (:class:`Batches`: every family's default trial,
then :data:`BATCH_SIZE` trials at a time), never on the number of processes. A queued trial
is claimed only once every trial of the earlier batches has finished (:class:`_SlotStorage`);
its parameters are sampled by a TPE sampler seeded from (seed, trial number) that sees only
those trials (:class:`_BatchSampler`), and it is pruned against them only
(:class:`_FamilyPruner`); it trains with seed + trial number. So one process or several,
first run or resumed, give the same trials. A ``--timeout`` deadline is timing by nature.

The package splits the stage by concern: ``_constants``, ``_storage`` (SQLite/SQLAlchemy,
trial slots and the batch gate, the optuna settings), ``_study`` (creation, the sampler
and its batches, the warm-start portfolio, recipe, resume, window), ``_objective`` (one
trial; with ``_attrs``, the only modules that touch ``optuna.Trial``), ``_share`` (what a
trial may spend: its core-second allowance, the clock it is counted on, its fidelity, room
on a shared GPU), ``_attrs`` (a trial's figures written at once, the weights a family's best trial
keeps, the chance level, the records read back), ``_loop`` (running the study),
``_timing`` (finalists' latency at batch 256 and by sequence length) and ``_importances``.
"""

from __future__ import annotations

from archselect._common.secrets import mask_url
from archselect.core.records import (
    ALL_FAMILIES,
    CUT_SHORT_NOTE,
    DEADLINE_NOTE,
    SearchResult,
    TrialRecord,
    best_by_family,
)
from archselect.search._attrs import chance_level, trial_records, weights_file, write_attrs
from archselect.search._constants import (
    ATTR_BASELINES,
    ATTR_BATCHES,
    ATTR_CV_FOLDS,
    ATTR_PORTFOLIO,
    ATTR_RECIPE,
    ATTR_SLOT,
    ATTR_SLOTS,
    ATTR_WEIGHTS,
    ATTR_WINDOW,
    BATCH_SIZE,
    GATE_MEMORY_S,
    GRACE_ENV,
    HEARTBEAT_ENV,
    HEARTBEAT_GRACE_S,
    HEARTBEAT_S,
    LENGTH_LATENCY_ATTR,
    LENGTH_MAX_S,
    LENGTH_MIN_REPEATS,
    LENGTH_MULTIPLES,
    LENGTH_REPEATS,
    MAX_PLAIN_RECIPE_CHARS,
    MAX_STORED_SCORES,
    MIN_IMPORTANCE_TRIALS,
    PRUNE_STARTUP_TRIALS,
    PRUNE_WARMUP_EPOCHS,
    RECIPE_FORMAT,
    SQLITE_TIMEOUT_S,
    STALE_RETRIES,
    STUDY_NAME,
    TPE_STARTUP_TRIALS,
    WORKER_ID,
)
from archselect.search._importances import param_importances
from archselect.search._loop import (
    ATTR_PROMOTED,
    POLL_S,
    collect_result,
    finish_search,
    promote,
    run_search,
    run_trials,
)
from archselect.search._objective import (
    TRAIN_KEYS,
    build_network,
    make_objective,
    split_params,
    study_folds,
    train_config,
)
from archselect.search._share import (
    at_resolution,
    search_deadline,
    series_steps,
    share_clock,
    wait_for_gpu_room,
)
from archselect.search._storage import (
    Batches,
    BudgetSpent,
    close_storage,
    configure_optuna,
    make_storage,
    storage_url,
    study_batches,
)
from archselect.search._study import (
    StudyRecipe,
    default_params,
    load_recipe,
    needs_baselines,
    open_study,
    portfolio_params,
    prepare_study,
    queue_next_slot,
    record_baselines,
    resume_conflicts,
    set_window,
    study_identity,
    trial_seed,
)
from archselect.search._timing import (
    length_latency,
    measure_batch_latency,
    measure_length_latency,
)

#: The stage's API (the first group), its constants and the records it re-exports.
__all__ = [
    "ALL_FAMILIES",
    "ATTR_BASELINES",
    "ATTR_BATCHES",
    "ATTR_CV_FOLDS",
    "ATTR_PORTFOLIO",
    "ATTR_PROMOTED",
    "ATTR_RECIPE",
    "ATTR_SLOT",
    "ATTR_SLOTS",
    "ATTR_WEIGHTS",
    "ATTR_WINDOW",
    "BATCH_SIZE",
    "CUT_SHORT_NOTE",
    "DEADLINE_NOTE",
    "GATE_MEMORY_S",
    "GRACE_ENV",
    "HEARTBEAT_ENV",
    "HEARTBEAT_GRACE_S",
    "HEARTBEAT_S",
    "LENGTH_LATENCY_ATTR",
    "LENGTH_MAX_S",
    "LENGTH_MIN_REPEATS",
    "LENGTH_MULTIPLES",
    "LENGTH_REPEATS",
    "MAX_PLAIN_RECIPE_CHARS",
    "MAX_STORED_SCORES",
    "MIN_IMPORTANCE_TRIALS",
    "POLL_S",
    "PRUNE_STARTUP_TRIALS",
    "PRUNE_WARMUP_EPOCHS",
    "RECIPE_FORMAT",
    "SQLITE_TIMEOUT_S",
    "STALE_RETRIES",
    "STUDY_NAME",
    "TPE_STARTUP_TRIALS",
    "TRAIN_KEYS",
    "WORKER_ID",
    "Batches",
    "BudgetSpent",
    "SearchResult",
    "StudyRecipe",
    "TrialRecord",
    "at_resolution",
    "best_by_family",
    "build_network",
    "chance_level",
    "close_storage",
    "collect_result",
    "configure_optuna",
    "default_params",
    "finish_search",
    "length_latency",
    "load_recipe",
    "make_objective",
    "make_storage",
    "mask_url",
    "measure_batch_latency",
    "measure_length_latency",
    "needs_baselines",
    "open_study",
    "param_importances",
    "portfolio_params",
    "prepare_study",
    "promote",
    "queue_next_slot",
    "record_baselines",
    "resume_conflicts",
    "run_search",
    "run_trials",
    "search_deadline",
    "series_steps",
    "set_window",
    "share_clock",
    "split_params",
    "storage_url",
    "study_batches",
    "study_folds",
    "study_identity",
    "train_config",
    "trial_records",
    "trial_seed",
    "wait_for_gpu_room",
    "weights_file",
    "write_attrs",
]
