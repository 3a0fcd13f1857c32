"""Write faults named for what they are (a full disk, a file-size limit), and atomic writes
that leave no temporary file behind.

A write that fails deep inside SQLite, Optuna or torch rarely says why: SQLite hides the
errno ("database or disk is full", "disk I/O error"), Optuna wraps that in a
``StorageInternalError`` and may even raise ``AssertionError("Should not reach.")`` while it
handles it. The cause is somewhere in the exception's chain (``__cause__``,
``__context__``, SQLAlchemy's ``orig``); :func:`describe_write_fault` finds it and says in
one sentence which file, what happened and what to do.

Example:
    >>> import errno
    >>> exc = OSError(errno.ENOSPC, "No space left on device", "/data/run/profile.json")
    >>> print(describe_write_fault(exc, None, advice=" or choose another --out"))
    ... # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    writing /data/run/profile.json failed: the disk ran out of space (... KiB free on / now);
    free some space or choose another --out, then rerun the same command.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Literal

__all__ = ["WriteFaultKind", "describe_write_fault", "find_write_fault", "write_atomic"]

#: What went wrong: the disk (or the quota) is full, a file reached the process's size
#: limit (``ulimit -f``), or the disk reported an input/output error.
WriteFaultKind = Literal["full", "limit", "io"]
_FULL = (errno.ENOSPC, errno.EDQUOT)
#: SQLite's texts for SQLITE_FULL and SQLITE_IOERR (it reports EFBIG as the latter).
_SQLITE_FULL = "database or disk is full"
_SQLITE_IO = "disk I/O error"
#: Bytes in the KiB the messages count in.
_KIB = 1024


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception it was raised from or while handling."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen):
            continue
        seen.append(e)
        todo += [e.__cause__, e.__context__, getattr(e, "orig", None)]
    return seen


def _size_limited() -> bool:
    return resource.getrlimit(resource.RLIMIT_FSIZE)[0] != resource.RLIM_INFINITY


def find_write_fault(exc: BaseException) -> tuple[WriteFaultKind, str | None] | None:
    """``(kind, file name or None)`` of the write fault behind ``exc``, or None if none is.

    Example:
        >>> import errno
        >>> find_write_fault(RuntimeError("x"))
        >>> find_write_fault(OSError(errno.EFBIG, "File too large", "/t/a.db"))
        ('limit', '/t/a.db')
    """
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in _FULL:
            return "full", e.filename
        if isinstance(e, OSError) and e.errno == errno.EFBIG:
            return "limit", e.filename
        if type(e).__name__ == "OperationalError":  # sqlite3's, or SQLAlchemy's wrapper
            text = str(e)
            if _SQLITE_FULL in text:
                return "full", None
            if _SQLITE_IO in text:  # SQLite's EFBIG, or a failing disk
                return ("limit" if _size_limited() else "io"), None
    return None


def _free_space(path: Path) -> tuple[str, Path]:
    probe = path
    while not probe.is_dir() and probe != probe.parent:
        probe = probe.parent
    try:
        return f"{shutil.disk_usage(probe).free // _KIB:,} KiB", probe
    except OSError:
        return "no space", probe


def describe_write_fault(
    exc: BaseException, where: str | os.PathLike[str] | None, *, advice: str
) -> str | None:
    """One sentence naming the write fault behind ``exc`` (None if there is none).

    Args:
        exc: What was raised.
        where: The file or folder being written, named when the fault carries no file
            name (SQLite's do not); None: the current folder.
        advice: What else the user may do about a full disk, e.g. ``" or choose another
            --out"``; the sentence always ends with rerunning the same command.
    """
    found = find_write_fault(exc)
    if found is None:
        return None
    kind, filename = found
    path = Path(filename or where or Path.cwd())
    if kind == "limit":
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        size = f"{limit // _KIB:,} KiB" if limit != resource.RLIM_INFINITY else "its size"
        return (
            f"writing {path} failed: a file reached this process's file-size limit (ulimit "
            f"-f, {size}); raise the limit, then rerun the same command."
        )
    free, disk = _free_space(path)
    if kind == "full":
        return (
            f"writing {path} failed: the disk ran out of space ({free} free on {disk} now); "
            f"free some space{advice}, then rerun the same command."
        )
    return (
        f"writing {path} failed with a disk input/output error ({free} free on {disk}); "
        f"check the disk{advice}, then rerun the same command."
    )


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Write ``path`` through ``write(tmp)`` into a temporary file beside it, then rename it
    into place: readers see the old file or the new one, never half of one. On any failure
    the temporary file is removed; an ``OSError`` names ``path`` itself (not the temporary
    file), with its errno kept.

    Example:
        >>> import tempfile; p = Path(tempfile.mkdtemp()) / "a.txt"
        >>> write_atomic(p, lambda tmp: tmp.write_text("hi")).read_text()
        'hi'
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        tmp.replace(path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename != str(path):
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    return path
