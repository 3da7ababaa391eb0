"""The one sink class: every input stream, whatever Personyze object it writes.

A ``BatchSink`` so that BATCH messages are written (a ``RecordSink`` drops them silently):
the SDK reads each batch file and hands its records to ``process_batch``, which feeds them to
the same engine as RECORD messages and flushes. RECORD messages go to the engine as they
arrive (``process_record``); when the SDK drains the sink (``batch_size_rows`` records, the
SDK's record age, end of input), ``process_batch`` flushes the engine, and the target may then
emit the latest STATE.

Validation (``validate_records``) happens here, not in the SDK: the SDK would stop the run on
the first invalid record, or only log it. Values reach the engine as the tap sent them (the
SDK's own parsing would turn date-time strings into Python datetimes, which are not JSON). A
record without one of its stream's ``key_properties`` is rejected too (the SDK stops the run).
BATCH files are read by ``singer_input.batch_records``: a bad line in one is a reject, a file
that cannot be read stops the run naming the stream, the file and the input line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchFileFormat
from singer_sdk.sinks import BatchSink
from singer_sdk.sinks.core import BaseJSONSchemaValidator, JSONSchemaValidator

from connectors.write.input_lines import BadLine
from target_personyze.singer_input import batch_records, unreadable_batch

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

    def _singer_validate_message(self, record: dict[str, Any]) -> None:
        pass  # see process_record: a record without its key properties is rejected, not fatal

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        missing = [k for k in self.key_properties or () if k not in record]
        if missing:
            names = ", ".join(repr(k) for k in missing)
            self.writer.reject(
                self.stream_name,
                f"record has no key property {names} (named in key_properties of the stream's "
                "SCHEMA message); the tap must send it in every record, or leave it out of "
                "key_properties",
                record,
            )
            return
        self.writer.add(self.stream_name, record, self.record_validator)

    def process_batch_files(self, encoding: BaseBatchFileEncoding, files: Sequence[str]) -> None:
        storage = self.batch_config.storage if self.batch_config else None
        line = getattr(getattr(self._personyze, "message_reader", None), "line", 0)
        for path in files:
            if encoding.format != BatchFileFormat.JSONL:  # parquet: the SDK reads it
                try:
                    super().process_batch_files(encoding, [path])
                except OSError as exc:
                    raise unreadable_batch(self.stream_name, path, line, exc) from None
                continue
            records = batch_records(
                self.stream_name, encoding, path, storage, line, self._reject_line
            )
            self.process_batch({"records": records})

    def _reject_line(self, bad: BadLine) -> None:
        self.writer.reject(bad.stream, bad.reason, bad.record, line=bad.number)

    def process_batch(self, context: dict[str, Any]) -> None:
        # Records of a BATCH message's files; RECORD messages are in the engine already.
        for record in context.get("records", ()):
            self.writer.add(self.stream_name, record, self.record_validator)
        self.writer.flush()
        checkpoint = getattr(self._personyze, "checkpoint", None)
        if checkpoint is not None:
            checkpoint()
