"""Graceful stop on Ctrl-C (SIGINT) and SIGTERM.

Both signals raise :class:`Interrupted` (a ``KeyboardInterrupt``) in the main thread, so
Optuna marks the running trial FAIL and the driver writes the report from the finished
trials; :func:`exit_code` gives the shell convention 128 + signal (130, 143). Inside a
:func:`deferred` block (every study-storage call) the signal is held until the block ends,
so no database transaction is cut in half.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["Interrupted", "deferred", "exit_code", "install", "received", "signal_name"]

#: The first stop signal received by this process (None until then).
received: int | None = None
#: Nesting depth of :func:`deferred` blocks in the main thread, and a signal held by them.
_depth = 0
_pending: int | None = None


class Interrupted(KeyboardInterrupt):
    """Raised by the SIGINT/SIGTERM handlers installed by :func:`install`."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


def _handler(signum: int, frame: FrameType | None) -> None:
    global received, _pending
    if received is None:
        received = signum
    if _depth:
        _pending = signum
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold a stop signal that arrives inside the block; raise it when the block ends.

    Only the main thread (where signal handlers run) is affected.

    Example:
        >>> with deferred():
        ...     pass
    """
    global _depth, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending is not None:
            signum, _pending = _pending, None
            raise Interrupted(signum)


def install() -> None:
    """Route SIGINT and SIGTERM to :class:`Interrupted` (main thread only; no-op elsewhere).

    Example:
        >>> install()
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handler)


def signal_name() -> str:
    """``SIGINT``/``SIGTERM`` for the signal received (``SIGINT`` if none was recorded)."""
    return signal.Signals(received or signal.SIGINT).name


def exit_code() -> int:
    """128 + the received signal: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + int(received or signal.SIGINT)
