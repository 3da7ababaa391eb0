"""Drive ``destination-personyze`` the ways a platform does: in-process through ``write`` (to
look at the sandbox at the moment each message comes out), or as the console script with the
Airbyte messages on stdin, reading stdout line by line."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airbyte_cdk.models import (  # type: ignore[attr-defined]
    AirbyteMessageSerializer,
    ConfiguredAirbyteCatalogSerializer,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from connectors.api.client import PersonyzeClient
from connectors.api.query import Query, all_of, cond
from connectors.settings import ConnectionSettings
from personyze_sandbox.process import RunningSandbox
from target_personyze.destination import DestinationPersonyze

Message = dict[str, Any]
EXECUTABLE = Path(sys.executable).with_name("destination-personyze")
T0 = 1_700_000_000


# -- building input -------------------------------------------------------------------------------


def record(stream: str, data: Mapping[str, Any], *, cached: bool = False) -> Message:
    """A RECORD; ``cached`` adds the columns PyAirbyte caches carry, which must be dropped."""
    row = dict(data)
    if cached:
        row |= {
            "_airbyte_raw_id": "0190a3a0-6f7e-7c4e-9d1b-7d5c7e0c0a11",
            "_airbyte_extracted_at": "2026-01-15T10:00:00Z",
            "_airbyte_meta": {"changes": []},
        }
    return {"type": "RECORD", "record": {"stream": stream, "data": row, "emitted_at": T0 * 1000}}


def state(stream: str, position: int) -> Message:
    return {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {
                "stream_descriptor": {"name": stream},
                "stream_state": {"position": position},
            },
        },
    }


def configured_stream(
    name: str,
    *,
    object_name: str | None = None,
    sync_mode: str = "append",
    primary_key: list[list[str]] | None = None,
) -> dict[str, Any]:
    stream: dict[str, Any] = {
        "stream": {
            "name": name,
            "json_schema": {"type": "object"},
            "supported_sync_modes": ["full_refresh", "incremental"],
        },
        "sync_mode": "full_refresh",
        "destination_sync_mode": sync_mode,
    }
    if object_name is not None:
        stream["destination_object_name"] = object_name
    if primary_key is not None:
        stream["primary_key"] = primary_key
    return stream


def catalog(*streams: dict[str, Any]) -> dict[str, Any]:
    return {"streams": list(streams)}


def plain_catalog(*names: str) -> dict[str, Any]:
    """Streams without data-activation fields (an ELT connection): mapped by name or config."""
    return catalog(*(configured_stream(n) for n in names))


# -- running --------------------------------------------------------------------------------------


@dataclass
class Output:
    messages: list[Message]
    returncode: int = 0
    stderr: str = ""

    def of_type(self, kind: str) -> list[Message]:
        return [m for m in self.messages if m["type"] == kind]

    def states(self) -> list[Message]:
        return [m["state"] for m in self.of_type("STATE")]

    def positions(self) -> list[int]:
        return [s["stream"]["stream_state"]["position"] for s in self.states()]

    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"]["type"] == "ERROR"]

    def logs(self) -> list[str]:
        return [m["log"]["message"] for m in self.of_type("LOG")]

    def text(self) -> str:
        return "\n".join(json.dumps(m) for m in self.messages) + self.stderr


def write_steps(
    config: Mapping[str, Any], configured: Mapping[str, Any], messages: Iterable[Message]
) -> Iterator[Message]:
    """``write`` in-process, one output message at a time (as JSON dicts)."""
    destination = DestinationPersonyze()
    out = destination.write(
        config,
        ConfiguredAirbyteCatalogSerializer.load(dict(configured)),
        (AirbyteMessageSerializer.load(m) for m in messages),
    )
    for message in out:
        yield json.loads(json.dumps(AirbyteMessageSerializer.dump(message), default=str))


def write(
    config: Mapping[str, Any], configured: Mapping[str, Any], messages: Iterable[Message]
) -> Output:
    """``write`` in-process; an error becomes its trace message, as the console script prints."""
    collected: list[Message] = []
    try:
        collected.extend(write_steps(config, configured, messages))
    except AirbyteTracedException as exc:
        message = AirbyteMessageSerializer.dump(exc.as_sanitized_airbyte_message())
        collected.append(json.loads(json.dumps(message, default=str)))
        return Output(collected, 1)
    return Output(collected)


def command(verb: str, config: Mapping[str, Any] | None = None) -> Output:
    """``spec``, ``check`` or ``discover`` in-process, through the same ``run_cmd`` as the
    console script; an error becomes its trace message."""
    destination = DestinationPersonyze()
    messages: list[Message] = []
    with tempfile.TemporaryDirectory(prefix="destination-personyze-run-") as tmp:
        args = [verb]
        if config is not None:
            path = Path(tmp) / "config.json"
            path.write_text(json.dumps(config))
            args += ["--config", str(path)]
        try:
            for message in destination.run_cmd(destination.parse_args(args)):
                if not isinstance(message, dict):
                    message = AirbyteMessageSerializer.dump(message)
                messages.append(json.loads(json.dumps(message, default=str)))
        except AirbyteTracedException as exc:
            dumped = AirbyteMessageSerializer.dump(exc.as_sanitized_airbyte_message())
            messages.append(json.loads(json.dumps(dumped, default=str)))
            return Output(messages, 1)
    return Output(messages)


def cli(
    verb: str,
    config: Mapping[str, Any] | None = None,
    *,
    configured: Mapping[str, Any] | None = None,
    messages: Iterable[Message] = (),
    raw: bytes | None = None,
    timeout: float = 120,
) -> Output:
    """One run of the console script; every stdout line must be a protocol message. ``raw``:
    stdin as these bytes instead of ``messages`` (lines that are not JSON, invalid UTF-8)."""
    with tempfile.TemporaryDirectory(prefix="destination-personyze-run-") as tmp:
        args = [str(EXECUTABLE), verb]
        for flag, value in (("--config", config), ("--catalog", configured)):
            if value is not None:
                path = Path(tmp) / f"{flag[2:]}.json"
                path.write_text(json.dumps(value))
                args += [flag, str(path)]
        stdin = raw if raw is not None else "".join(json.dumps(m) + "\n" for m in messages).encode()
        done = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout, cwd=tmp)
    stdout = done.stdout.decode("utf-8")
    return Output(
        [json.loads(line) for line in stdout.splitlines()],
        done.returncode,
        done.stderr.decode("utf-8", "replace"),
    )


# -- reading back ---------------------------------------------------------------------------------


def client(sb: RunningSandbox) -> PersonyzeClient:
    return PersonyzeClient(
        ConnectionSettings.from_config({"api_key": sb.api_key, "base_url": sb.base_url})
    )


def get(sb: RunningSandbox, query: Query) -> Any:
    with client(sb) as c:
        return c.get(query)


def users_by_email(sb: RunningSandbox, emails: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = get(sb, Query("users", where=all_of(cond("email", ":", sorted(emails))), limit=1000))
    return {r["email"]: r for r in rows}


def products_by_id(sb: RunningSandbox, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    rows = get(
        sb, Query("products", where=all_of(cond("internal_id", ":", sorted(ids))), limit=1000)
    )
    return {r["internal_id"]: r for r in rows}


def members(sb: RunningSandbox, list_id: int) -> set[int]:
    rows = get(
        sb,
        Query(
            "user_list_users",
            where=all_of(cond("user_list_id", "=", list_id)),
            column="user_id",
            limit=1000,
        ),
    )
    return set(rows)
