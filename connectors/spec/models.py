"""The spec format: what a JSON file in ``specs/`` may say, as frozen pydantic models.

Every Personyze fact the connectors and the sandbox act on is a value in one of these models.
Unknown keys are rejected so that a typo in a spec file fails loudly instead of being ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Method = Literal["GET", "POST", "PUT", "DELETE"]
ColumnType = Literal["integer", "number", "string", "array", "object", "any"]
ColumnFormat = Literal["unix_seconds", "date", "datetime"]
ObjectKind = Literal["table", "html", "commands", "tracker", "account", "recommendations"]
JsonScalar = str | int | float | bool | None

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


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


class SerialisedInserts(Frozen):
    """POST is serialised per account; a request that waits too long is refused."""

    wait_seconds: float
    error: str
    source: str


class UserResolution(Frozen):
    """A body field that names a user by another key, resolved to user_id and dropped."""

    field: str
    users_column: str
    creates_stub: bool
    creates_stub_observed: bool | None = None


class Cascade(Frozen):
    object: str
    column: str
    parent_column: str


class Reference(Frozen):
    """A column whose value must name an existing row of another object."""

    column: str
    object: str
    object_column: str


WriteModeName = Literal["upsert", "update", "insert", "append", "mirror", "delete"]
WriteStrategy = Literal[
    "profile_commands",
    "post_rows",
    "put_rows",
    "delete_rows",
    "named_rows",
    "members_add",
    "members_remove",
    "members_mirror",
    "events",
    "commands",
]


class WriteMode(Frozen):
    """How the write engine carries out one mode of one object (its strategy and settings).

    The strategies are the write engine's small vocabulary (connectors/write):
    profile_commands: `/rest/do` `User profile` commands, many per request, keyed by the match key;
    post_rows: one POST per row (an upsert where `upsert_on` says so), bounded concurrency;
    put_rows: PUT where/<match key>=<value>, a row that matches nothing is rejected;
    delete_rows: DELETE where/<match key>:<v1>,<v2>,... in chunks;
    named_rows: find a row by the match key (lowest id wins), POST it when none has it;
    members_add / members_remove / members_mirror: list memberships (user looked up or created
    first, api §9 C2), mirror also removes, at the end of the run, members absent from the input;
    events: interaction commands of `/rest/do` chosen by the record's status (a ledger prevents
    sending an event twice); commands: the generic `do` stream, one command per record.
    """

    name: WriteModeName
    strategy: WriteStrategy
    default: bool = Field(default=False, description="The mode used when a stream names none.")
    match_keys: tuple[str, ...] = Field(
        default=(), description="Match keys the mode accepts; the first is the default."
    )
    unreliable_match_keys: tuple[str, ...] = Field(
        default=(),
        description="Accepted match keys that a live account showed to be unreliable (api §9 C1): "
        "the engine warns once per stream.",
    )
    require: Literal["existing", "absent"] | None = Field(
        default=None,
        description="existing: rows whose key matches nothing are rejected, never created; "
        "absent: rows whose key already exists are rejected.",
    )
    required_fields: tuple[str, ...] = Field(
        default=(), description="Columns every record must carry (besides the match key)."
    )
    input_columns: tuple[str, ...] = Field(
        default=(),
        description="Record columns accepted besides the object's documented columns (an object "
        "without dynamic columns rejects any other column).",
    )
    event: bool = Field(
        default=False,
        description="Not idempotent: each record is an event recorded in the ledger so that a "
        "re-run never sends it twice.",
    )
    command_target: Literal["product", "article"] | None = Field(
        default=None,
        description="events: the command table's target whose interaction_status equals the "
        "record's status column picks the `do` command.",
    )
    status_column: str | None = None
    item_column: str | None = Field(
        default=None, description="events: the column naming the catalog item (internal_id)."
    )
    post_fallback: str | None = Field(
        default=None,
        description="events: object to POST a record to when no `do` command records its status.",
    )
    readback: str | None = Field(
        default=None,
        description="events: object where an event of unknown outcome can be looked up (by user, "
        "item, status and transaction_time); without one such an event is reported, not resent.",
    )
    description: str = ""


class WritePlan(Frozen):
    read_only: bool
    modes: tuple[WriteMode, ...] = Field(
        default=(), description="Write modes of the reverse-ETL engine (connectors/write)."
    )
    match_keys: tuple[str, ...] = Field(
        default=(), description="Columns a connector may use to find the row to change."
    )
    upsert_on: str | None = Field(
        default=None, description="POST with an existing value of this column updates the row."
    )
    merge_on: tuple[str, ...] = Field(
        default=(), description="POST whose value of one of these matches an existing row merges."
    )
    merge_on_observed: tuple[str, ...] | None = None
    input_renames: dict[str, str] = Field(default_factory=dict)
    serialised_inserts: SerialisedInserts | None = None
    user_resolution: tuple[UserResolution, ...] = ()
    cascade_deletes: tuple[Cascade, ...] = ()
    required_on_insert: tuple[str, ...] = Field(
        default=(), description="Columns a POST must carry (after user resolution)."
    )
    references: tuple[Reference, ...] = ()
    column_aliases: Literal["camel_and_display_to_snake"] | None = None
    empty_values_ignored: bool = True
    source: str = ""

    @model_validator(mode="after")
    def _modes_consistent(self) -> WritePlan:
        names = [m.name for m in self.modes]
        if len(set(names)) != len(names):
            raise ValueError("write.modes names a mode twice")
        if self.modes and sum(m.default for m in self.modes) != 1:
            raise ValueError("write.modes needs exactly one default mode")
        if self.read_only and self.modes:
            raise ValueError("a read-only object has no write modes")
        return self

    def mode(self, name: str) -> WriteMode | None:
        return next((m for m in self.modes if m.name == name), None)

    @property
    def default_mode(self) -> WriteMode | None:
        return next((m for m in self.modes if m.default), None)


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


class ApiLimits(Frozen):
    max_offset_plus_limit: int
    max_slow_rows: int
    slow_operators: tuple[str, ...]
    source: str


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
