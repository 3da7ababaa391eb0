"""The rejected-records file: one JSON line per record Personyze or validation refused."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, TextIO


class RejectsFile:
    """Appends ``{"stream", "key", "reason", "record"}`` lines; opened on the first reject."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file: TextIO | None = None

    def write(self, stream: str, key: str | None, reason: str, record: Any) -> None:
        line = json.dumps(
            {"stream": stream, "key": key, "reason": reason, "record": record},
            ensure_ascii=False,
            default=str,
        )
        with self._lock:
            if self.path is None:
                return
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
