"""Run the source in-process exactly as its console script would, and read what it prints as
Airbyte protocol JSON (one dict per stdout line)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airbyte_cdk.models import AirbyteMessageSerializer
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_personyze import SourcePersonyze, head_start
from source_personyze.entrypoint import Entrypoint

Message = dict[str, Any]


@dataclass
class Output:
    messages: list[Message]
    raised: bool

    def of_type(self, kind: str) -> list[Message]:
        return [m for m in self.messages if m["type"] == kind]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [
            m["record"]["data"]
            for m in self.of_type("RECORD")
            if stream is None or m["record"]["stream"] == stream
        ]

    def states(self, stream: str | None = None) -> list[Message]:
        """STATE messages (the ``state`` object, as a platform would store and send back)."""
        return [
            m["state"]
            for m in self.of_type("STATE")
            if stream is None or m["state"]["stream"]["stream_descriptor"]["name"] == stream
        ]

    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"]["type"] == "ERROR"]

    def statuses(self, stream: str) -> list[str]:
        return [
            m["trace"]["stream_status"]["status"]
            for m in self.of_type("TRACE")
            if m["trace"]["type"] == "STREAM_STATUS"
            and m["trace"]["stream_status"]["stream_descriptor"]["name"] == stream
        ]

    def connection_status(self) -> dict[str, Any]:
        (status,) = self.of_type("CONNECTION_STATUS")
        return dict(status["connectionStatus"])

    def catalog(self) -> dict[str, Any]:
        (catalog,) = self.of_type("CATALOG")
        return dict(catalog["catalog"])

    def text(self) -> str:
        return "\n".join(json.dumps(m) for m in self.messages)


def run(
    verb: str,
    config: Mapping[str, Any] | None = None,
    *,
    catalog: Mapping[str, Any] | None = None,
    state: Iterable[Message] | None = None,
) -> Output:
    """One run of ``source-personyze <verb>``; an uncaught error becomes its trace message, as
    the CDK's exception hook prints it. A ``read`` starts its first stream ahead of the CDK as
    the console script does (``source_personyze.head_start``), so every read of these tests
    goes through the take-over."""
    with tempfile.TemporaryDirectory(prefix="source-personyze-run-") as tmp:
        args = [verb]
        for flag, value in (("--config", config), ("--catalog", catalog), ("--state", state)):
            if value is not None:
                path = Path(tmp) / f"{flag[2:]}.json"
                path.write_text(json.dumps(list(value) if flag == "--state" else value))
                args += [flag, str(path)]
        source = SourcePersonyze()
        entrypoint = Entrypoint(source)
        messages: list[Message] = []
        raised = False
        if verb == "read":
            head_start.begin(args, source.specs)
        try:
            for line in entrypoint.run(entrypoint.parse_args(args)):
                messages.append(json.loads(line))
        except Exception as exc:
            raised = True
            traced = (
                exc
                if isinstance(exc, AirbyteTracedException)
                else AirbyteTracedException.from_exception(exc)
            )
            message = AirbyteMessageSerializer.dump(traced.as_sanitized_airbyte_message())
            messages.append(json.loads(json.dumps(message, default=str)))
        finally:
            head_start.drop()
        return Output(messages, raised)


def configured_catalog(
    discovered: Mapping[str, Any],
    streams: Iterable[str] | None = None,
    *,
    full_refresh: bool = False,
) -> dict[str, Any]:
    """Every discovered stream (or the named ones), incremental where the stream supports it."""
    wanted = set(streams) if streams is not None else None
    configured = []
    for stream in discovered["streams"]:
        if wanted is not None and stream["name"] not in wanted:
            continue
        incremental = "incremental" in stream["supported_sync_modes"] and not full_refresh
        configured.append(
            {
                "stream": stream,
                "sync_mode": "incremental" if incremental else "full_refresh",
                "destination_sync_mode": "append",
                **({"cursor_field": stream["default_cursor_field"]} if incremental else {}),
            }
        )
    return {"streams": configured}


def final_states(output: Output) -> list[Message]:
    """The last STATE of each stream, as the platform passes it to the next sync."""
    last: dict[str, Message] = {}
    for state in output.states():
        last[state["stream"]["stream_descriptor"]["name"]] = {
            "type": state["type"],
            "stream": state["stream"],
        }
    return list(last.values())
