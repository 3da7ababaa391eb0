"""The two spec files that are tables rather than objects: the `do`/tracker command table
(specs/commands.json) and the connection settings and API limits (specs/connection.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from connectors.spec.base import IDENTIFIER, Frozen, JsonScalar


class CommandArg(Frozen):
    name: str
    type: Literal["string", "number", "integer", "string_or_number"]
    optional: bool = False
    description: str


class StatusChange(Frozen):
    """Interactions of the user (and item, for single-item commands) move between statuses."""

    from_status: str
    to_status: str


class CommandSpec(Frozen):
    """A command of `/rest/do` or tracker v1 (matched case-insensitively)."""

    name: str
    endpoints: tuple[Literal["do", "tracker-v1"], ...]
    positional: tuple[CommandArg, ...] = ()
    field_value_pairs: bool = Field(
        default=False, description="The remaining args alternate field name and value."
    )
    keywords: tuple[CommandArg, ...] = Field(
        default=(), description="Optional name/value pairs allowed after the positional args."
    )
    target: Literal["user", "product", "article", "products", "articles", "navigation", "action"]
    interaction_status: str | None = Field(
        default=None,
        description="Status of the interaction row this command records (products_interactions "
        "for products; the article log for articles).",
    )
    status_change: StatusChange | None = Field(
        default=None, description="Existing interactions this command moves to another status."
    )
    documented_for: tuple[Literal["do", "tracker-v1"], ...] = Field(
        default=(), description="Endpoints whose primary documentation lists the command."
    )
    description: str
    source: str


class CommandTable(Frozen):
    key_types: tuple[str, ...]
    commands: tuple[CommandSpec, ...]
    source: str

    def find(self, name: str, endpoint: Literal["do", "tracker-v1"]) -> CommandSpec | None:
        wanted = name.strip().casefold()
        for cmd in self.commands:
            if cmd.name.casefold() == wanted and endpoint in cmd.endpoints:
                return cmd
        return None


class Setting(Frozen):
    """One connection setting shared by every adapter."""

    name: str = Field(pattern=IDENTIFIER)
    title: str
    type: Literal["string", "integer", "number", "boolean", "array", "object"]
    description: str
    secret: bool = False
    required: bool = False
    default: JsonScalar = None
    examples: tuple[Any, ...] = ()
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    order: int
    applies_to: tuple[Literal["read", "write"], ...] = Field(
        default=("read", "write"), description="Which adapters offer the setting."
    )


class DynamicColumnLimit(Frozen):
    max_per_object: int = Field(
        gt=0,
        description="Dynamic columns one object may hold beside its documented ones; a write "
        "that would add more is refused whole, before anything changes.",
    )
    reason: str = Field(description="Why this number (the API documents no limit).")


class ApiLimits(Frozen):
    max_offset_plus_limit: int
    max_slow_rows: int
    slow_operators: tuple[str, ...]
    source: str
    dynamic_columns: DynamicColumnLimit


class ConnectionSpec(Frozen):
    settings: tuple[Setting, ...]
    auth_user: str
    limits: ApiLimits
    retry_texts: tuple[str, ...] = Field(
        description="400 bodies that mean 'try again later' rather than 'your request is wrong'."
    )

    def setting(self, name: str) -> Setting:
        for s in self.settings:
            if s.name == name:
                return s
        raise KeyError(name)
