"""Request bodies as a strict server reads them: UTF-8, JSON by RFC 8259 and no more.

Python's json module accepts what a strict server refuses: NaN and ±Infinity, numbers beyond a
double (read as inf), lone UTF-16 surrogates (which no UTF-8 store can hold) and nesting as deep
as the stack allows (then a RecursionError). Each is refused here with a plain-text reason,
before the request touches any data. Form fields stay the legacy fallback (api §2.2), read only
when the client says it sends them.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl

from personyze_sandbox.schema import bad_request

# PHP's json_decode stops at 512 levels by default; the sandbox does the same.
MAX_JSON_DEPTH = 512
NOT_JSON = "The request body is not valid JSON: "
FORM_TYPE = "application/x-www-form-urlencoded"
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Refused(ValueError):
    """Raised from inside json.loads by the hooks below."""


def body_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(
            f"The request body is not valid UTF-8 (at byte offset {exc.start})"
        ) from None


def json_value(text: str) -> Any:
    """The JSON value of ``text``; a 400 naming what is wrong otherwise."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except _Refused as exc:
        raise bad_request(NOT_JSON + str(exc)) from None
    except json.JSONDecodeError as exc:
        raise bad_request(f"{NOT_JSON}{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise bad_request(_too_deep()) from None
    except ValueError:  # an integer literal longer than Python converts (4300 digits)
        raise bad_request(NOT_JSON + "a number is out of range") from None
    _check_tree(value)
    return value


def request_body(raw: bytes, content_type: str | None) -> Any:
    """JSON whatever the content type says; form fields only when declared so (api §2.2).
    None for an empty body."""
    text = body_text(raw).strip()
    if not text:
        return None
    declared_form = (content_type or "").split(";")[0].strip().lower() == FORM_TYPE
    if declared_form and text[0] not in "[{":
        return _form_fields(text)
    return json_value(text)


def _form_fields(text: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except UnicodeDecodeError:
        raise bad_request("The form body is not valid UTF-8") from None
    except ValueError as exc:
        raise bad_request(f"The form body is not valid: {exc}") from None
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"{text} is out of range")
    return value


def _too_deep() -> str:
    return f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels"


def _check_tree(value: Any) -> None:
    """Depth and lone surrogates, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, list | dict):
            if depth >= MAX_JSON_DEPTH:
                raise bad_request(_too_deep())
            if isinstance(item, dict):
                for key in item:
                    _check_text(key)
                stack.extend((v, depth + 1) for v in item.values())
            else:
                stack.extend((v, depth + 1) for v in item)


def _check_text(text: str) -> None:
    if _SURROGATE.search(text):
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise bad_request(f"The request body holds a lone UTF-16 surrogate in {shown!r}")
