"""Records translated into `/rest/do` command arrays by the command table (specs/commands.json).

``[<key type>, <key>, <command>, <positional args...>, <keyword>, <value>, ...]`` (api §6). Only
commands documented for `do` are sent (api §9 C3); an unknown command, a missing argument or a
value of the wrong type refuses the record before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.spec.models import CommandArg, CommandSpec, CommandTable
from connectors.write.records import Refused, as_number, check_email, check_size, key_text

COMMAND_COLUMNS = ("key_type", "key", "command", "fields")


def documented_commands(table: CommandTable) -> list[CommandSpec]:
    return [c for c in table.commands if "do" in c.documented_for and "do" in c.endpoints]


def find_command(table: CommandTable, name: Any) -> CommandSpec:
    if not isinstance(name, str) or not name.strip():
        raise Refused(f"column 'command' must name a do command, got {name!r}")
    spec = table.find(name, "do")
    if spec is None or "do" not in spec.documented_for:
        known = ", ".join(c.name for c in documented_commands(table))
        raise Refused(f"unknown command {name!r}; /rest/do accepts {known}")
    return spec


def user_key(table: CommandTable, key_type: Any, key: Any) -> list[Any]:
    """``[key type, key value]`` checked: a known key type, a non-empty key, a valid email."""
    if not isinstance(key_type, str) or key_type.strip().lower() not in table.key_types:
        raise Refused(
            f"key type {key_type!r} is not one of {', '.join(table.key_types)}; set the column "
            "key_type to one of them"
        )
    kind = key_type.strip().lower()
    text = key_text(kind, key)
    if kind == "email":
        check_email("key", text)
    return [kind, int(text) if kind == "user_id" else text]


def typed_arg(command: CommandSpec, arg: CommandArg, value: Any) -> Any:
    try:
        if arg.type == "integer":
            return as_number(value, integer=True)
        if arg.type == "number":
            return as_number(value, integer=False)
    except Refused as exc:
        raise Refused(f"command {command.name!r}: {arg.name} {exc}") from None
    if isinstance(value, bool | dict | list):
        raise Refused(f"command {command.name!r}: {arg.name} must be a text, got {value!r}")
    if arg.type == "string" and not isinstance(value, str):
        if isinstance(value, float) and not value.is_integer():
            raise Refused(f"command {command.name!r}: {arg.name} must be a text, got {value!r}")
        return str(int(value)) if isinstance(value, float) else str(value)
    return value


def arguments(command: CommandSpec, fields: Mapping[str, Any]) -> list[Any]:
    """Positional arguments then keyword pairs of ``command`` read from columns of the same
    names."""
    args: list[Any] = []
    for arg in command.positional:
        if arg.name not in fields:
            if arg.optional:
                break
            raise Refused(
                f"command {command.name!r} needs column {arg.name!r}; add it to the source, or "
                "map the column that holds it with field_map"
            )
        args.append(typed_arg(command, arg, fields[arg.name]))
    for arg in command.keywords:
        if arg.name in fields:
            args += [arg.name, typed_arg(command, arg, fields[arg.name])]
    return args


def profile_pairs(fields: Mapping[str, Any], skip: set[str]) -> list[Any]:
    """Alternating field names and values for `User profile`: the ``fields`` object, then the
    remaining columns."""
    nested = fields.get("fields")
    if nested is not None and not isinstance(nested, Mapping):
        raise Refused(f"column 'fields' must be an object of profile fields, got {nested!r}")
    merged = {**dict(nested or {}), **{k: v for k, v in fields.items() if k not in skip}}
    pairs: list[Any] = []
    for name, value in merged.items():
        if not isinstance(name, str) or not name.strip():
            raise Refused(f"profile field name {name!r} must be a text")
        if value is None or value == "":
            continue
        check_size(name, value)
        if name == "email":
            check_email(name, value)
        pairs += [name, value]
    return pairs


def translate(
    table: CommandTable, fields: Mapping[str, Any], default_key_type: str | None
) -> list[Any]:
    """The command array of one record of the generic `do` stream."""
    command = find_command(table, fields.get("command"))
    key = user_key(table, fields.get("key_type", default_key_type), fields.get("key"))
    known = set(COMMAND_COLUMNS) | {a.name for a in (*command.positional, *command.keywords)}
    if command.field_value_pairs:
        return [*key, command.name, *profile_pairs(fields, known)]
    extra = sorted(set(fields) - known)
    if extra:
        raise Refused(f"unknown column {extra[0]!r} for command {command.name!r}")
    return [*key, command.name, *arguments(command, fields)]


def event_command(
    table: CommandTable, target: str, status: Any, key: list[Any], fields: Mapping[str, Any]
) -> list[Any] | None:
    """The `do` command recording an interaction of ``status`` on a ``target`` item, or None
    when no documented command records that status."""
    for command in documented_commands(table):
        if command.target == target and command.interaction_status == status:
            return [*key, command.name, *arguments(command, fields)]
    return None


def profile_command(
    table: CommandTable, key: list[Any], fields: Mapping[str, Any], key_column: str
) -> list[Any]:
    """The command setting profile fields (`User profile`): the command of the table that
    targets the user with field/value pairs."""
    command = next(
        c for c in documented_commands(table) if c.target == "user" and c.field_value_pairs
    )
    return [*key, command.name, *profile_pairs(fields, {key_column})]
