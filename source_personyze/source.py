"""``SourcePersonyze``: spec, check, discover and read over the shared core."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from airbyte_cdk.models import (  # type: ignore[attr-defined]
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteStateMessage,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    FailureType,
    Status,
    TraceType,
    Type,
)
from airbyte_cdk.sources import AbstractSource
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors.api.client import PersonyzeClient
from connectors.api.query import Query
from connectors.read.selection import check_selection, in_read_order, offered
from connectors.read.streams import discover
from connectors.settings import ConnectionSettings, SettingsError
from connectors.spec import Specs, default_specs
from source_personyze import inputs
from source_personyze.messages import UserErrorsWithoutTraceback, failed_check, traced
from source_personyze.spec import connector_specification
from source_personyze.stream import Connection, PersonyzeStream

# check answers quickly: an unreachable host fails after a few attempts, not a full backoff.
CHECK_MAX_RETRIES = 2


class SourcePersonyze(AbstractSource):
    # The core validates the config itself (``ConnectionSettings.from_config``) with messages
    # that name the setting; the CDK's JSON Schema errors do not.
    check_config_against_spec = False

    def __init__(self, specs: Specs | None = None) -> None:
        self.specs = specs or default_specs()
        self._connections: list[Connection] = []

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return connector_specification(self.specs)

    def settings(self, config: Mapping[str, Any]) -> ConnectionSettings:
        try:
            return ConnectionSettings.from_config(config, side="read")
        except SettingsError as exc:
            raise traced(exc) from exc

    # -- the run's files ------------------------------------------------------------------------

    def configure(self, config: Mapping[str, Any], temp_dir: str) -> Mapping[str, Any]:
        """The CDK would copy the config, API key included, to ``<temp_dir>/config.json``, a
        file a killed process leaves behind in $TMPDIR; nothing reads that copy, so it is never
        written."""
        return config

    @staticmethod
    def read_config(config_path: str) -> dict[str, Any]:
        return inputs.read_config(config_path)

    @classmethod
    def read_catalog(cls, catalog_path: str) -> ConfiguredAirbyteCatalog:
        return inputs.read_catalog(catalog_path)

    @classmethod
    def read_state(cls, state_path: str) -> list[AirbyteStateMessage]:
        return inputs.read_state(state_path)

    # -- check --------------------------------------------------------------------------------

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        try:
            settings = ConnectionSettings.from_config(config, side="read")
        except SettingsError as exc:
            return failed_check(exc, None)
        settings = dataclasses.replace(
            settings, max_retries=min(settings.max_retries, CHECK_MAX_RETRIES)
        )
        try:
            with PersonyzeClient(settings) as client:
                client.get(self.credential_check())
        except Exception as exc:
            return failed_check(exc, settings.base_url)
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def check_connection(
        self, logger: logging.Logger, config: Mapping[str, Any]
    ) -> tuple[bool, Any]:
        status = self.check(logger, config)
        return status.status == Status.SUCCEEDED, status.message

    def credential_check(self) -> Query:
        """The spec's credential-check endpoint: reads nothing, a bad key gets 401."""
        (path,) = (o.path for o in self.specs.objects.values() if o.kind == "account")
        return Query(path)

    # -- discover -----------------------------------------------------------------------------

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        settings = self.settings(config)
        try:
            with PersonyzeClient(settings) as client:
                definitions = discover(client, self.specs)
        except Exception as exc:
            raise traced(exc) from exc
        shown = offered(definitions, settings)
        return AirbyteCatalog(streams=[PersonyzeStream(d).as_airbyte_stream() for d in shown])

    # -- read ---------------------------------------------------------------------------------

    def streams(self, config: Mapping[str, Any]) -> list[PersonyzeStream]:  # type: ignore[override]
        settings = self.settings(config)
        connection = Connection(settings, self.specs)
        self._connections.append(connection)
        definitions = offered(discover(None, self.specs), settings)
        return [PersonyzeStream(d, connection) for d in definitions]

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: list[AirbyteStateMessage] | None = None,
    ) -> Iterator[AirbyteMessage]:
        catalog = self.checked_catalog(config, catalog)
        failures: set[FailureType] = set()
        quiet = UserErrorsWithoutTraceback()
        logger.addFilter(quiet)
        try:
            for message in super().read(logger, config, catalog, state):
                trace = message.trace if message.type == Type.TRACE else None
                if trace is not None and trace.type == TraceType.ERROR and trace.error:
                    failures.add(trace.error.failure_type)
                yield message
        except AirbyteTracedException as exc:
            # The CDK sums up failed streams as a config error; keep a system error a system
            # error so that the platform retries it instead of blaming the user's settings.
            if FailureType.system_error in failures and exc.failure_type != (
                FailureType.system_error
            ):
                raise AirbyteTracedException(
                    message=exc.message,
                    internal_message=exc.internal_message,
                    failure_type=FailureType.system_error,
                ) from exc
            raise
        finally:
            logger.removeFilter(quiet)
            while self._connections:
                self._connections.pop().close()

    def checked_catalog(
        self, config: Mapping[str, Any], catalog: ConfiguredAirbyteCatalog
    ) -> ConfiguredAirbyteCatalog:
        """The catalog in read order (a stream that writes to the account last), after checking
        that it selects only streams this source offers with this config."""
        settings = self.settings(config)
        try:
            check_selection(
                [s.stream.name for s in catalog.streams], self.specs.readable(), settings
            )
        except SettingsError as exc:
            raise traced(exc) from exc
        ordered = in_read_order(catalog.streams, lambda s: self.specs.object(s.stream.name))
        return dataclasses.replace(catalog, streams=ordered)
