"""The one sink class: every input stream, whatever Personyze object it writes.

A ``BatchSink`` so that BATCH messages are written (a ``RecordSink`` drops them silently):
the SDK reads each batch file and hands its records to ``process_batch``, which feeds them to
the same engine as RECORD messages and flushes. RECORD messages go to the engine as they
arrive (``process_record``); when the SDK drains the sink (``batch_size_rows`` records, the
SDK's record age, end of input), ``process_batch`` flushes the engine, and the target may then
emit the latest STATE.

Validation (``validate_records``) happens here, not in the SDK: the SDK would stop the run on
the first invalid record, or only log it. Values reach the engine as the tap sent them (the
SDK's own parsing would turn date-time strings into Python datetimes, which are not JSON).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator, JSONSchemaValidator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk.target_base import Target

    from target_personyze.singer_writer import SingerWriter


class PersonyzeSink(BatchSink):
    """Writes one input stream through the target's shared write engine."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self._personyze = target
        self.record_validator: BaseJSONSchemaValidator | None = (
            JSONSchemaValidator(self.schema) if self.validate_schema else None
        )

    @property
    def writer(self) -> SingerWriter:
        writer: SingerWriter = self._personyze.writer  # type: ignore[attr-defined]
        return writer

    def setup(self) -> None:
        """Fail on the SCHEMA of a stream that has no write target, before any record."""
        target = self.writer.open_stream(self.stream_name)
        self.logger.info(
            "Stream %s writes to %s (mode %s%s)",
            self.stream_name,
            target.object,
            target.mode,
            f", match key {target.match_key}" if target.match_key else "",
        )

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        return None  # see record_validator: an invalid record is rejected, not fatal

    def _validate_and_parse(self, record: dict[str, Any]) -> dict[str, Any]:
        return record  # values as sent: see the module docstring

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        self.writer.add(self.stream_name, record, self.record_validator)

    def process_batch(self, context: dict[str, Any]) -> None:
        # Records of a BATCH message's files; RECORD messages are in the engine already.
        for record in context.get("records", ()):
            self.writer.add(self.stream_name, record, self.record_validator)
        self.writer.flush()
        checkpoint = getattr(self._personyze, "checkpoint", None)
        if checkpoint is not None:
            checkpoint()
