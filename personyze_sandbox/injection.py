"""What the sandbox adds to a request on demand: faults decided by a seeded generator (500, 503,
a dropped connection, a slow answer, and on request a lost answer), and a log line per request
for benchmarks."""

from __future__ import annotations

import random
import threading
from pathlib import Path

FAULTS = ("500", "503", "drop", "slow")
# Opt-in (--fault-kinds): the request is applied, then the connection drops before the answer,
# the case where a client that resends blindly duplicates an event. Not a default kind, so a
# seed keeps the sequence it always had.
LOST = "lost"
FAULT_KINDS = (*FAULTS, LOST)


class RequestLog:
    """One line per request (method, path, outcome), for benchmarks and debugging. The path
    carries no credentials: the key only ever travels in the Authorization header."""

    def __init__(self, path: Path | None) -> None:
        self._file = path.open("a", encoding="utf-8", buffering=1) if path else None
        self._lock = threading.Lock()

    def write(self, method: str, path: str, outcome: str) -> None:
        if self._file is None:
            return
        with self._lock:
            self._file.write(f"{method} {path} {outcome}\n")


class FaultPlan:
    """Which requests fail, decided by a seeded generator so a run can be reproduced."""

    def __init__(self, rate: float, seed: int, kinds: tuple[str, ...] = FAULTS) -> None:
        self.rate = rate
        self.kinds = kinds
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def next(self) -> str | None:
        if self.rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(self.kinds)
