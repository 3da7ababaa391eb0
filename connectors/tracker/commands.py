"""Tracker v1 commands (api §7.3): built and checked against the command table of
specs/commands.json before anything is sent, plus the user id rule."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from connectors.api.errors import RequestError
from connectors.settings import tracker_user_id
from connectors.spec import CommandSpec, CommandTable, default_specs
from connectors.spec.models import CommandArg

DOCUMENT_URN = "urn:personyze:doc:"


class TrackerError(RequestError):
    """tracker-v1 answered 500: the request was refused and the body says why."""


class TrackerInputError(ValueError):
    """A command or field that tracker-v1 would refuse, caught before sending."""


def check_user_id(value: Any) -> int:
    checked = tracker_user_id(value)
    if checked is None:
        raise TrackerInputError(
            f"user_id {value!r} is not a tracker user id: any signed or unsigned 32-bit integer"
        )
    return checked


# ---------------------------------------------------------------------------- commands


def command(name: str, *args: Any, table: CommandTable | None = None, **keywords: Any) -> list[Any]:
    """One command, e.g. ``command("Product viewed", "SKU-1", action_id=10)``."""
    return checked_command([name, *args, *(x for kv in keywords.items() for x in kv)], table)


def navigate(document: str) -> list[Any]:
    """``["Navigate", "urn:personyze:doc:<document>"]``: a new page, where actions run again."""
    if not document:
        raise TrackerInputError("the document name of Navigate must not be empty")
    return ["Navigate", DOCUMENT_URN + quote(document, safe="")]


def checked_command(raw: Sequence[Any], table: CommandTable | None = None) -> list[Any]:
    """A command array checked against the command table (names are case-insensitive): the
    canonical name, positional arguments, then keyword pairs or field/value pairs."""
    if isinstance(raw, str | bytes) or not raw or not isinstance(raw[0], str):
        raise TrackerInputError(f"a command is an array starting with its name, not {raw!r}")
    table = table or default_specs().commands
    spec = table.find(raw[0], "tracker-v1")
    if spec is None:
        known = ", ".join(c.name for c in table.commands if "tracker-v1" in c.endpoints)
        raise TrackerInputError(f"unknown tracker command {raw[0]!r}; known: {known}")
    args = list(raw[1:])
    out: list[Any] = [spec.name]
    for index, arg in enumerate(spec.positional):
        if index >= len(args):
            if arg.optional:
                break
            raise TrackerInputError(f"command {spec.name!r} needs the argument {arg.name}")
        out.append(_typed(spec, arg, args[index]))
    rest = args[len(out) - 1 :]
    if len(rest) % 2:
        raise TrackerInputError(f"command {spec.name!r}: {rest[-1]!r} has no value")
    allowed = {k.name: k for k in spec.keywords}
    for key, value in zip(rest[::2], rest[1::2], strict=True):
        if spec.field_value_pairs:
            if not isinstance(key, str) or not key.strip():
                raise TrackerInputError(f"command {spec.name!r}: field {key!r} must be a text")
            out += [key, value]
        elif isinstance(key, str) and key in allowed:
            out += [key, _typed(spec, allowed[key], value)]
        else:
            names = ", ".join(allowed) or "none"
            raise TrackerInputError(
                f"command {spec.name!r} does not accept {key!r}; allowed: {names}"
            )
    return out


def _typed(spec: CommandSpec, arg: CommandArg, value: Any) -> Any:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if arg.type == "string" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # internal ids are text; a numeric SKU is sent as its digits
    if arg.type == "integer" and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if arg.type == "number" and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    ok = {
        "string": isinstance(value, str),
        "number": number,
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "string_or_number": isinstance(value, str) or number,
    }[arg.type]
    if not ok:
        raise TrackerInputError(
            f"command {spec.name!r}: {arg.name} must be a {arg.type}, not {value!r}"
        )
    return value


# ---------------------------------------------------------------------------- device
