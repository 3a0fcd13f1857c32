"""Keep database passwords out of everything archselect prints or writes.

Every storage URL archselect opens is remembered here; :func:`redact` replaces its
password (raw and URL-encoded, in the user-info part or as a ``password``/``sslpassword``
query parameter) and any ``scheme://user:password@`` in a text with ``***``. The CLI
remembers ``--storage`` before it records its command line, passes every error message
through :func:`redact`, and a logging filter does the same for log records, so SQLAlchemy
or driver messages that quote the URL stay safe.

The user-info part ends at the *last* ``@`` of the URL, so a password holding an
unencoded ``@`` (``postgres:p@ss@host``) or a space is masked whole.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import parse_qsl, quote, quote_plus, unquote, unquote_plus

__all__ = [
    "RedactingFilter",
    "install_log_filter",
    "mask_url",
    "redact",
    "remember_url",
    "url_secrets",
]

MASK = "***"
#: Passwords shorter than this are masked only inside URLs (a 1-2 letter password would
#: otherwise blank out ordinary words).
MIN_BARE_SECRET = 3
#: Query parameters of a database URL that carry a secret.
SECRET_PARAMETERS = ("password", "sslpassword")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+._-]*://")
# in free text: scheme://user:PASSWORD@ where the password runs to the last @ of the token
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+._-]*://[^:/@\s]*:)(?P<pw>\S*)@")
_QUERY_SECRET = re.compile(
    rf"(?P<head>[?&](?:{'|'.join(SECRET_PARAMETERS)})=)(?P<pw>[^&\s]*)", re.IGNORECASE
)
_secrets: set[str] = set()
_lock = threading.Lock()


def _split_userinfo(url: str) -> tuple[str, str, str] | None:
    """``(scheme://user:, password, @rest)`` of a URL with a password, else None."""
    scheme = _SCHEME.match(url)
    if not scheme:
        return None
    rest = url[scheme.end() :]
    at = rest.rfind("@")
    if at < 0 or ":" not in rest[:at]:
        return None
    user, password = rest[:at].split(":", 1)
    return f"{url[: scheme.end()]}{user}:", password, rest[at:]


def url_secrets(url: str) -> set[str]:
    """Every spelling of the secrets in a storage URL (user-info password, query passwords).

    Example:
        >>> found = url_secrets("postgresql://me:p@ss w@db/x?sslpassword=k%20ey")
        >>> {"p@ss w", "p%40ss%20w", "k ey", "k%20ey"} <= found
        True
    """
    found: set[str] = set()
    parts = _split_userinfo(url)
    if parts is not None:
        found.add(parts[1])
    query = url.split("?", 1)[1] if "?" in url else ""
    for key, value in parse_qsl(query, keep_blank_values=False):
        if key.lower() in SECRET_PARAMETERS:
            found.add(value)
    for match in _QUERY_SECRET.finditer(url):
        found.add(match["pw"])
    spellings: set[str] = set()
    for secret in found:
        for plain in (secret, unquote(secret), unquote_plus(secret)):
            spellings.update({plain, quote(plain, safe=""), quote_plus(plain, safe="")})
    return {s for s in spellings if s}


def mask_url(url: str) -> str:
    """Hide the passwords of a storage URL (or of every URL in a text) behind ``***``.

    Example:
        >>> mask_url("postgresql://me:s3cret@db:5432/studies")
        'postgresql://me:***@db:5432/studies'
        >>> mask_url("postgresql://me:p@ss@db/x?sslpassword=k")
        'postgresql://me:***@db/x?sslpassword=***'
    """
    parts = _split_userinfo(url)
    if parts is not None and not any(c.isspace() for c in parts[0]):
        url = f"{parts[0]}{MASK}{parts[2]}"
    else:
        url = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", url)
    return _QUERY_SECRET.sub(lambda m: f"{m['head']}{MASK}", url)


def remember_url(url: str) -> None:
    """Remember the secrets of ``url`` so :func:`redact` hides them wherever they appear."""
    secrets = {s for s in url_secrets(url) if len(s) >= MIN_BARE_SECRET}
    with _lock:
        _secrets.update(secrets)


def redact(text: str) -> str:
    """``text`` with every remembered secret and every URL password replaced by ``***``.

    Example:
        >>> redact("could not connect to mysql://root:hunter22@db/x")
        'could not connect to mysql://root:***@db/x'
    """
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return _QUERY_SECRET.sub(
        lambda m: f"{m['head']}{MASK}", _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", text)
    )


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
