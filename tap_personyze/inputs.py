"""The files a tap run is given (``--config``, ``--state``, ``--catalog``), read with errors that
name the file, what is wrong with it and what to do (singer-sdk would fail with a traceback
ending in ``Expecting value…`` or ``expected str, bytes or os.PathLike object, not list``)."""

from __future__ import annotations

from typing import IO, Any

from singer_sdk.singerlib import Catalog

from connectors.settings.files import JsonFileError, file_name, json_kind, read_json_file

STATE_FIX = (
    'give the last STATE message\'s value, e.g. {"bookmarks": {"users": {"replication_key": '
    '"data_last_modified", "replication_key_value": 1704067200}}}, or no --state to read '
    "everything"
)
CATALOG_FIX = (
    "give the catalog printed by tap-personyze --discover, with the streams to sync selected"
)


CONFIG_FIX = (
    'give a JSON object of settings, e.g. {"api_key": "...", "start_date": "2024-01-01"}, '
    "or ENV to read TAP_PERSONYZE_* environment variables"
)


class InputFileError(Exception):
    """A --config, --state or --catalog file the tap cannot use; the message names it and
    what to do."""


def read_config_files(paths: tuple[str, ...]) -> tuple[dict[str, Any], bool]:
    """The settings of every --config file merged in order, and whether ENV was given."""
    config: dict[str, Any] = {}
    for path in paths:
        if path == "ENV":
            continue
        value = _json(path, "config", CONFIG_FIX)
        if not isinstance(value, dict):
            raise InputFileError(
                f"config file {path} holds a JSON {json_kind(value)}, not an object; {CONFIG_FIX}"
            )
        config |= value
    return config, "ENV" in paths


def read_state_file(handle: IO[str] | None) -> dict[str, Any] | None:
    if handle is None:
        return None
    name = file_name(handle)
    state = _json(handle, "state", STATE_FIX)
    if not isinstance(state, dict):
        raise InputFileError(
            f"state file {name} holds a JSON {json_kind(state)}, not an object; {STATE_FIX}"
        )
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        raise InputFileError(
            f"state file {name}: bookmarks holds a JSON {json_kind(bookmarks)}, not an object of "
            f"streams; {STATE_FIX}"
        )
    for stream, value in bookmarks.items():
        if not isinstance(value, dict):
            raise InputFileError(
                f"state file {name}: the bookmark of stream {stream} is a JSON {json_kind(value)}, "
                f"not an object; {STATE_FIX}"
            )
    return state


def read_catalog_file(handle: IO[str] | None) -> dict[str, Any] | None:
    if handle is None:
        return None
    name = file_name(handle)
    catalog = _json(handle, "catalog", CATALOG_FIX)
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        raise InputFileError(
            f"catalog file {name} is not a Singer catalog (an object whose streams is an "
            f"array); {CATALOG_FIX}"
        )
    for number, entry in enumerate(catalog["streams"], start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("tap_stream_id"), str):
            raise InputFileError(
                f"catalog file {name}: stream entry {number} has no tap_stream_id; {CATALOG_FIX}"
            )
        if not isinstance(entry.get("metadata", []), list) or not isinstance(
            entry.get("schema", {}), dict
        ):
            raise InputFileError(
                f"catalog file {name}: stream {entry['tap_stream_id']} needs metadata as an "
                f"array and schema as an object; {CATALOG_FIX}"
            )
    try:
        Catalog.from_dict(catalog)
    except Exception as exc:  # what the SDK's parser still refuses
        raise InputFileError(
            f"catalog file {name} is not a Singer catalog ({type(exc).__name__}: {exc}); "
            f"{CATALOG_FIX}"
        ) from None
    return catalog


def _json(file: str | IO[str], what: str, fix: str) -> Any:
    try:
        return read_json_file(file, what, fix)
    except JsonFileError as exc:
        raise InputFileError(str(exc)) from None
