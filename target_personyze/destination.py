"""``DestinationPersonyze``: spec, check, discover and write over the shared write engine.

``write`` feeds every RECORD to the engine and echoes a STATE only after ``engine.flush()``
returned, that is after every record before it was accepted by Personyze or rejected into the
rejects file; a run that dies mid-batch therefore never echoes state for unflushed records.
``discover`` (not a verb of the Python CDK's destinations: added here) prints the
``DESTINATION_CATALOG`` of data activation.

Input is read by ``destination_input``: a line that is not a message this destination can
take, and a record of a stream the catalog does not hold, are rejected and counted like any
refused record (rejects file, one log line each, ``max_error_rate``), never skipped silently.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import orjson
from airbyte_cdk.destinations import Destination
from airbyte_cdk.models import (  # type: ignore[attr-defined]
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteStateMessage,
    AirbyteStateStats,
    AirbyteStateType,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteCatalogSerializer,
    ConnectorSpecification,
    Status,
    Type,
)
from airbyte_cdk.utils.airbyte_secrets_utils import get_secrets, update_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from airbyte_protocol_dataclasses.models import DestinationCatalog

from connectors.api.client import PersonyzeClient
from connectors.api.query import Query
from connectors.settings import SettingsError
from connectors.spec import Specs, default_specs
from connectors.write import StreamTarget, WriteConfigError, WriteEngine, parse_targets
from connectors.write.input_lines import BadLine
from connectors.write.settings import WriteSetup, write_setup
from target_personyze.destination_catalog import (
    SYNC_MODES,
    catalog_message,
    destination_catalog,
    stream_names,
    stream_settings,
    supported_sync_modes,
)
from target_personyze.destination_input import read_input
from target_personyze.destination_messages import (
    ProtocolOut,
    failed_check,
    route_logs,
    summary_message,
    traced,
)
from target_personyze.destination_spec import connector_specification

logger = logging.getLogger("airbyte")

# check answers quickly: an unreachable host fails after a few attempts, not a full backoff.
CHECK_MAX_RETRIES = 2


class DestinationPersonyze(Destination):
    VALID_CMDS = {"spec", "check", "discover", "write"}
    # The core validates the config itself (``write_setup``) with messages that name the
    # setting; the CDK's JSON Schema errors do not, and may quote the values.
    check_config_against_spec = False

    def __init__(self, specs: Specs | None = None) -> None:
        self.specs = specs or default_specs()

    # -- spec / check / discover ----------------------------------------------------------------

    def spec(self, logger: logging.Logger) -> ConnectorSpecification:
        return connector_specification(self.specs, supported_sync_modes(self.specs))

    def setup(self, config: Mapping[str, Any]) -> WriteSetup:
        """The validated config; the dry-run plan goes to stderr (stdout is the protocol)."""
        try:
            return write_setup(config, plan_out=sys.stderr)
        except (SettingsError, WriteConfigError) as exc:
            raise traced(exc) from exc

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        try:
            setup = write_setup(config, plan_out=sys.stderr)
            parse_targets(setup.streams_config, (), self.specs)  # the mappings of the config
        except (SettingsError, WriteConfigError) as exc:
            return failed_check(exc, None)
        settings = dataclasses.replace(
            setup.connection, max_retries=min(setup.connection.max_retries, CHECK_MAX_RETRIES)
        )
        try:
            with PersonyzeClient(settings) as client:
                client.get(self.credential_check())
        except Exception as exc:
            return failed_check(exc, settings.base_url)
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def credential_check(self) -> Query:
        """The spec's credential-check endpoint: reads nothing, a bad key gets 401."""
        (path,) = (o.path for o in self.specs.objects.values() if o.kind == "account")
        return Query(path)

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> DestinationCatalog:
        """Every (object, mode) the engine can write, with its matching keys. The operations
        come from the specs: the config is validated, the account is not contacted."""
        self.setup(config)
        return destination_catalog(self.specs)

    # -- write ----------------------------------------------------------------------------------

    def targets(
        self, setup: WriteSetup, catalog: ConfiguredAirbyteCatalog
    ) -> dict[str, StreamTarget]:
        """One target per configured stream: the config's ``streams`` entry, else the stream's
        ``destination_object_name`` (data activation), else its name. The engine validates."""
        try:
            settings = stream_settings(catalog, setup.streams_config, self.specs)
            targets = parse_targets(settings, stream_names(catalog), self.specs)
        except WriteConfigError as exc:
            raise traced(exc) from exc
        for stream in catalog.streams:
            target = targets[stream.stream.name]
            chosen = stream.destination_sync_mode
            if stream.stream.name not in settings and chosen != SYNC_MODES.get(target.mode):
                logger.warning(
                    "stream %r: destination sync mode %r applies only with a destination object "
                    "(data activation); writing %s with mode %s. Set 'mode' in the streams "
                    "setting to choose another",
                    target.stream,
                    getattr(chosen, "value", chosen),
                    target.object,
                    target.mode,
                )
        return targets

    def write(
        self,
        config: Mapping[str, Any],
        configured_catalog: ConfiguredAirbyteCatalog,
        input_messages: Iterable[AirbyteMessage | BadLine],
    ) -> Iterable[AirbyteMessage]:
        setup = self.setup(config)
        targets = self.targets(setup, configured_catalog)
        client = PersonyzeClient(setup.connection)
        try:
            engine = WriteEngine(client, targets, setup.options, self.specs)
        except Exception as exc:
            client.close()
            raise traced(exc) from exc
        try:
            yield from self._drain(engine, targets, input_messages)
            summary = engine.finish()
        except Exception as exc:
            yield summary_message(engine.summary(), complete=False)
            raise traced(exc) from exc
        finally:
            engine.close()
            client.close()
        yield summary_message(summary)

    def _drain(
        self,
        engine: WriteEngine,
        targets: Mapping[str, StreamTarget],
        input_messages: Iterable[AirbyteMessage | BadLine],
    ) -> Iterator[AirbyteMessage]:
        counts = _RecordCounts()
        for message in input_messages:
            if isinstance(message, BadLine):
                engine.reject_input(
                    message.stream, message.reason, message.record, line=message.number
                )
                counts.add(message.stream)
            elif message.type == Type.RECORD and message.record is not None:
                stream = message.record.stream
                if stream in targets:
                    engine.add(stream, message.record.data)
                else:
                    engine.reject_input(
                        stream,
                        f"stream {stream!r} is not in the configured catalog, so it has no "
                        "write target; add it to the connection's streams, or stop the source "
                        "from sending it",
                        message.record.data,
                    )
                counts.add(stream)
            elif message.type == Type.STATE and message.state is not None:
                engine.flush()
                counts.stamp(message.state)
                yield message

    def _write_input(
        self, config: Mapping[str, Any], catalog_path: str, lines: IO[bytes]
    ) -> Iterator[AirbyteMessage]:
        """``write`` over the input's bytes (UTF-8 whatever the locale says), each line a
        message or a rejected ``BadLine``: the CDK's ``_run_write`` drops unreadable lines."""
        with open(catalog_path, "rb") as file:
            catalog = ConfiguredAirbyteCatalogSerializer.load(orjson.loads(file.read()))
        logger.info("Begin writing to the destination...")
        yield from self.write(config, catalog, read_input(lines))
        logger.info("Writing complete.")

    # -- the command line -------------------------------------------------------------------------

    def parse_args(self, args: list[str]) -> argparse.Namespace:
        parser = argparse.ArgumentParser(prog="destination-personyze")
        verbs = parser.add_subparsers(title="commands", dest="command")
        verbs.add_parser("spec", help="print the connector specification")
        for verb, text in (
            ("check", "check that the config can reach the account"),
            ("discover", "print the DESTINATION_CATALOG (objects, modes, matching keys)"),
        ):
            sub = verbs.add_parser(verb, help=text)
            sub.add_argument("--config", required=True, help="path to the JSON config")
        write = verbs.add_parser("write", help="write the Airbyte messages of stdin")
        write.add_argument("--config", required=True, help="path to the JSON config")
        write.add_argument("--catalog", required=True, help="path to the configured catalog")
        parsed = parser.parse_args(args)
        if not parsed.command:
            parser.error("a command is required: spec, check, discover or write")
        return parsed

    def run_cmd(self, parsed_args: argparse.Namespace) -> Iterable[AirbyteMessage]:
        """Every verb's messages; ``discover`` yields a dict (the CDK's message class has no
        ``destination_catalog`` field)."""
        cmd = parsed_args.command
        spec = self.spec(logger)
        if cmd == "spec":
            yield AirbyteMessage(type=Type.SPEC, spec=spec)
            return
        config = self.read_config(config_path=parsed_args.config)
        # Register the key with the CDK's secret filter before anything can print it.
        update_secrets(get_secrets(spec.connectionSpecification, config))
        if cmd == "check":
            yield self._run_check(config=config)
        elif cmd == "discover":
            yield catalog_message(self.discover(logger, config))  # type: ignore[misc]
        elif cmd == "write":
            yield from self._write_input(config, parsed_args.catalog, sys.stdin.buffer)
        else:
            raise AirbyteTracedException(message=f"unknown command {cmd!r}")

    def run(self, args: list[str]) -> None:
        out = ProtocolOut()
        route_logs(out)
        try:
            for message in self.run_cmd(self.parse_args(args)):
                if isinstance(message, dict):
                    out.json(message)
                else:
                    out.message(message)
        except Exception as exc:
            logger.debug("destination-personyze failed", exc_info=exc)
            out.message(traced(exc).as_sanitized_airbyte_message())
            sys.exit(1)


class _RecordCounts:
    """Records since the last state, per stream, for the ``destinationStats`` of each echoed
    STATE (a per-stream state counts its own stream, any other state every record)."""

    def __init__(self) -> None:
        self._streams: dict[str, int] = {}

    def add(self, stream: str) -> None:
        self._streams[stream] = self._streams.get(stream, 0) + 1

    def stamp(self, state: AirbyteStateMessage) -> None:
        if state.type == AirbyteStateType.STREAM and state.stream is not None:
            count = self._streams.pop(state.stream.stream_descriptor.name, 0)
        else:
            count = sum(self._streams.values())
            self._streams.clear()
        state.destinationStats = AirbyteStateStats(recordCount=float(count))
