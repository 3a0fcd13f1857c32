"""Keep database passwords out of everything archselect prints or writes.

Every storage URL archselect opens is remembered here; :func:`redact` replaces its
password (raw and URL-encoded) and any ``scheme://user:password@`` in a text with ``***``.
The CLI passes every error message through it, and a logging filter does the same for
log records, so SQLAlchemy or driver messages that quote the URL stay safe.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote, unquote

__all__ = ["RedactingFilter", "install_log_filter", "mask_url", "redact", "remember_url"]

MASK = "***"
#: Passwords shorter than this are masked only inside URLs (a 1-2 letter password would
#: otherwise blank out ordinary words).
MIN_BARE_SECRET = 3
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+._-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)@")
_secrets: set[str] = set()
_lock = threading.Lock()


def mask_url(url: str) -> str:
    """Hide the password of a storage URL: ``postgresql://u:***@host/db``.

    Example:
        >>> mask_url("postgresql://me:s3cret@db:5432/studies")
        'postgresql://me:***@db:5432/studies'
    """
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", url)


def remember_url(url: str) -> None:
    """Remember the password of ``url`` so :func:`redact` hides it wherever it appears."""
    for match in _URL_PASSWORD.finditer(url):
        pw = match["pw"]
        if len(pw) >= MIN_BARE_SECRET:
            with _lock:
                _secrets.update({pw, unquote(pw), quote(unquote(pw), safe="")})


def redact(text: str) -> str:
    """``text`` with every remembered password and every URL password replaced by ``***``.

    Example:
        >>> redact("could not connect to mysql://root:hunter22@db/x")
        'could not connect to mysql://root:***@db/x'
    """
    text = mask_url(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts passwords from the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = RedactingFilter()


def install_log_filter() -> None:
    """Add the redacting filter to the root logger's handlers and to Optuna's and SQLAlchemy's.

    Example:
        >>> install_log_filter()
    """
    for name in ("", "optuna", "sqlalchemy", "archselect"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
