"""Parsing and checking single setting values: start dates, the base URL and its https
rule, tracker user ids. Every problem is a ``SettingsError`` whose message starts with the
setting's name and says what to do."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class SettingsError(ValueError):
    """A connection setting is missing or invalid; the message names it and says what to do."""


# Unix seconds have 10 digits until the year 2286; more digits almost always means milliseconds.
MAX_UNIX_SECONDS = 9_999_999_999
_START_DATE_HINT = "use e.g. 2024-01-01 or 1704067200"
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?"
)


# Tracker user ids are any signed or unsigned 32-bit integer (api §7.2).
TRACKER_USER_ID_MIN = -(2**31)
TRACKER_USER_ID_MAX = 2**32 - 1


def tracker_user_id(value: Any) -> int | None:
    """A tracker user id from an int or digits, or None when it is not a 32-bit integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,10}\s*", value):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and TRACKER_USER_ID_MIN <= value <= TRACKER_USER_ID_MAX:
        return value
    return None


def tracker_user_ids(name: str, raw: Any) -> tuple[int, ...]:
    """Distinct tracker user ids in their given order; a SettingsError names a bad one."""
    out: list[int] = []
    for item in raw:
        value = tracker_user_id(item)
        if value is None:
            raise SettingsError(
                f"{name}: {item!r} is not a tracker user id; use 32-bit integers "
                f"({TRACKER_USER_ID_MIN} to {TRACKER_USER_ID_MAX}), e.g. [123456, 98765]"
            )
        if value not in out:
            out.append(value)
    return tuple(out)


def parse_start_date(value: str | int | None) -> int | None:
    """Normalise a start date to unix seconds: an ISO date (00:00 UTC), an ISO date-time with or
    without an offset (UTC when none, ``Z`` allowed), or unix seconds as an int or digits."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    problem = f"start_date: {value!r} is not an ISO date or unix seconds; {_START_DATE_HINT}"
    if isinstance(value, bool):
        raise SettingsError(problem)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int):
        if value < 0:
            raise SettingsError(f"start_date: {value} is before 1970; {_START_DATE_HINT}")
        if value > MAX_UNIX_SECONDS:
            raise SettingsError(
                f"start_date: {value} is too large for unix seconds (milliseconds?); "
                f"{_START_DATE_HINT}"
            )
        return value
    if not isinstance(value, str):
        raise SettingsError(problem)
    m = _ISO.fullmatch(value.strip())
    if not m:
        raise SettingsError(problem)
    year, month, day, hour, minute, second, offset = m.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=_zone(offset),
        )
    except ValueError:
        raise SettingsError(problem) from None
    # Fractions of a second are dropped (floor): an earlier start never loses a row.
    return max(0, int(moment.timestamp()))


def _zone(offset: str | None) -> timezone:
    if offset is None or offset == "Z":
        return timezone.utc
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def checked_base_url(url: str) -> str:
    """The base URL without a trailing slash, after the https rule: Personyze answers plain http
    with 401 (api §1.2), so http is only allowed to loopback, where the sandbox runs."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise SettingsError(
            f"base_url: {without_userinfo(url)!r} is not an http(s) URL; "
            "use e.g. https://app.personyze.com/rest"
        )
    if "@" in parts.netloc:
        raise SettingsError(
            "base_url: must not contain credentials (user:key@); put the key in api_key, "
            "it is sent only in the Authorization header"
        )
    if parts.query or parts.fragment:
        raise SettingsError(
            f"base_url: {url!r} has a query or fragment; give only the REST root, "
            "e.g. https://app.personyze.com/rest"
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise SettingsError(
            f"base_url: {url!r} uses plain http; Personyze requires https "
            "(http is allowed only to 127.0.0.1, ::1 or localhost for the sandbox)"
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def without_userinfo(url: str) -> str:
    return re.sub(r"//[^/@]*@", "//***@", url)
