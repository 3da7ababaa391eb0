"""How an HTTP 500 from tracker-v1 is read: the tracker's refusal of a request, or a server
failure that may pass.

The tracker answers every refused request with HTTP 500 and the reason as plain text (api §7.6),
e.g. ``Command 2: Navigate needs urn:personyze:doc:<name>``; resending it would be refused
again. A web server, proxy or crashed worker in front of it answers 500 too, but with nothing
the tracker would say: an empty body, an HTML error page, or a generic status phrase such as
``Internal server error`` (what the sandbox's fault injector and most servers send). Those are
failures that may pass and are retried like a 503, but only for a request that may safely
apply twice (a lone Navigate): a server that failed mid-request may have applied part of it.
"""

from __future__ import annotations

import re

# Whole bodies (compared case-insensitively, trailing punctuation ignored) that name no reason.
GENERIC_SERVER_ERRORS = frozenset(
    {
        "internal server error",
        "internal error",
        "server error",
        "error",
        "service unavailable",
        "service temporarily unavailable",
        "bad gateway",
        "gateway timeout",
        "an error occurred",
        "500 internal server error",
    }
)


def is_refusal(body: str | None) -> bool:
    """True when a tracker-v1 500 body is the tracker's own reason for refusing the request."""
    text = (body or "").strip()
    if not text or text.startswith("<"):  # nothing, or an HTML error page
        return False
    phrase = re.sub(r"[\s.!]+$", "", text).lower()
    return phrase not in GENERIC_SERVER_ERRORS
