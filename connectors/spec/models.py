"""The spec format: what a JSON file in ``specs/`` may say, as frozen pydantic models.

Every Personyze fact the connectors and the sandbox act on is a value in one of these models.
This module holds an object's spec and its read half; the write half is in ``write_plan``, the
command table and connection settings in ``tables``, all re-exported here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from connectors.spec.base import (
    IDENTIFIER,
    ColumnFormat,
    ColumnType,
    Frozen,
    JsonScalar,
    Method,
    ObjectKind,
)
from connectors.spec.tables import (
    ApiLimits,
    CommandArg,
    CommandSpec,
    CommandTable,
    ConnectionSpec,
    DynamicColumnLimit,
    Setting,
    StatusChange,
)
from connectors.spec.write_plan import (
    Cascade,
    Reference,
    SerialisedInserts,
    UserResolution,
    WriteMode,
    WriteModeName,
    WritePlan,
    WriteStrategy,
)

__all__ = [
    "ApiLimits",
    "Cascade",
    "Column",
    "ColumnFormat",
    "ColumnType",
    "CommandArg",
    "CommandSpec",
    "CommandTable",
    "ConnectionSpec",
    "DynamicColumnLimit",
    "Frozen",
    "JsonScalar",
    "Method",
    "ObjectKind",
    "ObjectSpec",
    "ParentLink",
    "ReadPlan",
    "Reference",
    "ScanRule",
    "SerialisedInserts",
    "Setting",
    "StatusChange",
    "UserResolution",
    "WriteMode",
    "WriteModeName",
    "WritePlan",
    "WriteStrategy",
]


class Column(Frozen):
    """One documented column of an object."""

    name: str = Field(pattern=IDENTIFIER)
    type: ColumnType
    format: ColumnFormat | None = None
    enum: tuple[JsonScalar, ...] | None = None
    indexed: bool = False
    indexed_observed: bool | None = Field(
        default=None,
        description="What a live account showed when it contradicts `indexed` (api §9); "
        "the sandbox uses it under --behaviour observed.",
    )
    default: JsonScalar = Field(default=None, description="Value stored when an insert omits it.")
    role: Literal["auto_id", "modified_time", "insert_time", "packed_json"] | None = Field(
        default=None,
        description="auto_id: assigned on insert; modified_time: maintained on every change; "
        "insert_time: set to the server's clock on insert when not given; "
        "packed_json: a JSON object expanded into top-level keys on read.",
    )
    description: str
    source: str = Field(description="Provenance tags from personyze-api.md, e.g. 'OBJ' or 'N8N'.")


class ScanRule(Frozen):
    """What a GET must contain so the API does not refuse it as a full-table scan."""

    kind: Literal["open", "indexed_where_or_order", "indexed_where", "required_where"]
    required_columns: tuple[str, ...] = Field(
        default=(), description="For required_where: the columns a where must name."
    )
    error: str = "Cannot do this operation on whole table"
    source: str


class ParentLink(Frozen):
    """A child stream: one partition per row of the parent object."""

    object: str
    parent_key: str = Field(description="Column of the parent row that names the partition.")
    filter_column: str = Field(description="Column of this object equal to parent_key.")


class ReadPlan(Frozen):
    mode: Literal["incremental", "full_refresh", "none"]
    key: str | None = Field(
        default=None,
        description="Indexed column the reader pages on (keyset). For incremental streams it is "
        "the cursor; for full refresh the column that orders a complete scan.",
    )
    key_kind: Literal["time", "day", "id"] | None = None
    tie_breaker: str | None = Field(
        default=None,
        description="Indexed column that splits a group of rows sharing one key value when the "
        "group is larger than one equality read (1000 rows); unique within the group when the "
        "object has a primary key.",
    )
    parent: ParentLink | None = None
    lookback: bool = Field(
        default=False, description="Recent values keep changing: re-read a lookback window."
    )
    note: str = ""

    @model_validator(mode="after")
    def _key_needed(self) -> ReadPlan:
        if self.mode == "incremental" and self.key is None:
            raise ValueError("a readable object needs read.key")
        if self.mode == "incremental" and self.key_kind is None:
            raise ValueError("an incremental object needs read.key_kind")
        return self


class ObjectSpec(Frozen):
    """One Personyze REST object or endpoint."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    path: str
    kind: ObjectKind
    group: Literal["crud_content", "interactions", "reports", "helpers", "endpoints"]
    description: str
    sources: tuple[str, ...]
    methods: tuple[Method, ...]
    primary_key: tuple[str, ...] = ()
    columns: tuple[Column, ...] = ()
    dynamic_columns: bool = False
    dynamic_column_pattern: str | None = Field(
        default=None, description="Regex of dynamic column names when only some are allowed."
    )
    scan: ScanRule | None = None
    read: ReadPlan
    write: WritePlan
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> ObjectSpec:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError("duplicate column names")
        for pk in self.primary_key:
            if pk not in names:
                raise ValueError(f"primary key {pk!r} is not a column")
        key = self.read.key
        if self.readable and key is None and self.kind != "recommendations":
            # only the recommendations stream is read through the tracker, not by key paging
            raise ValueError("a readable object needs read.key")
        if key is not None and key not in names:
            raise ValueError(f"read.key {key!r} is not a column")
        for role, col in (("read.key", key), ("read.tie_breaker", self.read.tie_breaker)):
            if col is not None and (not self.has_column(col) or not self.column(col).indexed):
                raise ValueError(f"{role} {col!r} must be an indexed column")
        if self.write.read_only and set(self.methods) - {"GET"}:
            raise ValueError("a read-only object allows only GET")
        return self

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def has_column(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    @property
    def readable(self) -> bool:
        return self.read.mode != "none"
