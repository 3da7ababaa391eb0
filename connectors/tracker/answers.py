"""What a tracker-v1 answer holds (api §7.4), decoded: the actions with their content assembled
from the constant wrapper of ``/rest/actions`` and the variable ``data``, JSON recommendation
items parsed, ids accepted as numbers or numeric strings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ActionWrapper:
    """The constant part of an action's content (a row of /rest/actions)."""

    id: int
    name: str | None
    content_type: str | None
    content_param: str | None
    content_begin: str
    content_end: str


@dataclass(frozen=True)
class TrackerAction:
    id: int
    data: dict[str, str]
    name: str | None = None
    content_type: str | None = None
    content: str | None = None
    items: list[Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class TrackerResponse:
    session_id: str | None
    actions: tuple[TrackerAction, ...]
    conditions: tuple[int, ...]
    cache_version: int
    dismiss_conditions: tuple[int, ...]
    dismiss_actions: tuple[int, ...]


def assemble(
    action_id: int, data: Mapping[str, str], wrapper: ActionWrapper | None
) -> TrackerAction:
    """content = content_begin + data[content_param] + content_end; JSON content parsed.
    Without a wrapper, a ``data`` entry is read as a JSON recommendation (``[`` ... ``]``, REC)."""
    if wrapper is None:
        if "data" not in data:
            return TrackerAction(action_id, dict(data))
        wrapper = ActionWrapper(action_id, None, "application/json", "data", "[", "]")
    param = wrapper.content_param
    if not param or param not in data:
        return TrackerAction(action_id, dict(data), wrapper.name, wrapper.content_type)
    content = wrapper.content_begin + data[param] + wrapper.content_end
    items: list[Any] | None = None
    if "json" in (wrapper.content_type or ""):
        try:
            parsed = json.loads(content)
        except ValueError:
            parsed = None
        items = parsed if isinstance(parsed, list) else None
    return TrackerAction(action_id, dict(data), wrapper.name, wrapper.content_type, content, items)


def wrapper_of(row: Any) -> ActionWrapper | None:
    if not isinstance(row, dict) or int_of(row.get("id")) is None:
        return None
    return ActionWrapper(
        id=int(row["id"]),
        name=row.get("name"),
        content_type=row.get("content_type"),
        content_param=row.get("content_param"),
        content_begin=row.get("content_begin") or "",
        content_end=row.get("content_end") or "",
    )


def int_of(value: Any) -> int | None:
    # the iOS SDK accepts ids as numbers or numeric strings (api §7.4)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def ids_of(values: Iterable[Any]) -> tuple[int, ...]:
    return tuple(i for i in map(int_of, values) if i is not None)


def data_of(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
