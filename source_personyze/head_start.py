"""``source-personyze read``: the first stream's read starts while the Airbyte CDK imports
(``connectors.read.head_start``).

The entry point reads the run's files itself (``--config``, ``--catalog``, ``--state``, as the
CDK would hand them to the stream) and starts the read of the first stream the CDK will read;
the stream takes it over with ``take``. Any file it cannot read, any setting it does not like:
no head start, and the CDK's own path reports the problem as usual.
"""

from __future__ import annotations

from typing import Any

from connectors.read import head_start as core
from connectors.read.head_start import HeadStart, drop, take
from connectors.settings.files import read_json_file
from connectors.spec import Specs

__all__ = ["HeadStart", "begin", "drop", "take"]


def begin(args: list[str], specs: Specs) -> None:
    """Start the first stream of ``read`` ``args``, if the files ask for a plain table read."""
    core.begin(lambda: _start(args, specs))


def _start(args: list[str], specs: Specs) -> HeadStart | None:
    files = _files(args)
    if files is None:
        return None
    # any file the CDK's own reading would refuse ends the head start (begin drops the error)
    config = read_json_file(files["--config"], "config", "")
    catalog = read_json_file(files["--catalog"], "catalog", "")
    states = read_json_file(files["--state"], "state", "") if "--state" in files else []
    if (
        not isinstance(config, dict)
        or not isinstance(catalog, dict)
        or not isinstance(states, list)
    ):
        return None
    names = [s["stream"]["name"] for s in catalog["streams"]]
    return core.start_first(specs, config, names, lambda name: _stream_state(states, name))


def _files(args: list[str]) -> dict[str, str] | None:
    """``--config``, ``--catalog`` and ``--state`` of ``read``; None for anything else."""
    if not args or args[0] != "read" or len(args) % 2 != 1:
        return None
    files = dict(zip(args[1::2], args[2::2], strict=True))
    if set(files) - {"--config", "--catalog", "--state"} or len(files) != len(args) // 2:
        return None
    return files if {"--config", "--catalog"} <= set(files) else None


def _stream_state(states: list[Any], name: str) -> dict[str, Any] | None:
    """The stream's state value as the CDK hands it to the stream, from per-stream STATE
    messages; None when the state is of another kind (global, legacy) or not understood."""
    found: dict[str, Any] = {}
    for message in states:
        if not isinstance(message, dict) or message.get("type") != "STREAM":
            return None
        stream = message.get("stream")
        if not isinstance(stream, dict) or not isinstance(stream.get("stream_descriptor"), dict):
            return None
        descriptor = stream["stream_descriptor"]
        if descriptor.get("name") == name and descriptor.get("namespace") is None:
            value = stream.get("stream_state")
            if value is not None and not isinstance(value, dict):
                return None
            found = dict(value or {})
    if found == {"__ab_no_cursor_state_message": True}:  # as the CDK reads it
        return {}
    return found
