"""The write half of an object's spec: its modes (each carried out by one strategy of the write
engine) and the write rules the sandbox enforces (serialised inserts, user resolution, cascades,
references, renames, upserts)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from connectors.spec.base import Frozen


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
    events: interaction commands of `/rest/do` chosen by the record's status, each delivered once
    (read back where the object allows it, the ledger otherwise); commands: the generic `do`
    stream, one command per record.
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
        "absent: rows whose key already exists are rejected, unless the row already holds "
        "the record's values (settled as unchanged).",
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
        description="Not idempotent: each record is an event, sent once (identity: the stream's "
        "event_id_column, else the n-th row with the same content).",
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
        description="events: object where events can be counted before they are sent and after "
        "an answer was lost (by user, item, status, transaction_time, quantity, amount, "
        "action_id); without one an event of unknown outcome is reported, not resent.",
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
