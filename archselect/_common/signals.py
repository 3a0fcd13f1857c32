"""Graceful stop on Ctrl-C (SIGINT) and SIGTERM: a flag, acted on at safe points.

The handlers installed by :func:`install` only record the signal. The stages act on it where
stopping is safe: between trials and at the start of each one, at the end of each training
epoch, between baselines, and between the phases of ``fit`` (:func:`check` raises
:class:`Interrupted`, a ``KeyboardInterrupt``). Nothing is ever raised inside Optuna,
SQLAlchemy or Lightning, so no transaction is cut in half and no trial is left RUNNING.
Inside an :func:`interruptible` block (pure computation: reading, profiling, preparing the
data, fitting baselines) the handler raises at once, so a stop never waits for a long
computation that touches no shared state; the flag stays set, so a raise that lands where
Python swallows exceptions (a garbage-collection callback) is raised again at the next
safe point. :func:`exit_code` gives the shell convention 128 + signal (130, 143).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

__all__ = [
    "Interrupted",
    "check",
    "exit_code",
    "install",
    "interruptible",
    "received",
    "restore",
    "signal_name",
]

#: The first stop signal received by this process (None until then).
received: int | None = None
#: Nesting depth of :func:`interruptible` blocks in the main thread.
_immediate = 0
#: Whether :func:`install` put the handlers in place (so :func:`restore` may put them back).
_installed = False


class Interrupted(KeyboardInterrupt):
    """Raised at a safe point after SIGINT/SIGTERM (see the module docstring)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _handler(signum: int, frame: FrameType | None) -> None:
    global received
    if received is None:
        received = signum
    if _immediate and _main_thread():
        raise Interrupted(received)


def check() -> None:
    """A safe point: raise :class:`Interrupted` if a stop signal has been received.

    Example:
        >>> check()  # no signal: nothing happens
    """
    if received is not None:
        raise Interrupted(received)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Pure computation: a stop signal raises at once inside the block (main thread).

    Example:
        >>> with interruptible():
        ...     pass
    """
    global _immediate
    if not _main_thread():
        yield
        return
    check()
    _immediate += 1
    try:
        yield
    finally:
        _immediate -= 1


def _unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook``: an :class:`Interrupted` raised where Python swallows exceptions
    (a weakref or garbage-collection callback) is not reported there, since the flag stays
    set and the next safe point raises it; everything else goes to the previous hook."""
    if isinstance(unraisable.exc_value, Interrupted):
        return
    _previous_unraisablehook(unraisable)


_previous_unraisablehook = sys.unraisablehook


def install() -> None:
    """Record SIGINT and SIGTERM in :data:`received` (main thread only; no-op elsewhere).

    Example:
        >>> install()
    """
    global _installed
    if not _main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handler)
    if sys.unraisablehook is not _unraisable:
        global _previous_unraisablehook
        _previous_unraisablehook = sys.unraisablehook
        sys.unraisablehook = _unraisable
    _installed = True


def restore() -> None:
    """Put the handlers back if a library replaced them (Lightning ignores SIGINT after a
    keyboard interrupt it handled itself)."""
    if not _installed or not _main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not _handler:
            signal.signal(signum, _handler)


def signal_name() -> str:
    """``SIGINT``/``SIGTERM`` for the signal received (``SIGINT`` if none was recorded)."""
    return signal.Signals(received or signal.SIGINT).name


def exit_code() -> int:
    """128 + the received signal: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + int(received or signal.SIGINT)
