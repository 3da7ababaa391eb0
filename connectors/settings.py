"""Connection settings shared by every adapter, validated against ``specs/connection.json``.

Adapters hand their raw config (Airbyte config, Singer config, Meltano settings) to
``ConnectionSettings.from_config``; keys they add for themselves are ignored here. Every problem
is a ``SettingsError`` whose message starts with the setting's name and says what to do. The API
key is never part of a message or a repr.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from connectors.spec.loader import default_specs
from connectors.spec.models import ConnectionSpec, Setting


class SettingsError(ValueError):
    """A connection setting is missing or invalid; the message names it and says what to do."""


# Unix seconds have 10 digits until the year 2286; more digits almost always means milliseconds.
_MAX_UNIX_SECONDS = 9_999_999_999
_FIELDS = frozenset(
    ("api_key", "base_url", "start_date", "request_timeout", "max_retries", "max_concurrency")
)
_START_DATE_HINT = "use e.g. 2024-01-01 or 1704067200"
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?"
)


@dataclass(frozen=True)
class ConnectionSettings:
    """What the client needs to reach one Personyze account. Build it with ``from_config``."""

    api_key: str = field(repr=False)
    base_url: str
    start_date: int | None
    request_timeout: float
    max_retries: int
    max_concurrency: int
    lookback_window_days: int = 2
    # The recommendations stream (connectors/recommendations.py): tracker user ids to ask for.
    recommendation_user_ids: tuple[int, ...] = ()
    recommendation_user_list_id: int | None = None
    recommendation_document: str = "Default"

    def __post_init__(self) -> None:
        # Enforced here too so that a directly constructed instance cannot bypass the https rule.
        object.__setattr__(self, "base_url", checked_base_url(self.base_url))

    def __repr__(self) -> str:
        return (
            f"ConnectionSettings(api_key='***', base_url={self.base_url!r}, "
            f"start_date={self.start_date!r}, request_timeout={self.request_timeout!r}, "
            f"max_retries={self.max_retries!r}, max_concurrency={self.max_concurrency!r}, "
            f"lookback_window_days={self.lookback_window_days!r}, "
            f"recommendation_user_ids={self.recommendation_user_ids!r}, "
            f"recommendation_user_list_id={self.recommendation_user_list_id!r}, "
            f"recommendation_document={self.recommendation_document!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, spec: ConnectionSpec | None = None
    ) -> ConnectionSettings:
        """Validate ``config`` against the settings of connection.json (defaults applied)."""
        values = setting_values(config, spec=spec)
        missing = _FIELDS - values.keys()
        if missing:
            raise SettingsError(f"connection.json does not define the settings {sorted(missing)}")
        return cls(
            api_key=str(values["api_key"]),
            base_url=str(values["base_url"]),
            start_date=parse_start_date(values["start_date"]),
            request_timeout=float(values["request_timeout"]),
            max_retries=int(values["max_retries"]),
            max_concurrency=int(values["max_concurrency"]),
            lookback_window_days=int(values.get("lookback_window_days") or 0),
            recommendation_user_ids=tracker_user_ids(
                "recommendation_user_ids", values.get("recommendation_user_ids") or ()
            ),
            recommendation_user_list_id=_optional_int(values.get("recommendation_user_list_id")),
            recommendation_document=str(values.get("recommendation_document") or "Default"),
        )


def setting_values(
    config: Mapping[str, Any], *, spec: ConnectionSpec | None = None
) -> dict[str, Any]:
    """Every setting of connection.json, validated, with its default when not given."""
    spec = spec or default_specs().connection
    return {s.name: _checked(s, config.get(s.name)) for s in spec.settings}


def _checked(setting: Setting, raw: Any) -> Any:
    name = setting.name
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if setting.required:
            raise SettingsError(f"{name}: is required; {setting.description}")
        return setting.default
    value = _typed(setting, raw)
    shown = _shown(setting, value)
    pattern = setting.pattern
    if pattern is not None and isinstance(value, str) and not re.search(pattern, value):
        raise SettingsError(
            f"{name}: {shown} is not a valid {setting.title.lower()}; {_examples(setting)}"
        )
    if isinstance(value, int | float):
        low, high = setting.minimum, setting.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            raise SettingsError(
                f"{name}: {shown} is out of range; use a value from "
                f"{_number(low)} to {_number(high)}"
            )
    return value


def _typed(setting: Setting, raw: Any) -> Any:
    """Coerce to the setting's type; UIs and env-var configs often give numbers as strings."""
    name, kind = setting.name, setting.type
    shown = _shown(setting, raw)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false", "1", "0"):
            return raw.strip().lower() in ("true", "1")
        raise SettingsError(f"{name}: {shown} is not true or false; {_examples(setting)}")
    if kind == "object":
        if isinstance(raw, Mapping):
            return dict(raw)
        raise SettingsError(f"{name}: {shown} is not an object; {_examples(setting)}")
    if isinstance(raw, bool):
        raise SettingsError(f"{name}: {shown} is a boolean; {_examples(setting)}")
    if kind == "string":
        if isinstance(raw, int):
            return str(raw)
        if isinstance(raw, str):
            return raw.strip()
        raise SettingsError(f"{name}: {shown} is not a text; {_examples(setting)}")
    if kind == "array":
        if isinstance(raw, list | tuple):
            return tuple(raw)
        if isinstance(raw, str):  # env-var configs: a JSON array or comma-separated items
            text = raw.strip()
            try:
                parsed = json.loads(text) if text.startswith("[") else None
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                return tuple(parsed)
            return tuple(item.strip() for item in text.split(",") if item.strip())
        raise SettingsError(f"{name}: {shown} is not a list; {_examples(setting)}")
    number: float | int
    try:
        number = float(raw.strip()) if isinstance(raw, str) else raw
    except ValueError:
        number = math.nan
    if not isinstance(number, int | float) or not math.isfinite(number):
        raise SettingsError(f"{name}: {shown} is not a number; {_examples(setting)}")
    if kind == "integer":
        if number != int(number):
            raise SettingsError(f"{name}: {shown} is not a whole number; {_examples(setting)}")
        return int(number)
    return float(number)


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


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _shown(setting: Setting, value: Any) -> str:
    if setting.secret:
        return "the given value"
    return _without_userinfo(repr(value))


def _examples(setting: Setting) -> str:
    examples = [str(e) for e in setting.examples if e is not None]
    if setting.secret or not examples:
        return f"expected: {setting.description}"
    return "use e.g. " + " or ".join(examples)


def _number(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


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
        if value > _MAX_UNIX_SECONDS:
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
            f"base_url: {_without_userinfo(url)!r} is not an http(s) URL; "
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


def _without_userinfo(url: str) -> str:
    return re.sub(r"//[^/@]*@", "//***@", url)
