"""How long to wait before a retry: exponential backoff with full jitter, bounded per wait and
in total, and never sooner than a server's Retry-After. Shared by the REST and tracker clients."""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
# Total seconds a request may spend retrying before it is given up.
RETRY_BUDGET = 300.0


def full_jitter(attempt: int, rng: random.Random) -> float:
    """Uniform in [0, min(cap, base * 2**(attempt-1))]."""
    return rng.uniform(0.0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
