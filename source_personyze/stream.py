"""The one Airbyte stream class: any readable Personyze object, as the core defines it.

Records and state come from ``connectors.read.sync.read_stream``; this class only turns each
``StateUpdate`` into an Airbyte STATE message at the point the core yields it, so a checkpoint
never runs ahead of the records before it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from airbyte_cdk.models import (  # type: ignore[attr-defined]
    AirbyteMessage,
    AirbyteRecordMessage,
    ConfiguredAirbyteStream,
    SyncMode,
    Type,
)
from airbyte_cdk.sources.connector_state_manager import ConnectorStateManager
from airbyte_cdk.sources.streams import Stream
from airbyte_cdk.sources.streams.core import NO_CURSOR_STATE_KEY, StreamData
from airbyte_cdk.sources.utils.schema_helpers import InternalConfig
from airbyte_cdk.sources.utils.slice_logger import SliceLogger

from connectors.api.client import PersonyzeClient
from connectors.read.streams import StreamDefinition
from connectors.read.sync import ReadOptions, StateUpdate, bookmark_of, read_stream
from connectors.settings import ConnectionSettings
from connectors.spec import Specs
from source_personyze import head_start
from source_personyze.messages import StateError, traced


class Connection:
    """One client per sync, opened on first use and shared by the streams of that sync."""

    def __init__(self, settings: ConnectionSettings, specs: Specs) -> None:
        self.settings = settings
        self.specs = specs
        self.options = ReadOptions.from_settings(settings)
        self._client: PersonyzeClient | None = None
        self._others: list[PersonyzeClient] = []

    @property
    def client(self) -> PersonyzeClient:
        if self._client is None:
            self._client = PersonyzeClient(self.settings)
        return self._client

    def adopt(self, client: PersonyzeClient) -> None:
        """Use ``client`` (a head start's, on the same settings) for the rest of the sync."""
        if self._client is None:
            self._client = client
        elif client is not self._client:  # still reading: closed with the sync
            self._others.append(client)

    def close(self) -> None:
        while self._others:
            self._others.pop().close()
        if self._client is not None:
            self._client.close()
            self._client = None


class PersonyzeStream(Stream):
    """Any readable Personyze object; name, schema, keys and cursor come from the core."""

    def __init__(self, definition: StreamDefinition, connection: Connection | None = None) -> None:
        self.definition = definition
        self._connection = connection
        self._state: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def primary_key(self) -> list[str] | None:
        return list(self.definition.primary_key) or None

    @property
    def cursor_field(self) -> str | list[str]:
        return self.definition.cursor_field or []

    @property
    def is_resumable(self) -> bool:
        # The core keeps state for cursor streams and for child streams (a resume point).
        return self.definition.incremental or self.definition.partition_field is not None

    def get_json_schema(self) -> Mapping[str, Any]:  # type: ignore[override]
        return self.definition.json_schema

    @property
    def state(self) -> MutableMapping[str, Any]:
        return self._state

    @state.setter
    def state(self, value: MutableMapping[str, Any]) -> None:
        self._state = dict(value or {})

    def read_records(
        self,
        sync_mode: SyncMode,
        cursor_field: list[str] | None = None,
        stream_slice: Mapping[str, Any] | None = None,
        stream_state: Mapping[str, Any] | None = None,
    ) -> Iterable[StreamData]:
        for item in self._items(stream_state if stream_state is not None else self._state):
            if not isinstance(item, StateUpdate):
                yield item

    def read(
        self,
        configured_stream: ConfiguredAirbyteStream,
        logger: logging.Logger,
        slice_logger: SliceLogger,
        stream_state: MutableMapping[str, Any],
        state_manager: ConnectorStateManager | None,
        internal_config: InternalConfig,
    ) -> Iterator[StreamData | AirbyteMessage]:
        """Records, and a STATE message for each state the core yields (then one at the end
        if the core yielded none, so every stream finishes with a checkpoint).

        Records go out as the RECORD messages the CDK would make of them (this stream has no
        type transformation): the CDK's copy of each row and its per-record schema lookup cost
        as much as the rest of the record's path.
        """
        self.configured_json_schema = configured_stream.stream.json_schema
        records = 0
        checkpointed = False
        name = self.name
        for item in self._items(self._state):
            if isinstance(item, StateUpdate):
                self._state = dict(item.value)
                if state_manager is not None:
                    checkpointed = True
                    yield self._checkpoint_state(self._state, state_manager)
                continue
            record = AirbyteRecordMessage(
                stream=name, data=item, emitted_at=time.time_ns() // 1_000_000
            )
            yield AirbyteMessage(type=Type.RECORD, record=record)
            records += 1
            if internal_config.is_limit_reached(records):
                break
        if state_manager is not None and not checkpointed:
            final = self._state if self.is_resumable else {NO_CURSOR_STATE_KEY: True}
            yield self._checkpoint_state(final, state_manager)

    def _items(self, state: Mapping[str, Any] | None) -> Iterator[dict[str, Any] | StateUpdate]:
        if self._connection is None:
            raise RuntimeError(f"stream {self.name} was built for discover and cannot read")
        connection = self._connection
        try:
            bookmark_of(self.definition, state)
        except ValueError as exc:
            raise traced(StateError(str(exc))) from exc
        try:
            started = head_start.take(self.name, state, connection.settings)
            if started is not None:
                connection.adopt(started.client)
                yield from started.take()
                return
            yield from read_stream(
                connection.client, connection.specs, self.definition, state, connection.options
            )
        except Exception as exc:
            raise traced(exc) from exc
