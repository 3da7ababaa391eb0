"""Keep the API key out of text: log lines, exception messages, quoted response bodies.

The key can appear in three shapes: as itself, inside a Basic Authorization header
(``base64("api:" + key)``), and in a URL's userinfo (``https://api:KEY@host``, the form the
Personyze docs show for curl, possibly percent-encoded). All three are replaced with ``***``.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable
from urllib.parse import quote

from connectors.spec.loader import default_specs

MASK = "***"
# Shorter "secrets" would mask ordinary words and numbers in every log line.
_MIN_SECRET_LENGTH = 4
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]+@")
_BASIC = re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?basic\s+)[A-Za-z0-9+/_=-]+")


def secret_forms(secret: str, user: str | None = None) -> tuple[str, ...]:
    """Every text form in which ``secret`` can leak, longest first."""
    if len(secret) < _MIN_SECRET_LENGTH:
        return ()
    user = user if user is not None else default_specs().connection.auth_user
    forms = {secret, quote(secret, safe="")}
    for prefix in (f"{user}:", ""):
        raw = (prefix + secret).encode("utf-8")
        forms.add(base64.b64encode(raw).decode("ascii"))
        forms.add(base64.urlsafe_b64encode(raw).decode("ascii"))
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every form of each secret, any URL userinfo and any Basic credentials
    replaced by ``***``."""
    for secret in secrets:
        for form in secret_forms(secret):
            text = text.replace(form, MASK)
    text = _USERINFO.sub(rf"\1{MASK}@", text)
    return _BASIC.sub(rf"\1{MASK}", text)


class RedactingFilter(logging.Filter):
    """Redacts each record's message, arguments and traceback before any handler sees it.

    A logger's filters see only records logged on that very logger, not those propagated from
    its children, so attach it to every logger that might carry a secret (the client attaches it
    to ``personyze.client``) or to the handlers of the ``personyze`` logger.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        # Formatting first means a secret split between the format string and an argument is
        # still found; handlers then see a plain message without args.
        try:
            message = record.getMessage()
        except Exception:
            # A bad format string must not turn logging into a crash; keep both parts.
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message, self._secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self._secrets)
        return True
