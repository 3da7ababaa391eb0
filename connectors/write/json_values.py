"""What a strict JSON request body can carry, checked per column before anything is sent.

Python's JSON encoder writes NaN and Infinity as bare ``NaN``/``Infinity`` tokens (not JSON: a
strict server refuses the whole request) and cannot encode text holding lone surrogates (from
bytes that are not UTF-8 read with ``surrogateescape``, or a ``\\ud800`` escape): one such
value would stop a whole batch. An integer beyond 64 bits makes the API refuse the whole
request too. Each is refused here for its record alone, naming the column and what to do.
"""

from __future__ import annotations

import math
from typing import Any

# Personyze's ids and integer columns are signed 64-bit (MySQL BIGINT); a larger number in a
# request makes the API refuse the whole request, not just the record.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FIX_AT_SOURCE = 'fix it in the source, or drop the column with field_map (map it to "")'


class Refused(Exception):
    """A record that cannot be written; ``str()`` is the reason."""


def check_json_column(name: str, value: Any, *, integers: bool = True) -> None:
    """``check_json_value`` of a column's name and value."""
    if not name.isascii():
        _check_text(name, name)
    check_json_value(name, value, integers=integers)


def check_json_value(name: str, value: Any, *, integers: bool = True) -> None:
    """Refuse what a strict JSON body cannot carry: NaN and Infinity (Python's encoder would
    write bare ``NaN`` tokens), text with lone surrogates (from invalid UTF-8 or a broken
    ``\\u`` escape in the input: not encodable), integers beyond 64 bits (the API refuses the
    whole request; ``integers=False`` leaves them to the record's own checks, which know
    whether the column is the match key). Nested objects and arrays are checked with their
    path."""
    if isinstance(value, str):
        if not value.isascii():
            _check_text(name, value)
    elif isinstance(value, float):
        if value != value or value in (math.inf, -math.inf):
            token = "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
            raise Refused(
                f"column {name!r} holds {token}, which JSON cannot carry; send a number, or "
                f"leave it empty (null) to keep Personyze's value; {FIX_AT_SOURCE}"
            )
    elif isinstance(value, int) and not isinstance(value, bool):
        if integers and not INT64_MIN <= value <= INT64_MAX:
            raise Refused(
                f"column {name!r}: the integer {short_digits(str(value))} is beyond the 64-bit "
                f"integers the Personyze API takes; send it as text if it is an identifier, "
                f"or {FIX_AT_SOURCE}"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json_value(name, key)
            check_json_value(f"{name}.{key}", item, integers=integers)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json_value(f"{name}[{index}]", item, integers=integers)


def _check_text(name: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = value[exc.start]
        raise Refused(
            f"column {name!r} is not valid Unicode text: it holds {char!r} at character "
            f"{exc.start + 1} (bytes that are not UTF-8 in the input, or a \\u escape of half a "
            f"surrogate pair); fix the text's encoding in the source, or drop the column with "
            'field_map (map it to "")'
        ) from None


def json_kind(value: Any) -> str:
    """What a JSON value is, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {"str": "string", "list": "array", "dict": "object"}.get(type(value).__name__, "value")


def short_digits(digits: str) -> str:
    return digits if len(digits) <= 40 else f"{digits[:12]}…({len(digits)} digits)"
