"""A first-come, first-served limit on requests in flight.

``threading.Semaphore`` lets a thread that releases a slot take it straight back before the
thread it woke runs, so a probe waiting behind busy read windows could wait for many of their
requests. Here a released slot goes to the longest waiter, and a new request queues behind the
waiters already there.
"""

from __future__ import annotations

import threading
from collections import deque
from types import TracebackType


class Slots:
    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError("at least one slot")
        self._lock = threading.Lock()
        self._free = count
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        try:
            turn.acquire()  # released by the release() that hands this thread its slot
        except BaseException:  # interrupted while waiting: give up the turn or the slot
            with self._lock:
                if turn in self._waiters:
                    self._waiters.remove(turn)
                    raise
            self.release()
            raise

    @property
    def waiting(self) -> int:
        """Threads waiting for a slot."""
        with self._lock:
            return len(self._waiters)

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()  # the slot passes on without being freed
            else:
                self._free += 1

    def __enter__(self) -> Slots:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
