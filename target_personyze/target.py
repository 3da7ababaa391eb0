"""TargetPersonyze: the singer-sdk Target, a thin adapter over the core write engine.

STATE: singer-sdk keeps the latest STATE message and writes it when it drains all sinks (end of
input, its record-age limit, SIGTERM). Here every STATE written is preceded by a flush of the
write engine, so a STATE never overtakes a record received before it; and a STATE is also
written as soon as that is already true: when it arrives and nothing is waiting in the engine,
and after each drain of a full sink. If a flush fails (Personyze refuses the key, too many
rejects) no STATE follows. Only complete input runs the end-of-run work (mirror removals)
before the last STATE; a terminated run (SIGTERM) flushes and checkpoints without it.

Input (``singer_input``): blank lines are skipped; a line that is not a Singer message, a
RECORD of a stream without a SCHEMA, or a record the checks refuse is a reject with its
reason, and the run goes on; a BATCH file that cannot be read stops the run after writing (and
checkpointing) what came before it, naming the stream, the file and the input line.

stdout carries STATE messages only: logs, the dry-run plan and the summary go to stderr.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from singer_sdk import Target
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import (
    CapabilitiesEnum,
    PluginCapabilities,
    TargetCapabilities,
)

from connectors.api.errors import PersonyzeError
from connectors.api.redact import RedactingFilter, redact
from connectors.loading import exit_without_collecting
from connectors.settings import SettingsError
from connectors.settings.schema import secret_values
from connectors.spec.loader import default_specs
from connectors.write import ErrorRateExceeded, RunSummary, WriteConfigError
from connectors.write.input_lines import BadLine
from connectors.write.settings import write_setup
from target_personyze.singer_input import InputError, InputReader
from target_personyze.singer_settings import (
    check_builtin_settings,
    config_jsonschema,
    json_native,
)
from target_personyze.singer_writer import SingerWriter
from target_personyze.sink import PersonyzeSink

SPECS = default_specs()
# The module of the console script `target-personyze` (TargetPersonyze.cli).
exit_without_collecting()
# httpx logs every request at INFO: thousands of lines per run. The core client logs retries.
logging.getLogger("httpx").setLevel(logging.WARNING)
# Failures a user can act on: reported as one message, without a traceback.
USER_ERRORS = (PersonyzeError, SettingsError, WriteConfigError, InputError)


class TargetPersonyze(Target):
    """Singer target for Personyze: warehouse rows into profiles, catalog rows, lists, list
    memberships and interactions (reverse ETL)."""

    name = "target-personyze"
    package_name = "personyze-connectors"
    config_jsonschema: ClassVar[dict[str, Any]] = config_jsonschema(SPECS)
    default_sink_class = PersonyzeSink
    message_reader_class = InputReader
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.BATCH,
        TargetCapabilities.VALIDATE_RECORDS,
    ]

    def __init__(self, **kwargs: Any) -> None:
        self._writer: SingerWriter | None = None
        self._written_state: dict[str, Any] | None = None
        self._ending = False
        super().__init__(**kwargs)
        # All sinks share one engine, which is not thread-safe: drain them one at a time.
        self.max_parallelism = 1
        secrets = secret_values(self.config, SPECS)
        if secrets:
            for handler in logging.getLogger().handlers:
                handler.addFilter(RedactingFilter(secrets))
        if isinstance(self.message_reader, InputReader):
            self.message_reader.on_bad_line = self.reject_line

    # -- config ---------------------------------------------------------------------------------

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The core checks the Personyze settings (its messages name the setting and hide the
        key), this adapter the SDK's built-in target settings, then the SDK's schema the rest."""
        problems: list[str] = []
        try:
            config = json_native(dict(self.config))
            write_setup(config)
            check_builtin_settings(config)
        except (SettingsError, WriteConfigError) as exc:
            problems.append(str(exc))
        if not problems:
            problems = super()._validate_config(raise_errors=False)
        secrets = secret_values(self.config, SPECS)
        problems = [redact(p, secrets) for p in problems]
        if problems and raise_errors:
            raise ConfigValidationError(
                "Config validation failed", errors=problems, schema=self.config_jsonschema
            )
        return problems

    @property
    def writer(self) -> SingerWriter:
        """The run's write engine, built when the first stream arrives."""
        if self._writer is None:
            self._writer = SingerWriter(self.config, SPECS)
        return self._writer

    # -- input ----------------------------------------------------------------------------------

    def reject_line(self, bad: BadLine) -> None:
        """A line that is not a message this target can take: a reject, and the run goes on."""
        self.writer.reject(bad.stream, bad.reason, bad.record, line=bad.number)

    def _process_record_message(self, message_dict: dict[str, Any]) -> None:
        stream = message_dict["stream"]
        if stream not in self.mapper.stream_maps:
            line = self.message_reader.line if isinstance(self.message_reader, InputReader) else 0
            self.writer.reject(
                stream,
                f"input line {line}: a RECORD of stream {stream!r} before any SCHEMA message of "
                "it, so its columns and key properties are unknown; the tap must send the "
                "stream's SCHEMA first",
                message_dict["record"],
                line=line or None,
            )
            return
        super()._process_record_message(message_dict)

    # -- state ----------------------------------------------------------------------------------

    def _process_state_message(self, message_dict: dict[str, Any]) -> None:
        super()._process_state_message(message_dict)
        if self._writer is None or self._writer.settled:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Write the latest STATE received, if not written yet (flushing first)."""
        if self._latest_state:
            self._write_state_message(copy.deepcopy(self._latest_state))

    def _write_state_message(self, state: dict[str, Any]) -> None:
        if self._writer is not None:
            if self._ending:
                self._writer.finish()
            else:
                self._writer.flush()
        if state == self._written_state:
            return
        self._written_state = copy.deepcopy(state)
        super()._write_state_message(state)

    def process_endofpipe(self) -> None:
        self._ending = True
        super().process_endofpipe()
        if self._writer is not None:
            summary = self._writer.finish()
            self.logger.info("%s", self._writer.report(summary))

    def fail(self, exc: BaseException) -> None:
        """Report a failed run: the reason, and what was written before it."""
        self.logger.error("%s", exc)
        writer = self._writer
        if writer is None:
            return
        summary: RunSummary | None = exc.summary if isinstance(exc, ErrorRateExceeded) else None
        self.logger.error("%s", writer.report(summary))
        writer.close()

    @classmethod
    def invoke(cls, **kwargs: Any) -> None:
        with reported_errors(cls.logger):
            super().invoke(**kwargs)

    def listen(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[misc]
        try:
            super().listen(*args, **kwargs)
        except InputError as exc:
            # Everything before the unreadable input is written and its STATE emitted, so a
            # rerun from that STATE misses nothing.
            try:
                self.checkpoint()
            except USER_ERRORS as flush_failed:
                self.logger.error("%s", flush_failed)
            self.fail(exc)
            raise SystemExit(1) from None
        except USER_ERRORS as exc:
            self.fail(exc)
            raise SystemExit(1) from None


@contextmanager
def reported_errors(logger: logging.Logger) -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as exc:
        logger.error("%s", exc)
        raise SystemExit(1) from None


if __name__ == "__main__":
    TargetPersonyze.cli()
