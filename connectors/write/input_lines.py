"""The lines of a writer's input (Singer or Airbyte messages, one JSON object a line): numbered,
blank ones skipped, and a line that cannot be read turned into a reject with its number, a
reason and a guess at its stream, instead of stopping the run or vanishing.

Bytes are decoded as UTF-8 with invalid bytes kept as lone surrogates (``surrogateescape``):
the line still parses, and the record holding them is refused naming its column
(``records.check_json_value``) while the records around it are written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.write.json_values import Refused, check_json_column, json_kind
from connectors.write.records import without_metadata

__all__ = [
    "UNKNOWN_STREAM",
    "BadLine",
    "json_kind",
    "not_a_message",
    "not_json",
    "numbered_lines",
    "refused_values",
    "stream_hint",
]
# The summary row of rejected lines that name no stream one can read.
UNKNOWN_STREAM = "(unreadable input)"
_STREAM = re.compile(r'"stream"\s*:\s*"((?:[^"\\]|\\.){1,200})"')
_SHOWN_CHARS = 200


@dataclass(frozen=True)
class BadLine:
    """An input line that is not a record the writer can take: rejected, counted toward
    max_error_rate, never dropped silently. ``record``: what could be read of it (the record's
    columns, or the start of the line)."""

    number: int
    stream: str
    reason: str
    record: Any


def numbered_lines(source: Iterable[bytes] | Iterable[str]) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of every line that is not blank (blank lines carry nothing, and
    Singer and Airbyte tools skip them), numbered from 1 as in the input."""
    for number, raw in enumerate(source, 1):
        text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else str(raw)
        if text.strip():
            yield number, text.rstrip("\r\n")


def stream_hint(text: str) -> str | None:
    """The stream a broken line names, read from its text (``"stream": "name"``)."""
    match = _STREAM.search(text)
    return match.group(1) if match else None


def not_json(number: int, text: str, error: Exception, fix: str) -> BadLine:
    """The reject of a line that is not JSON; ``fix`` says what to do (depends on who wrote
    the input: a tap, the Airbyte platform)."""
    if isinstance(error, json.JSONDecodeError):
        detail = f"{error.msg.removesuffix(' at')} at character {error.pos + 1}"
    else:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    return BadLine(
        number,
        stream_hint(text) or UNKNOWN_STREAM,
        f"input line {number} is not JSON ({detail}), so the record on it cannot be written; "
        + fix,
        shown(text),
    )


def not_a_message(number: int, text: str, what: str, problem: str, fix: str) -> BadLine:
    """The reject of a JSON line that is not a message of the protocol (``what``)."""
    return BadLine(
        number,
        stream_hint(text) or UNKNOWN_STREAM,
        f"input line {number} is not {what}: {problem[:_SHOWN_CHARS]}; " + fix,
        shown(text),
    )


def refused_values(number: int, stream: str, record: Mapping[str, Any]) -> BadLine | None:
    """The reject of a record holding what strict JSON cannot carry (NaN, Infinity, text that
    is not valid Unicode), naming the column; None when it has none. Integers beyond 64 bits
    are left to the record checks, whose reason says whether the column is the match key."""
    for name, value in without_metadata(record).items():
        try:
            check_json_column(name, value, integers=False)
        except Refused as exc:
            return BadLine(number, stream, f"input line {number}: {exc}", dict(record))
    return None


def shown(text: str) -> str:
    """The start of a line, as the rejects file keeps an unreadable one."""
    text = text.rstrip("\r\n")
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"
