"""Study storage: SQLite set up for parallel workers, any SQLAlchemy URL, trial slots and
the synchronous batches gating them, and the process-wide optuna settings (installed when a
storage is made, never at import)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import optuna
import sqlalchemy
import sqlalchemy.exc
from optuna.storages._rdb import models as _rdb_models
from optuna.storages._rdb.storage import _create_scoped_session
from sqlalchemy.engine import Engine

from archselect._common.faults import find_write_fault
from archselect._common.secrets import mask_url, redact, remember_url
from archselect.core.records import ALL_FAMILIES as ALL_FAMILIES
from archselect.core.records import best_by_family as best_by_family
from archselect.errors import UsageError
from archselect.search._constants import (
    ATTR_BATCHES,
    GATE_MEMORY_S,
    GRACE_ENV,
    HEARTBEAT_ENV,
    HEARTBEAT_GRACE_S,
    HEARTBEAT_S,
    SQLITE_TIMEOUT_S,
    STALE_RETRIES,
)


def configure_optuna() -> None:
    """Quiet optuna and hook archselect's SQLite transactions, where a study storage is made.

    Called by :func:`make_storage` (every study archselect opens goes through it), so that
    importing this module changes nothing process-wide: optuna's log level (warnings only),
    its ``ExperimentalWarning`` for the trial heartbeats archselect uses on purpose, and the
    SQLAlchemy ``begin``/``commit``/``rollback`` hooks (:func:`_begin_immediate`; they act on
    archselect's own SQLite connections only). Idempotent.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    for name, hook in (
        ("begin", _begin_immediate),
        ("commit", _end_transaction),
        ("rollback", _end_transaction),
    ):
        if not sqlalchemy.event.contains(Engine, name, hook):
            sqlalchemy.event.listen(Engine, name, hook)


def storage_url(run_dir: Path, storage: str | None) -> str:
    """The study's storage: ``--storage`` if given, else ``RUN_DIR/study.db``."""
    return storage or f"sqlite:///{(run_dir / 'study.db').resolve()}"


class _ImmediateSqlite(sqlite3.Connection):
    """A SQLite connection for parallel processes: WAL journal, every transaction immediate.

    pysqlite opens transactions lazily and SQLite cannot upgrade a reader to a writer while
    another process writes, which fails at once with "database is locked" (the busy timeout
    does not apply to that case). Here SQLAlchemy's ``begin`` issues ``BEGIN IMMEDIATE``
    (see :func:`_begin_immediate`), so each transaction takes the write lock first and
    waits up to :data:`SQLITE_TIMEOUT_S` for it; WAL lets readers (optuna-dashboard) work
    while a worker writes, and keeps Optuna's read-then-update steps (claiming a queued
    trial, failing a stale one) atomic across processes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.isolation_level = None  # transactions are begun by _begin_immediate
        self.execute("PRAGMA journal_mode=WAL")
        self.execute("PRAGMA synchronous=NORMAL")


#: Per thread, the archselect SQLite connections with an open transaction.
_open_transactions = threading.local()


def _sqlite_of(conn: sqlalchemy.Connection) -> _ImmediateSqlite | None:
    dbapi = conn.connection.dbapi_connection
    return dbapi if isinstance(dbapi, _ImmediateSqlite) else None


def _begin_immediate(conn: sqlalchemy.Connection) -> None:
    """``BEGIN IMMEDIATE`` — or a plain ``BEGIN`` for a transaction nested inside another of
    the same thread (Optuna reads through a second connection while the first is open; an
    immediate one would wait for the lock its own thread holds)."""
    dbapi = _sqlite_of(conn)
    if dbapi is None:
        return
    held: set[int] = _open_transactions.__dict__.setdefault("ids", set())
    conn.exec_driver_sql("BEGIN" if held else "BEGIN IMMEDIATE")
    held.add(id(dbapi))


def _end_transaction(conn: sqlalchemy.Connection) -> None:
    dbapi = _sqlite_of(conn)
    if dbapi is not None:
        _open_transactions.__dict__.setdefault("ids", set()).discard(id(dbapi))


class BudgetSpent(Exception):
    """Raised instead of creating a trial beyond the study's trial budget."""


class Batches(NamedTuple):
    """Synchronous batches of a study's trials, by trial number: ``[0, first)``, then
    ``size`` trials at a time.

    Example:
        >>> [Batches(first=2, size=4).start(n) for n in range(8)]
        [0, 0, 2, 2, 2, 2, 6, 6]
    """

    first: int
    size: int

    def start(self, number: int) -> int:
        """The number of the first trial of ``number``'s batch."""
        if number < self.first:
            return 0
        return self.first + (number - self.first) // self.size * self.size


def study_batches(study: optuna.Study) -> Batches | None:
    """The study's batches (None: a study run without them, e.g. under a time budget)."""
    raw = study.user_attrs.get(ATTR_BATCHES)
    if not isinstance(raw, dict):
        return None
    return Batches(first=int(raw["first"]), size=int(raw["size"]))


class _SlotStorage(optuna.storages.RDBStorage):
    """RDBStorage in which, for a trial budget, workers only run the queued trial slots.

    ``fit`` enqueues exactly ``--trials`` WAITING trials (the fair-share ones first);
    Optuna claims a WAITING trial atomically (``SELECT … FOR UPDATE``), so any number of
    workers on any number of machines run exactly the budget, with no duplicate numbers.
    A stale trial's retry is enqueued by Optuna's heartbeat callback and claimed the same
    way. When no slot is left, ``ask`` raises :class:`BudgetSpent` instead of creating one.
    """

    slots_only = False
    #: With batches (a trial budget), the study they apply to and its :class:`Batches`:
    #: a queued trial is claimed only once every trial of the batches before its own has
    #: finished (else the claim is refused, as when another worker took it first).
    batch_gate: tuple[int, Batches] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._numbers: dict[int, int] = {}  # trial id -> number (never changes)
        self._closed: tuple[float, int] | None = None  # (until, batch start found closed)
        #: RUNNING trials with no heartbeat row -> when this process first saw them so
        self._beatless: dict[int, float] = {}
        #: The last write fault of the heartbeat thread (reported by the trial's own writes).
        self.heartbeat_error: Exception | None = None

    def record_heartbeat(self, trial_id: int) -> None:
        """Optuna's heartbeat, kept alive when the write fails (a full disk, a file-size
        limit): Optuna's thread would die printing a traceback whatever ``--debug`` says, and
        write no heartbeat again. The trial's own next write fails the same way and is
        reported there, in one sentence; the thread tries again at its next beat."""
        try:
            super().record_heartbeat(trial_id)
        except Exception as exc:
            self.heartbeat_error = exc

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        """Optuna's stale trials, plus RUNNING trials that never wrote a heartbeat.

        Optuna fails a RUNNING trial only when its heartbeat row is old; a process that died
        (or whose heartbeat failed on a write error) between claiming a trial and its first
        heartbeat leaves a RUNNING trial with no row, which it would never fail: every rerun
        would wait for it for ever. Such a trial is stale once this process has seen it
        without a heartbeat for the grace period, on a clock of its own (the database's
        times and this machine's are never compared). A live trial writes its first
        heartbeat as soon as it starts, so it is never caught.
        """
        stale = super()._get_stale_trial_ids(study_id)
        from optuna.storages._rdb import models

        with self.engine.connect() as conn:
            rows = conn.execute(
                sqlalchemy.select(models.TrialModel.trial_id)
                .outerjoin(models.TrialHeartbeatModel)
                .where(
                    models.TrialModel.study_id == study_id,
                    models.TrialModel.state == optuna.trial.TrialState.RUNNING,
                    models.TrialHeartbeatModel.trial_heartbeat_id.is_(None),
                )
            ).all()
        now = time.monotonic()
        self._beatless = {int(r[0]): self._beatless.get(int(r[0]), now) for r in rows}
        grace = self.grace_period or 2 * (self.heartbeat_interval or HEARTBEAT_S)
        return stale + [t for t, seen in self._beatless.items() if now - seen > grace]

    def _create_new_trial(
        self, study_id: int, template_trial: optuna.trial.FrozenTrial | None = None
    ) -> optuna.trial.FrozenTrial:
        if template_trial is None and self.slots_only:
            raise BudgetSpent("every trial of the budget is taken")
        return super()._create_new_trial(study_id, template_trial)

    def set_trial_user_attrs(self, trial_id: int, attrs: dict[str, Any]) -> None:
        """Set several user attributes of a trial in one transaction (Optuna sets one per
        transaction: a finished trial's ~26 figures were ~26 SQLite commits)."""
        with _create_scoped_session(self.scoped_session, True) as session:
            for key, value in attrs.items():
                self._set_trial_attr_without_commit(
                    session, _rdb_models.TrialUserAttributeModel, trial_id, key, value
                )

    def set_trial_state_values(
        self,
        trial_id: int,
        state: optuna.trial.TrialState,
        values: Any = None,
    ) -> bool:
        if state == optuna.trial.TrialState.RUNNING and not self._batch_open(trial_id):
            return False  # Optuna's ask moves on: to the next queued trial, or BudgetSpent
        return super().set_trial_state_values(trial_id, state, values)

    def _batch_open(self, trial_id: int) -> bool:
        """Whether every trial before ``trial_id``'s batch has finished.

        Optuna offers the queued trials in number order, so once a batch is found closed,
        the later trials of the same pass are refused without asking the database again.
        """
        if self.batch_gate is None:
            return True
        study_id, batches = self.batch_gate
        if trial_id not in self._numbers:
            self._numbers[trial_id] = self.get_trial_number_from_id(trial_id)
        start = batches.start(self._numbers[trial_id])
        if start == 0:
            return True
        closed = self._closed
        if closed is not None and start >= closed[1] and time.monotonic() < closed[0]:
            return False
        unfinished = self.get_all_trials(
            study_id,
            deepcopy=False,
            states=(optuna.trial.TrialState.WAITING, optuna.trial.TrialState.RUNNING),
        )
        if any(t.number < start for t in unfinished):
            self._closed = (time.monotonic() + GATE_MEMORY_S, start)
            return False
        return True


def _env_seconds(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(
            f"${name}={raw!r} is not a whole number of seconds >= 1; fix or unset it."
        )
    return value


def make_storage(url: str) -> _SlotStorage:
    """The Optuna storage for ``url``, with heartbeats and a safe SQLite setup.

    Raises:
        UsageError: The URL is malformed or the database cannot be reached (the message
            never contains the password).

    Example:
        >>> s = make_storage("sqlite:///:memory:")  # doctest: +SKIP
    """
    configure_optuna()
    remember_url(url)
    engine_kwargs: dict[str, Any]
    if url.startswith("sqlite"):
        engine_kwargs = {
            "connect_args": {"timeout": SQLITE_TIMEOUT_S, "factory": _ImmediateSqlite}
        }
    else:
        engine_kwargs = {"pool_pre_ping": True}
    heartbeat = _env_seconds(HEARTBEAT_ENV, HEARTBEAT_S)
    grace = max(_env_seconds(GRACE_ENV, HEARTBEAT_GRACE_S), heartbeat + 1)
    try:
        return _SlotStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=heartbeat,
            grace_period=grace,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=STALE_RETRIES
            ),
        )
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        if find_write_fault(exc) is not None:
            raise  # a full disk or a file-size limit, named as such by the caller
        reason = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        raise UsageError(
            f"cannot open the study storage {mask_url(url)} ({type(exc).__name__}: {reason}); "
            "check the URL, that the database exists and that its driver is installed."
        ) from None


def close_storage(study: optuna.Study) -> None:
    """Close the study's database connections (SQLite then checkpoints its WAL into the
    file, so a copy of ``study.db`` alone holds every trial; servers see no idle session)."""
    storage = study._storage
    backend = getattr(storage, "_backend", storage)
    engine = getattr(backend, "engine", None)
    if engine is not None:
        engine.dispose()
