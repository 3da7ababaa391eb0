"""TapPersonyze: the singer-sdk Tap. Streams come from ``connectors.read.streams.discover``,
offered, selected by default and ordered as ``connectors.read.selection`` says.

Unlike singer-sdk's ``sync_all``, a stream that fails does not stop the streams after it: each
failure is logged as an ERROR line naming the stream and the cause, the state the stream
checkpointed is emitted, every other selected stream syncs, and the tap then exits 1.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, ClassVar

from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities
from singer_sdk.plugin_base import _ConfigInput
from singer_sdk.streams.core import Stream
from singer_sdk.tap_base import Tap

from connectors.api.client import PersonyzeClient
from connectors.api.errors import PersonyzeError
from connectors.read.selection import (
    check_selection,
    in_read_order,
    offered,
    selected_by_default,
)
from connectors.read.streams import discover
from connectors.settings import ConnectionSettings, SettingsError
from connectors.settings.schema import secret_values, singer_settings_schema
from connectors.spec.loader import default_specs
from tap_personyze.inputs import (
    InputFileError,
    read_catalog_file,
    read_config_files,
    read_state_file,
)
from tap_personyze.settings import (
    connection_settings,
    environment_config,
    redacted,
    schema_problems,
)
from tap_personyze.stream import InvalidState, PersonyzeStream
from tap_personyze.writer import SingerWriter

SPECS = default_specs()
# httpx logs every request at INFO: thousands of lines per sync. The core client logs retries.
logging.getLogger("httpx").setLevel(logging.WARNING)


class StreamsFailed(Exception):
    """Some selected streams failed; every other one synced and its state was emitted."""

    def __init__(self, failures: dict[str, str], synced: int) -> None:
        names = ", ".join(failures)
        super().__init__(
            f"{len(failures)} of {synced + len(failures)} selected streams failed: {names} "
            "(each ERROR above names the cause). The other streams synced and their state was "
            "emitted; fix the cause and run again: the failed streams resume from their last "
            "state"
        )
        self.failures = failures


# Failures a user can act on: reported as one message, without a traceback.
USER_ERRORS = (PersonyzeError, SettingsError, InvalidState, InputFileError, StreamsFailed)


@contextmanager
def reported_errors(logger: logging.Logger) -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as exc:
        logger.error("%s", exc)
        raise SystemExit(1) from None


class TapPersonyze(Tap):
    """Singer tap for Personyze: every readable object of the REST API as a stream.

    Reading never changes the account, with one exception you must ask for: the
    `recommendations` stream is offered only with `record_recommendation_page_views: true`,
    and even then it is not selected by default and is read after every other stream. Every
    sync of it records, per configured user, a page view of `recommendation_document` (the
    shown actions count as executed), a `delivered` products_interactions row per product
    shown, and, for a user without an open session, a new tracker session that bumps
    `users.session_counter`, `last_session_time` and `data_last_modified`.

    A stream that fails does not stop the others: it is named in an ERROR line, every other
    selected stream syncs and emits its state, and the tap exits 1.
    """

    name = "tap-personyze"
    package_name = "personyze-connectors"
    config_jsonschema: ClassVar[dict[str, Any]] = singer_settings_schema(SPECS, "read")
    # Schemas of objects with dynamic columns are sampled from the account.
    dynamic_catalog = True
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.DISCOVER,
        TapCapabilities.STATE,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.BATCH,
    ]

    settings: ConnectionSettings | None = None
    # The SDK's msgspec writer (several times faster than its simplejson default); reading with
    # one request in flight, it flushes at STATE and SCHEMA messages, not after every record.
    message_writer_class = SingerWriter

    @classmethod
    def builtin_config_jsonschema(cls) -> dict[str, Any]:
        """The SDK's own settings (stream maps, flattening, batch) without the Personyze ones."""
        schema: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        cls.append_builtin_config(schema)
        return schema

    @classproperty
    def _env_var_config(cls) -> dict[str, Any]:
        return environment_config(
            cls.config_jsonschema, cls.builtin_config_jsonschema(), cls._env_var_prefix
        )

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The core checks the Personyze settings (its messages name the setting and hide the
        key, and it accepts what config files and environment variables give, such as a list
        as comma-separated text); the SDK's schema checks only its own built-in settings."""
        settings, problems = connection_settings(self.config)
        self.settings = settings
        if not problems:
            problems = schema_problems(self._config, self.builtin_config_jsonschema())
        problems = redacted(problems, secret_values(self.config, SPECS))
        if problems and raise_errors:
            raise ConfigValidationError(
                "Config validation failed", errors=problems, schema=self.config_jsonschema
            )
        return problems

    def discover_streams(self) -> list[PersonyzeStream]:
        # With an input catalog its schemas are the ones used, so no sample is read.
        if self.settings is None or self.input_catalog is not None:
            definitions = discover(None, SPECS)
        else:
            with self.new_client() as client:
                definitions = discover(client, SPECS)
        streams = []
        for definition in offered(definitions, self.settings):
            stream = PersonyzeStream(self, definition, SPECS)
            stream.selected_by_default = selected_by_default(definition)
            streams.append(stream)
        return streams

    def check_catalog(self) -> None:
        """The input catalog may select only streams this tap offers with this config."""
        if self.input_catalog is None:
            return
        selected = [
            entry.tap_stream_id
            for entry in self.input_catalog.streams
            if entry.metadata.resolve_selection().get((), False)
        ]
        check_selection(selected, SPECS.readable(), self.settings)

    # singer-sdk marks sync_all final and stops at the first failing stream; this copy of its
    # loop (singer-sdk 0.54) only adds the read order and the per-stream isolation.
    def sync_all(self) -> None:  # type: ignore[misc]
        """Every selected stream in read order; a failed stream does not stop the others."""
        self.check_catalog()
        if isinstance(self.message_writer, SingerWriter) and self.settings is not None:
            self.message_writer.records_at_once = self.settings.max_concurrency > 1
        self._reset_state_progress_markers()
        self._set_compatible_replication_methods()
        if self.state:
            self._state_writer.write_state(self.state)
        failures: dict[str, str] = {}
        synced = 0
        streams = in_read_order(self.streams.values(), _spec_of)
        for stream in streams:
            if not stream.selected and not stream.has_selected_descendents:
                self.logger.info("Skipping deselected stream '%s'.", stream.name)
                continue
            if stream.parent_stream_type:
                continue  # synced by its parent
            try:
                stream.sync()
            except Exception as exc:
                failures[stream.name] = self._report_failure(stream, exc)
                # what the stream checkpointed covers only records already emitted
                stream._write_state_message()
                continue
            stream.finalize_state_progress_markers()
            synced += 1
        for stream in self.streams.values():
            stream.log_sync_costs()
        if failures:
            raise StreamsFailed(failures, synced)

    def _report_failure(self, stream: Stream, exc: Exception) -> str:
        if isinstance(exc, USER_ERRORS):
            reason = str(exc)
            self.logger.error("Stream %s failed: %s", stream.name, reason)
        else:  # a bug: the traceback helps to report it
            reason = f"{type(exc).__name__}: {exc}"
            self.logger.error("Stream %s failed: %s", stream.name, reason, exc_info=exc)
        return reason

    def new_client(self) -> PersonyzeClient:
        """A client for one discovery or one stream read (closed by its user)."""
        if self.settings is None:
            raise SettingsError("the tap's config was not validated; fix the settings it names")
        return PersonyzeClient(self.settings)

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: _ConfigInput | None = None,
        state: IO[str] | None = None,
        catalog: IO[str] | None = None,
    ) -> None:
        """``Tap.invoke`` with the state and catalog files read by ``tap_personyze.inputs``."""
        with reported_errors(cls.logger):
            super(Tap, cls).invoke(about=about, about_format=about_format)  # --about, then exit
            cls.print_version(print_fn=cls.logger.info)
            config = config or _ConfigInput()
            tap = cls(
                config=config.config,
                state=read_state_file(state),
                catalog=read_catalog_file(catalog),
                parse_env_config=config.parse_env,
                validate_config=True,
            )
            tap.sync_all()

    @classmethod
    def cb_config(cls, ctx: Any, param: Any, value: tuple[str, ...]) -> _ConfigInput:
        """The --config files, read with errors that name the file (the SDK's traceback
        names neither the file nor what to do)."""
        with reported_errors(cls.logger):
            config, parse_env = read_config_files(value)
        return _ConfigInput(config=config, parse_env=parse_env)

    @classmethod
    def cb_discover(cls, ctx: Any, param: Any, value: bool) -> None:
        with reported_errors(cls.logger):
            super().cb_discover(ctx, param, value)


def _spec_of(stream: Stream) -> Any:
    return stream.definition.spec  # type: ignore[attr-defined]


if __name__ == "__main__":
    TapPersonyze.cli()
