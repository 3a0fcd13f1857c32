"""A stop signal that lands in a study-storage call is held until the call ends."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from archselect import _signals
from archselect.search import make_storage


@pytest.fixture
def handlers() -> Iterator[None]:
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    _signals.install()
    yield
    for s, h in old.items():
        signal.signal(s, h)
    _signals.received = None


def test_a_signal_inside_a_deferred_block_is_raised_when_it_ends(handlers: None) -> None:
    reached_end = False
    with pytest.raises(_signals.Interrupted) as err, _signals.deferred():
        with _signals.deferred():  # nested: held until the outermost block ends
            os.kill(os.getpid(), signal.SIGTERM)
        reached_end = True
    assert reached_end and err.value.signum == signal.SIGTERM
    assert _signals.exit_code() == 143
    with pytest.raises(_signals.Interrupted):  # outside a block: at once
        os.kill(os.getpid(), signal.SIGTERM)


def test_a_storage_write_cut_by_a_signal_still_completes(handlers: None, tmp_path: Path) -> None:
    storage = make_storage(f"sqlite:///{tmp_path / 's.db'}")
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()

    def interrupted_write(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # lands inside the storage call

    storage_cls = type(storage)
    original = optuna.storages.RDBStorage.set_trial_user_attr
    try:
        optuna.storages.RDBStorage.set_trial_user_attr = (  # type: ignore[method-assign]
            lambda self, *a, **k: (interrupted_write(), original(self, *a, **k))[1]
        )
        with pytest.raises(_signals.Interrupted):
            trial.set_user_attr("note", "written whole")
    finally:
        optuna.storages.RDBStorage.set_trial_user_attr = original  # type: ignore[method-assign]
    assert storage_cls is not optuna.storages.RDBStorage
    assert study.trials[0].user_attrs["note"] == "written whole"
    study.tell(trial, 1.0)  # the session is still usable
    assert study.trials[0].state == optuna.trial.TrialState.COMPLETE
