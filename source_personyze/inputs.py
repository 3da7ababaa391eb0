"""The files a run of the source is given (``--config``, ``--catalog``, ``--state``), read with
errors that name the file, what is wrong with it and what to do: a config error each, never a
traceback (the CDK's own reader answers "Something went wrong in the connector")."""

from __future__ import annotations

from typing import Any

from airbyte_cdk.models import (  # type: ignore[attr-defined]
    AirbyteStateMessage,
    AirbyteStateMessageSerializer,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteCatalogSerializer,
    FailureType,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors.settings.files import JsonFileError, json_kind, read_json_file

CONFIG_FIX = 'give a JSON object of settings, e.g. {"api_key": "...", "start_date": "2024-01-01"}'
CATALOG_FIX = "give the configured catalog built from this source's discover output"
STATE_FIX = (
    "give the STATE messages of the last sync as a JSON array, e.g. "
    '[{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, '
    '"stream_state": {"data_last_modified": 1704067200}}}], or no --state to read everything'
)


def input_error(message: str) -> AirbyteTracedException:
    return AirbyteTracedException(
        message=message, internal_message=message, failure_type=FailureType.config_error
    )


def read_json(path: str, what: str, fix: str) -> Any:
    try:
        return read_json_file(path, what, fix)
    except JsonFileError as exc:
        raise input_error(str(exc)) from None


def read_config(path: str) -> dict[str, Any]:
    config = read_json(path, "config", CONFIG_FIX)
    if not isinstance(config, dict):
        raise input_error(
            f"config file {path} holds a JSON {json_kind(config)}, not an object; {CONFIG_FIX}"
        )
    return config


def read_catalog(path: str) -> ConfiguredAirbyteCatalog:
    raw = read_json(path, "catalog", CATALOG_FIX)
    try:
        return ConfiguredAirbyteCatalogSerializer.load(raw)
    except Exception as exc:  # the serializer's schema errors: list what it found
        raise input_error(
            f"catalog file {path} is not a configured Airbyte catalog ({_problems(exc)}); "
            f"{CATALOG_FIX}"
        ) from None


def read_state(path: str | None) -> list[AirbyteStateMessage]:
    if not path:
        return []
    raw = read_json(path, "state", STATE_FIX)
    if raw == []:
        return []
    if not isinstance(raw, list):
        raise input_error(
            f"state file {path} holds a JSON {json_kind(raw)}, not an array; {STATE_FIX}"
        )
    messages: list[AirbyteStateMessage] = []
    for number, item in enumerate(raw, start=1):
        try:
            message = AirbyteStateMessageSerializer.load(item)
        except Exception as exc:
            raise input_error(
                f"state file {path}: message {number} is not an Airbyte state message "
                f"({_problems(exc)}); {STATE_FIX}"
            ) from None
        if not (message.stream or message.global_ or message.data):
            raise input_error(
                f"state file {path}: message {number} holds no stream state; {STATE_FIX}"
            )
        if message.global_ is not None and message.global_.shared_state:
            raise input_error(
                f"state file {path}: message {number} is a GLOBAL state with a shared_state, "
                f"which this source never emits; {STATE_FIX}"
            )
        messages.append(message)
    return messages


def _problems(exc: Exception) -> str:
    lines = [line[2:].strip() for line in str(exc).splitlines() if line.startswith("- ")]
    return "; ".join(lines) if lines else str(exc).strip()[:300]
