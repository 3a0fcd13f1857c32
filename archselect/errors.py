"""Error types: every problem with the user's input is an :class:`ArchSelectError`."""

from __future__ import annotations

__all__ = ["ArchSelectError", "DataError", "RunDirError", "UsageError"]


class ArchSelectError(ValueError):
    """A problem the user can fix; the message names the problem and the fix.

    The CLI prints the message as one sentence and exits with code 2.
    """


class DataError(ArchSelectError):
    """The data set cannot be used as it is."""


class UsageError(ArchSelectError):
    """An option or argument is invalid."""


class RunDirError(ArchSelectError):
    """A run directory is missing, incomplete, foreign or from a newer version."""
