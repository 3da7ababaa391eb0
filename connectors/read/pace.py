"""How many windows of a concurrent read fetch at once.

More requests in flight pay only while the read waits on the API. When the API answers fast,
the process itself is the bottleneck: the workers and the consumer (the framework turning rows
into messages) share one interpreter lock, and every thread more only switches more. Reading
100,000 interactions from a sandbox answering at once (2 cores), 8 windows at a time were
2-6% slower than 1 and 2 were the fastest; at 50 ms a round trip, 8 are 7 times as fast as 1.
So ``max_concurrency`` is the most a read uses, not what it starts with.

A read starts with ``FEWEST`` windows at once (all of them when the API is far:
``FAR_SECONDS``) and judges each span of ``SPAN_SECONDS`` by two
shares: of the time its consumer waited for rows, and of the time the process was idle (no
thread of it on a CPU). Both high: the rows are late because the answers are, so it goes
from n to n / (1 - share) windows (rows came at 1 - share of the rate the consumer takes
them; the smaller of the two shares, since fetching needs the idle CPU too); on a slow API
that is the most within a round trip. The consumer never waiting, or waiting little while the
process is busy: one window fewer, down to ``FEWEST``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

# A read starts with, and keeps at least, this many windows fetching at once: one to fetch
# while the consumer works, one more so that it need not wait when a window ends.
FEWEST = 2
# An API whose quickest answer so far took this long is far: the read waits on it whatever the
# process does, so a read starts with every window it may use (at 50 ms a round trip, the
# pace reached 8 only once the consumer ran: after the framework's import, when a head start
# held its read; users on a slow day 0.71 of the ceiling). A sandbox on the same machine
# answers in 2-10 ms, Personyze over the internet in tens to hundreds.
FAR_SECONDS = 0.02
# The shares are judged over spans at least this long.
SPAN_SECONDS = 0.03
# More windows when the consumer waited and the process was idle at least this share each.
LATE = 0.25
# One fewer when the consumer waited less than this share...
NEVER_WAITED = 0.02
# ... or less than ``LATE`` while the process was idle less than this share.
BUSY = 0.1


def is_far(client: object) -> bool:
    """Whether the quickest answer ``client`` got so far took ``FAR_SECONDS`` or more, for a
    client that measures its exchanges (``PersonyzeClient.stats``)."""
    fastest = getattr(getattr(client, "stats", None), "fastest", None)
    return isinstance(fastest, float) and FAR_SECONDS <= fastest < math.inf


class Pace:
    """How many windows fetch at once (``active``), between ``FEWEST`` and ``most``."""

    def __init__(
        self,
        most: int,
        *,
        far: bool = False,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        self.most = most
        self.fewest = self.active = min(most, FEWEST)
        if far:  # the API is far (``FAR_SECONDS``): all at once from the start
            self.active = most
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._since = clock()
        self._cpu = cpu_clock()
        self._waited = 0.0

    def waited(self, since: float) -> float:
        """The consumer waited for rows from ``since`` until now; returns now."""
        now = self._clock()
        self._waited += now - since
        self._judge(now)
        return now

    def took(self) -> None:
        """The consumer took rows that were ready."""
        self._judge(self._clock())

    def _judge(self, now: float) -> None:
        span = now - self._since
        if span < SPAN_SECONDS:
            return
        cpu = self._cpu_clock()
        waited = min(self._waited / span, 0.95)
        idle = min(max(0.0, 1 - (cpu - self._cpu) / span), 0.95)
        if waited >= LATE and idle >= LATE:
            grown = math.ceil(self.active / (1 - min(waited, idle)))
            self.active = min(self.most, max(self.active + 1, grown))
        elif waited < NEVER_WAITED or (waited < LATE and idle < BUSY):
            self.active = max(self.fewest, self.active - 1)
        self._since, self._cpu, self._waited = now, cpu, 0.0
