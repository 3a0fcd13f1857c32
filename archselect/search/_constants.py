"""The study's name, attribute keys, heartbeat and pruning settings."""

from __future__ import annotations

import os
import socket

from archselect.core.metrics import MAX_STORED_SCORES  # noqa: F401  (re-exported)
from archselect.core.records import ALL_FAMILIES as ALL_FAMILIES
from archselect.core.records import best_by_family as best_by_family

STUDY_NAME = "archselect"
#: Seconds between heartbeats of a running trial; a trial silent for HEARTBEAT_GRACE_S
#: (its process died) is failed and retried once. Both can be set through the environment
#: variables below (every process of a study should use the same values).
HEARTBEAT_S = 10
HEARTBEAT_GRACE_S = 30
HEARTBEAT_ENV = "ARCHSELECT_HEARTBEAT_S"
GRACE_ENV = "ARCHSELECT_GRACE_S"
#: A stale trial (its process died) is retried this many times by another worker.
STALE_RETRIES = 1
#: SQLite waits this long for a lock instead of failing with "database is locked".
SQLITE_TIMEOUT_S = 60
#: Study user attributes written by archselect.
ATTR_RECIPE = "archselect.recipe"
ATTR_SLOTS = "archselect.slots"
ATTR_SLOT = "archselect.slot"
#: A trial that tries a family's warm-start configuration records its rank (1 = first).
ATTR_PORTFOLIO = "portfolio"
ATTR_BASELINES = "baselines"
#: The folder where each family's best trial keeps its weights (set by ``fit`` under a
#: ``--timeout``; a worker on another machine, where it does not exist, keeps none).
ATTR_WEIGHTS = "archselect.weights"
#: The chance level on the rows trials are scored on (:func:`archselect.search.chance_level`).
ATTR_CHANCE = "archselect.chance_metric"
#: The search's time window (:class:`archselect._common.budget.SearchWindow`), set by each run.
ATTR_WINDOW = "archselect.window"
#: Folds the study scores its trials on (0: one validation split), fixed when it begins.
ATTR_CV_FOLDS = "archselect.cv_folds"
#: Recipes larger than this (MySQL TEXT holds 64 KiB) are stored zlib-compressed.
MAX_PLAIN_RECIPE_CHARS = 60_000
#: Version of the recipe a study records (a worker refuses a newer one).
RECIPE_FORMAT = 1
#: Pruning: median over the same family's trials, after this many trials and epochs.
PRUNE_STARTUP_TRIALS = 2
PRUNE_WARMUP_EPOCHS = 10
#: Which process ran a trial (stored with it): ``host:pid``.
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
#: Random trials before TPE models the space.
TPE_STARTUP_TRIALS = 8
#: Trials per synchronous batch after the first (which holds every family's default
#: trial). Fixed, whatever the number of processes, so the trials do not depend on it.
BATCH_SIZE = 4
#: Study user attribute holding the study's :class:`Batches` (``{"first": …, "size": …}``).
ATTR_BATCHES = "archselect.batches"
#: Seconds a process remembers that a batch is still closed (below the polling interval).
GATE_MEMORY_S = 0.5
#: Sequence-length multiples at which each family's best trial is timed (sequence data).
LENGTH_MULTIPLES = (1, 2, 4)
#: Study user attribute holding ``{trial number: [ms at 1T, 2T, 4T]}``.
LENGTH_LATENCY_ATTR = "length_latency"
#: Study user attribute holding ``{trial number: {"latency_b256_ms": ms}}`` of each
#: family's best trial, timed after the search.
BATCH_LATENCY_ATTR = "batch_latency"
#: Timed runs per length (the minimum is kept).
LENGTH_REPEATS = 15
#: … but at least this many, and no new round once LENGTH_MAX_S seconds are spent.
LENGTH_MIN_REPEATS = 3
LENGTH_MAX_S = 1.0
#: Parameter importances need at least this many complete trials (per group).
MIN_IMPORTANCE_TRIALS = 2
