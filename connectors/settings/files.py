"""The JSON files a run is given (settings, catalog, state), read with errors that name the file,
what is wrong with it and what to do; the adapters turn ``JsonFileError`` into their
framework's error and check the value's shape themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any


class JsonFileError(Exception):
    """A settings, catalog or state file that cannot be read as JSON; the message names the
    file, what is wrong and what to do."""


def read_json_file(file: str | IO[str], what: str, fix: str) -> Any:
    """The JSON value of ``file``: a path (read as UTF-8) or an open text handle. ``what`` names
    the file in the message ("config", "catalog", "state"); ``fix`` says what to do."""
    name = file if isinstance(file, str) else file_name(file)
    try:
        text = Path(file).read_text(encoding="utf-8") if isinstance(file, str) else file.read()
    except FileNotFoundError:
        raise JsonFileError(f"{what} file {name} does not exist; {fix}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise JsonFileError(f"{what} file {name} cannot be read ({reason}); {fix}") from None
    if not text.strip():
        raise JsonFileError(f"{what} file {name} is empty; {fix}")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise JsonFileError(f"{what} file {name} is not valid JSON ({exc}); {fix}") from None


def file_name(handle: IO[str]) -> str:
    """How an open file is named in a message (``<stdin>`` for a stream without a name)."""
    return str(getattr(handle, "name", "<stdin>"))


def json_kind(value: Any) -> str:
    """The JSON type of a parsed value, as a message names it ("an array, not an object")."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(
        type(value), "value"
    )
