"""The one Singer stream class: every readable Personyze object, driven by its StreamDefinition.

Records and state come from the core (``connectors.read.sync.read_stream``); this class only maps
them onto singer-sdk:

- incremental streams keep the SDK's bookmark shape, ``{"replication_key": <cursor>,
  "replication_key_value": <int>}``, plus the core's digests of the rows already emitted at the
  bookmark (``"emitted_row_digests"``), written from the core's ``StateUpdate`` values and never
  from records: a core update is yielded only after every record it covers, so a STATE message
  never runs ahead of the RECORD messages before it (the SDK's per-record bookmarking is off);
- the starting value is the core's (``start_for``): an ISO ``start_date`` is normalised to unix
  seconds once, in the core, and never reaches an integer key (meltano/sdk#1677);
- other streams keep the core's state dict as is (the child stream's resume point, ``{}`` when
  complete); the core reads the child's partitions itself, in one resumable pass.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from singer_sdk.helpers._state import write_starting_replication_value
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib.catalog import REPLICATION_FULL_TABLE
from singer_sdk.singerlib.messages import RecordMessage
from singer_sdk.streams.core import Stream

from connectors.api.client import PersonyzeClient
from connectors.read import start_for
from connectors.read.streams import StreamDefinition
from connectors.read.sync import DIGESTS, ReadOptions, StateUpdate, bookmark_of, read_stream
from connectors.settings import ConnectionSettings
from connectors.spec import Specs
from tap_personyze import head_start

if TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

BOOKMARK_KEY = "replication_key"
BOOKMARK_VALUE = "replication_key_value"
# Keys singer-sdk itself keeps in a stream's state; the core's state never uses them.
SDK_STATE_KEYS = frozenset(
    {
        BOOKMARK_KEY,
        BOOKMARK_VALUE,
        "starting_replication_value",
        "replication_key_signpost",
        "progress_markers",
        "partitions",
    }
)


class InvalidState(Exception):
    """The state given to the tap cannot be used for a stream; the message says what to do."""


class PersonyzeStream(Stream):
    """A readable Personyze object as a Singer stream."""

    # Records come in cursor order: keyset paging, windows merged in order.
    is_sorted = True
    # A STATE message at least every this many records (and after each stream).
    STATE_MSG_FREQUENCY = 1000
    # Records are decoded JSON, already of the types the schema names; converting each value
    # (the SDK's default) cost more than writing the record.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, definition: StreamDefinition, specs: Specs) -> None:
        super().__init__(tap, schema=definition.json_schema, name=definition.name)
        self.definition = definition
        self.specs = specs
        self.primary_keys = list(definition.primary_key)
        self.replication_key = definition.cursor_field
        self._selects_every_property: bool | None = None

    @property
    def settings(self) -> ConnectionSettings:
        settings: ConnectionSettings | None = getattr(self._tap, "settings", None)
        if settings is None:
            raise InvalidState(f"stream {self.name}: the tap has no valid connection settings")
        return settings

    def _new_client(self) -> PersonyzeClient:
        new_client = getattr(self._tap, "new_client", None)
        return new_client() if new_client is not None else PersonyzeClient(self.settings)

    # -- records ------------------------------------------------------------------------------

    def get_records(self, context: Context | None) -> Iterator[dict[str, Any]]:
        settings = self.settings
        state = self.get_context_state(context)
        core_state = self._core_state(state)
        # the read the console script started ahead, if it is exactly this one
        started = head_start.take(self.name, core_state, settings)
        with started.client if started is not None else self._new_client() as client:
            items = (
                started.take()
                if started is not None
                else read_stream(
                    client,
                    self.specs,
                    self.definition,
                    core_state,
                    ReadOptions.from_settings(settings),
                )
            )
            for item in items:
                if isinstance(item, StateUpdate):
                    self._save_core_state(state, item.value)
                else:
                    yield item

    def _generate_record_messages(
        self, record: dict[str, Any]
    ) -> Generator[RecordMessage, None, None]:
        """The SDK's RECORD messages of ``record``. When the catalog deselects no property,
        the SDK's walk over every property of every record to pop deselected ones would pop
        nothing (a fifth of the tap's CPU on 39-column users), and type conformance is off:
        the record goes straight to the stream maps, as the SDK would send it."""
        if self._selects_every_property is None:
            self._selects_every_property = all(self.mask.values())
        if not self._selects_every_property:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        """Bookmarks follow the core's checkpoints (see ``get_records``), not each record."""

    # -- state mapping ------------------------------------------------------------------------

    @property
    def _keeps_bookmarks(self) -> bool:
        """False when the catalog forces a full-table sync of an incremental stream."""
        return self.replication_method != REPLICATION_FULL_TABLE

    def _check_replication_key(self) -> None:
        cursor = self.definition.cursor_field
        if cursor is not None and self.replication_key not in (None, cursor):
            raise InvalidState(
                f"stream {self.name}: the catalog sets replication key "
                f"{self.replication_key!r}, but this stream can only be read incrementally "
                f"by {cursor!r}; remove the replication-key override from the catalog"
            )

    def _core_state(self, state: Mapping[str, Any]) -> dict[str, Any] | None:
        """The core's view of this stream's SDK state."""
        self._check_replication_key()
        cursor = self.definition.cursor_field
        if cursor is None:
            return {k: v for k, v in state.items() if k not in SDK_STATE_KEYS}
        if not self._keeps_bookmarks or state.get(BOOKMARK_VALUE) is None:
            return None
        if state.get(BOOKMARK_KEY) not in (None, cursor):
            self.logger.warning(
                "Ignoring the bookmark of stream %s on %r: its replication key is %r",
                self.name,
                state.get(BOOKMARK_KEY),
                cursor,
            )
            return None
        core_state = {cursor: state[BOOKMARK_VALUE]}
        if DIGESTS in state:
            core_state[DIGESTS] = state[DIGESTS]
        try:
            bookmark_of(self.definition, core_state)
        except ValueError as exc:
            raise InvalidState(str(exc)) from None
        return core_state

    def _save_core_state(self, state: dict[str, Any], value: Mapping[str, Any]) -> None:
        cursor = self.definition.cursor_field
        if cursor is None:
            for key in [k for k in state if k not in SDK_STATE_KEYS]:
                del state[key]
            state.update(value)
        elif self._keeps_bookmarks and cursor in value:
            state[BOOKMARK_KEY] = cursor
            state[BOOKMARK_VALUE] = value[cursor]
            if value.get(DIGESTS):
                state[DIGESTS] = value[DIGESTS]
            else:
                state.pop(DIGESTS, None)
        else:
            return
        self.state_manager.is_flushed = False

    def get_starting_replication_key_value(self, context: Context | None) -> Any:
        """Where this sync starts (inclusive), as the core computes it: bookmark, lookback,
        or ``start_date`` in unix seconds; None for everything."""
        if self.definition.cursor_field is None or not self._keeps_bookmarks:
            return None
        core_state = self._core_state(self.get_context_state(context))
        bookmark = bookmark_of(self.definition, core_state)
        settings = self.settings
        return start_for(
            self.definition.spec, bookmark, settings.start_date, settings.lookback_window_days
        )

    def _write_starting_replication_value(self, context: Context | None) -> None:
        """The SDK would record an ISO ``start_date`` as the start of an integer key."""
        if self.replication_method == REPLICATION_FULL_TABLE:
            return
        value = self.get_starting_replication_key_value(context)
        self.logger.info("Starting sync of %r from %s: %r", self.name, self.replication_key, value)
        write_starting_replication_value(self.get_context_state(context), value)
