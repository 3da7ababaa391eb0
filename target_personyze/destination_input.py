"""Reading the destination's input: Airbyte messages from stdin's bytes, by line number.

The CDK's reader drops a line it cannot parse with an INFO log that quotes the whole line (a
record, personal data included) and goes on: the record is lost without a count. Here every
line that is not blank becomes either a message or a ``BadLine`` the destination rejects and
counts. orjson reads the lines' bytes (strict JSON, fast); a line it refuses is read again
leniently so that a record holding NaN, Infinity, a lone surrogate or invalid UTF-8 is refused
naming its column, and one holding an integer orjson rounds (beyond 64 bits: a float of that
size) is read exactly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from airbyte_cdk.models import (  # type: ignore[attr-defined]
    AirbyteMessage,
    AirbyteMessageSerializer,
    Type,
)

from connectors.write.input_lines import (
    BadLine,
    json_kind,
    not_a_message,
    not_json,
    refused_values,
)

FIX = (
    "Airbyte sends one Airbyte message per line: check the source's output (and any "
    "transformation in between), then rerun the sync"
)
WHAT = "an Airbyte message"
# orjson reads integers beyond 64 bits as floats, silently rounded: a whole float this large
# may be one, and its line is read again by the json module, which keeps integers exact.
_ROUNDED = float(2**63)
# serpyco's first error: '- "<value>" <problem> (instance_path='<path>')'
_SCHEMA_ERROR = re.compile(
    r'^- "(?P<value>.*)" (?P<problem>.+?) \(instance_path=\'(?P<path>.*)\'\)$'
)


def read_input(lines: Iterable[bytes | str]) -> Iterator[AirbyteMessage | BadLine]:
    """Every input line that is not blank (blank lines carry nothing), as a message or as the
    reason it is not one; numbered from 1 as in the input."""
    for number, raw in enumerate(lines, 1):
        if raw.strip():
            yield parse_line(number, raw)


def parse_line(number: int, raw: bytes | str) -> AirbyteMessage | BadLine:
    try:
        data = orjson.loads(raw)
        strict = not _rounded(data)
    except orjson.JSONDecodeError:
        strict = False
    if not strict:
        text = _text(raw)
        try:
            data = json.loads(text)  # NaN, Infinity, lone surrogates, exact big integers
        except ValueError as exc:
            return not_json(number, text, exc, FIX)
    if not isinstance(data, dict):
        return not_a_message(number, _text(raw), WHAT, f"a JSON {json_kind(data)}", FIX)
    record = data.get("record")
    if data.get("type") == "RECORD" and isinstance(record, dict):
        values = record.get("data", {})
        if not isinstance(values, dict):
            problem = f"a RECORD's 'data' must be a JSON object, not a JSON {json_kind(values)}"
            return not_a_message(number, _text(raw), WHAT, problem, FIX)
    try:
        message = AirbyteMessageSerializer.load(data)
    except ValueError as exc:  # the protocol's schema refused it
        return not_a_message(number, _text(raw), WHAT, schema_problem(exc), FIX)
    if not strict and message.type == Type.RECORD and message.record is not None:
        refused = refused_values(number, message.record.stream, message.record.data)
        if refused is not None:
            return refused
    return message


def _text(raw: bytes | str) -> str:
    """A line as text: invalid UTF-8 kept as lone surrogates, for the record checks to name."""
    text = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
    return text.rstrip("\r\n")


def _rounded(value: Any) -> bool:
    """Whether orjson's reading may hold an integer it rounded (a whole float of 2^63 or more)."""
    if type(value) is float:
        return abs(value) >= _ROUNDED and value.is_integer()
    if type(value) is dict:
        return any(_rounded(v) for v in value.values())
    if type(value) is list:
        return any(_rounded(v) for v in value)
    return False


def schema_problem(error: Exception) -> str:
    """What the protocol's schema says is wrong, without quoting a value of the record (the
    schema validator quotes the whole offending value: personal data, for a record's data)."""
    lines = [x.strip() for x in str(error).splitlines() if x.strip().startswith("- ")]
    match = _SCHEMA_ERROR.match(lines[0]) if lines else None
    if match is None:
        return type(error).__name__
    value, problem, path = match["value"], match["problem"], match["path"]
    if problem == "is a required property":
        return f"{value!r} is a required property" + (
            f" of '{path.rpartition('/')[0]}'" if "/" in path else ""
        )
    where = f"'{path}'" if path else "a value"
    if problem.startswith("is not one of") and len(value) <= 40:
        return f"{where} is {value!r}, not one of {problem.removeprefix('is not one of ')}"
    return f"{where} {problem}"
