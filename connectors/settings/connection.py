"""Connection settings shared by every adapter, validated against ``specs/connection.json``.

Adapters hand their raw config (Airbyte config, Singer config, Meltano settings) to
``ConnectionSettings.from_config``; a key that is neither a setting nor one the frameworks add
for themselves (``connectors.settings.known_keys``) fails with a "did you mean". Every problem
is a ``SettingsError`` whose message starts with the setting's name and says what to do. The API
key is never part of a message or a repr.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from connectors.settings.known_keys import unknown_keys_problem
from connectors.settings.values import (
    SettingsError,
    checked_base_url,
    parse_start_date,
    tracker_user_ids,
    without_userinfo,
)
from connectors.spec.loader import default_specs
from connectors.spec.models import ConnectionSpec, Setting

_FIELDS = frozenset(
    ("api_key", "base_url", "start_date", "request_timeout", "max_retries", "max_concurrency")
)
Side = Literal["read", "write"]
_USED_BY: dict[Side, str] = {
    "read": "the readers, source-personyze and tap-personyze",
    "write": "the writers, target-personyze and destination-personyze",
}


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
    # The recommendations stream (connectors/read/recommendations.py): tracker user ids to ask for.
    recommendation_user_ids: tuple[int, ...] = ()
    recommendation_user_list_id: int | None = None
    recommendation_document: str = "Default"
    # The user's consent to the recommendations stream's writes (connectors/read/selection.py).
    record_recommendation_page_views: bool = False

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
            f"recommendation_document={self.recommendation_document!r}, "
            f"record_recommendation_page_views={self.record_recommendation_page_views!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any],
        *,
        spec: ConnectionSpec | None = None,
        side: Side | None = None,
    ) -> ConnectionSettings:
        """Validate ``config`` against the settings of connection.json (defaults applied).
        ``side``: the settings of the other side are refused too (a reader given ``dry_run``);
        None accepts both sides' settings."""
        spec = spec or default_specs().connection
        check_keys(config, spec, side)
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
            record_recommendation_page_views=bool(values.get("record_recommendation_page_views")),
        )


def check_keys(config: Mapping[str, Any], spec: ConnectionSpec, side: Side | None) -> None:
    """A SettingsError naming each key of ``config`` that is no setting of ``side``."""
    mine = [s.name for s in spec.settings if side is None or side in s.applies_to]
    other: dict[str, str] = {}
    if side is not None:
        for s in spec.settings:
            if s.name not in mine:
                other[s.name] = _USED_BY["write" if side == "read" else "read"]
    problem = unknown_keys_problem(config, mine, other)
    if problem is not None:
        raise SettingsError(problem)


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


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _shown(setting: Setting, value: Any) -> str:
    if setting.secret:
        return "the given value"
    return without_userinfo(repr(value))


def _examples(setting: Setting) -> str:
    examples = [str(e) for e in setting.examples if e is not None]
    if setting.secret or not examples:
        return f"expected: {setting.description}"
    return "use e.g. " + " or ".join(examples)


def _number(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)
