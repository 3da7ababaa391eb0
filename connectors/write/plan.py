"""Pure planning helpers: calls as data, IN-list and `do` batch sizing, failure attribution."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from connectors.api.query import encode_value

# An IN-list path stays below common URL limits (8 KiB in many proxies), leaving room for the
# rest of the URL and the headers.
MAX_IN_VALUES = 500
MAX_IN_CHARS = 7_000
# One `do` request carries at most this many commands and about this much JSON; the API
# documents no limit. Events nothing can read back go in smaller requests, since a request whose
# answer is lost loses them; idempotent commands (`User profile`, ~100 bytes each) are simply
# sent again, and product interactions are read back.
MAX_DO_COMMANDS = 500
MAX_IDEMPOTENT_DO_COMMANDS = 1000
MAX_DO_CHARS = 512_000
# Rows one equality read (user_id IN-list) may return (api §4.7).
MAX_EQUALITY_ROWS = 1000

_FAILED = re.compile(r"^\s*Command (\d+):\s*(.*)$", re.S)


@dataclass(frozen=True)
class Call:
    """One planned request, as a dry run prints it (the key is never part of it)."""

    method: str
    path: str
    body: Any = None

    def render(self) -> str:
        if self.body is None:
            return f"{self.method} {self.path}"
        text = json.dumps(self.body, ensure_ascii=False, separators=(",", ":"), default=str)
        return f"{self.method} {self.path} {text}"


def in_list_chunks(
    values: Sequence[str], max_count: int = MAX_IN_VALUES, max_chars: int = MAX_IN_CHARS
) -> list[list[str]]:
    """Distinct values cut into lists that fit one `where/<col>:<v1>,<v2>,...` path."""
    out: list[list[str]] = []
    current: list[str] = []
    size = 0
    for value in dict.fromkeys(values):
        cost = len(encode_value(value)) + 1
        if current and (len(current) >= max_count or size + cost > max_chars):
            out.append(current)
            current, size = [], 0
        current.append(value)
        size += cost
    if current:
        out.append(current)
    return out


def do_batches(
    commands: Sequence[list[Any]],
    max_count: int = MAX_DO_COMMANDS,
    max_chars: int = MAX_DO_CHARS,
) -> list[tuple[int, int]]:
    """``(start, end)`` index ranges of ``commands`` that each fit one `do` request."""
    out: list[tuple[int, int]] = []
    start, size = 0, 0
    for index, command in enumerate(commands):
        cost = len(json.dumps(command, default=str)) + 1
        if index > start and (index - start >= max_count or size + cost > max_chars):
            out.append((start, index))
            start, size = index, 0
        size += cost
    if start < len(commands):
        out.append((start, len(commands)))
    return out


def failed_command(body: str | None) -> tuple[int, str] | None:
    """The 1-based number and reason of the command a `do` batch stopped at, from the 400
    text ``Command N: ...``; None when the text names no command."""
    if not body:
        return None
    match = _FAILED.match(body)
    if match is None:
        return None
    return int(match.group(1)), match.group(2).strip()
