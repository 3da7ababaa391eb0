"""Reading the Singer input: numbered lines, blank lines skipped, a line that is not a Singer
message rejected with its number, and BATCH files read with the same care.

singer-sdk's reader stops the target on the first line that is not JSON (a blank line
included) and reads stdin with the locale's strict decoding; its BATCH reader stops on a
missing file with the bare ``[Errno 2]``. Here a bad line becomes a reject (counted toward
``max_error_rate``), invalid UTF-8 reaches the record checks that name the column, and a
BATCH file that cannot be read fails the run naming the stream, the file, the input line and
what to do.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import IO, Any

from singer_sdk.helpers._batch import BaseBatchFileEncoding, StorageTarget
from singer_sdk.io_base import SingerMessageType, SingerReader
from singer_sdk.singerlib.json import deserialize_json

from connectors.write.input_lines import (
    BadLine,
    json_kind,
    not_a_message,
    not_json,
    numbered_lines,
)

FIX_TAP = "fix the tap's output (one Singer message per line) and rerun"
MESSAGE = "a Singer message"


class InputError(Exception):
    """Input the target cannot read at all (a BATCH file that is not there): the run stops
    after writing what came before it, and the message says where and what to do."""


class InputReader(SingerReader):
    """Singer lines by number; ``on_bad_line`` receives each line that is not a message."""

    def __init__(self) -> None:
        super().__init__()
        self.line = 0
        self.on_bad_line: Callable[[BadLine], None] | None = None

    def process_lines(
        self, file_input: IO[str] | None, callbacks: dict[str, Callable[[dict[str, Any]], None]]
    ) -> Counter[str]:
        stats: Counter[str] = Counter()
        source = file_input if file_input is not None else sys.stdin
        # The bytes when there are any: invalid UTF-8 then reaches the record checks.
        lines = getattr(source, "buffer", source)
        for number, text in numbered_lines(lines):
            self.line = number
            self._current_message = text
            message = self._message(number, text, callbacks)
            if message is None:
                continue
            callbacks[message["type"]](message)
            stats[message["type"]] += 1
        return stats

    def _message(
        self, number: int, text: str, callbacks: dict[str, Callable[[dict[str, Any]], None]]
    ) -> dict[str, Any] | None:
        try:
            message = deserialize_json(text)
        except json.JSONDecodeError as exc:
            return self._bad(not_json(number, text, exc, FIX_TAP))
        if not isinstance(message, dict):
            problem = f"a JSON {json_kind(message)}"
            return self._bad(not_a_message(number, text, MESSAGE, problem, FIX_TAP))
        kind = message.get("type")
        if kind not in callbacks:
            problem = f"unknown message type {kind!r}" if kind else "it has no 'type'"
            return self._bad(not_a_message(number, text, MESSAGE, problem, FIX_TAP))
        malformation = malformed(message)
        if malformation is None:
            return message
        if kind in (SingerMessageType.SCHEMA, SingerMessageType.BATCH):
            # Without it the stream's records cannot be read: stop, naming the line.
            raise InputError(f"input line {number}: {malformation}; {FIX_TAP}")
        return self._bad(not_a_message(number, text, MESSAGE, malformation, FIX_TAP))

    def _bad(self, bad: BadLine) -> dict[str, Any] | None:
        """Hands ``bad`` to ``on_bad_line`` (no message to process: None), or raises."""
        if self.on_bad_line is None:
            raise InputError(bad.reason)
        self.on_bad_line(bad)
        return None


JSON_NAMES = {str: "a text", dict: "an object", list: "an array", int: "an integer"}
# What each message type needs (singer-sdk fails on a missing one with a traceback).
NEEDS: dict[str, tuple[tuple[str, type], ...]] = {
    SingerMessageType.RECORD: (("stream", str), ("record", dict)),
    SingerMessageType.SCHEMA: (("stream", str), ("schema", dict)),
    SingerMessageType.STATE: (("value", dict),),
    SingerMessageType.BATCH: (("stream", str), ("encoding", dict), ("manifest", list)),
    SingerMessageType.ACTIVATE_VERSION: (("stream", str), ("version", int)),
}


def malformed(message: dict[str, Any]) -> str | None:
    """What a Singer message lacks, or None."""
    kind = message["type"]
    wanted = NEEDS.get(kind, ())
    if any(not isinstance(message.get(k), t) for k, t in wanted):
        article = "an" if kind[0] in "AEIOU" else "a"
        needs = " and ".join(f"{k!r} ({JSON_NAMES[t]})" for k, t in wanted)
        return f"{article} {kind} needs {needs}"
    if kind == SingerMessageType.SCHEMA and not isinstance(
        message["schema"].get("properties"), dict
    ):
        return f"the SCHEMA of stream {message['stream']!r} has no 'properties' object"
    return None


def batch_records(
    stream: str,
    encoding: BaseBatchFileEncoding,
    path: str,
    storage: StorageTarget | None,
    input_line: int,
    on_bad_line: Callable[[BadLine], None],
) -> Iterator[dict[str, Any]]:
    """The records of one JSONL BATCH file (plain or gzip), bad lines sent to ``on_bad_line``;
    ``InputError`` when the file cannot be read."""
    head, tail = StorageTarget.split_url(path)
    try:
        with (
            (storage or StorageTarget.from_url(head)).open(tail, mode="rb") as raw,
            gzip.open(raw) if encoding.compression == "gzip" else nullcontext(raw) as source,
        ):
            for number, text in numbered_lines(source):
                try:
                    record = deserialize_json(text)
                except json.JSONDecodeError as exc:
                    bad = not_json(number, text, exc, FIX_TAP)
                    on_bad_line(_in_file(bad, stream, path, input_line))
                    continue
                if not isinstance(record, dict):
                    problem = f"a JSON {json_kind(record)}, not a record object"
                    bad = not_a_message(number, text, "a record", problem, FIX_TAP)
                    on_bad_line(_in_file(bad, stream, path, input_line))
                    continue
                yield record
    except (OSError, EOFError) as exc:
        raise unreadable_batch(stream, path, input_line, exc) from None


def unreadable_batch(stream: str, path: str, input_line: int, exc: Exception) -> InputError:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return InputError(
        f"stream {stream!r}: the BATCH file {_local(path)} (input line {input_line}) cannot be "
        f"read: {reason}. The tap must write its batch files where the target can read them "
        "(the tap's batch_config storage root) and keep them until the target has read them; "
        "rerun the sync from the last STATE (nothing from this line on was written)"
    )


def _in_file(bad: BadLine, stream: str, path: str, input_line: int) -> BadLine:
    """A bad line of a BATCH file: the reject's line is the BATCH message's input line."""
    where = f"line {bad.number} of the BATCH file {_local(path)} (input line {input_line})"
    reason = bad.reason.replace(f"input line {bad.number}", where, 1)
    return BadLine(input_line, stream, reason, bad.record)


def _local(path: str) -> str:
    return path.removeprefix("file://")
