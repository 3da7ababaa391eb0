"""Where rejected records go: one strict-JSON line each in the rejects file, and one log line
each, so that a user who never sees the file (a container thrown away after the sync) still
sees every reject with its stream, key and reason.

The log line carries the record's columns only when the user asked for it
(``log_rejected_records``): records often hold personal data, and logs travel further than
files. The rejects file always holds the record, made strict JSON (NaN as the text ``"NaN"``,
text that is not valid Unicode with ``\\uXXXX`` escapes) so that the reason a record was
refused cannot also break the file that reports it.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from pathlib import Path
from typing import Any, TextIO

logger = logging.getLogger("connectors.write.rejects")

# Reasons kept for the message of a run stopped by max_error_rate.
EXAMPLES = 3
_EXAMPLE_CHARS = 300


class RejectsFile:
    """Appends ``{"stream", "key", "line", "reason", "record"}`` lines (``line``: the input
    line, when the reject is of a line that could not be read as a record); opened on the
    first reject. Logs every reject at WARNING ("Rejected: ..."), and every write of unknown
    outcome ("Outcome unknown: ...")."""

    def __init__(self, path: Path | None, *, log_records: bool = False) -> None:
        self.path = path
        self.log_records = log_records
        self.examples: list[str] = []
        self._lock = threading.Lock()
        self._file: TextIO | None = None

    def write(
        self,
        stream: str,
        key: str | None,
        reason: str,
        record: Any,
        *,
        line: int | None = None,
        unknown: bool = False,
    ) -> None:
        """``unknown``: not a reject but a write of unknown outcome (its answer was lost and it
        cannot be read back), logged as such; it goes to the file all the same, to be checked."""
        prefix = "Outcome unknown:" if unknown else "Rejected:"
        entry = json_safe({"stream": stream, "key": key, "line": line, "reason": reason})
        shown = describe(entry["stream"], entry["key"], entry["reason"])
        text = json.dumps(
            {**entry, "record": json_safe(record)},
            ensure_ascii=False,
            allow_nan=False,
            default=str,
        )
        if self.log_records:
            logger.warning("%s %s; record: %s", prefix, shown, _record_text(record))
        else:
            logger.warning("%s %s", prefix, shown)
        with self._lock:
            if not unknown and len(self.examples) < EXAMPLES:
                self.examples.append(shown[:_EXAMPLE_CHARS])
            if self.path is None:
                return
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(text + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def describe(stream: str, key: str | None, reason: str) -> str:
    """``stream 'users', key 'a@b.c': <reason>``, as logs and error messages show a reject."""
    where = f"stream {stream!r}" + (f", key {key!r}" if key is not None else "")
    return f"{where}: {reason}"


def json_safe(value: Any) -> Any:
    """``value`` with what strict JSON cannot hold made visible text: NaN and Infinity as
    ``"NaN"``/``"Infinity"``/``"-Infinity"``, lone surrogates (invalid UTF-8 read with
    ``surrogateescape``, or ``\\ud800`` escapes) as ``\\udXXX`` escapes."""
    if isinstance(value, str):
        if value.isascii():
            return value
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {json_safe(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _record_text(record: Any) -> str:
    return json.dumps(json_safe(record), ensure_ascii=False, allow_nan=False, default=str)
