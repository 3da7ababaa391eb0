"""Several requests in flight over disjoint key windows, records still yielded in key order.

Latency bounds throughput (50 rows per request), so an integer key range is cut into contiguous
windows scanned by a thread pool. Each window fills its own bounded queue; the consumer drains
window after window in order, and only a bounded number of windows run ahead of it, so memory is
about ``lookahead x queue_size`` batches whatever the stream's size.

Windows are cut lazily, in key order, by a ``WindowSource``: a fixed list, or a ``ProbeChain``
(``connectors.read.probes``: each window ends where a probe page about a thousand rows after its
start lands), so that every window holds about the same number of rows whatever the density
along the key. How many windows fetch at once, up to ``concurrency``, follows whether the
read waits on the API (``connectors.read.pace``).
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from connectors.read.pace import Pace

T = TypeVar("T")
W = TypeVar("W")
W_co = TypeVar("W_co", covariant=True)

Window = tuple[int, int]
# A worker hands items over in batches to keep queue traffic low.
BATCH = 50
_POLL_SECONDS = 0.05
# While windows are still being cut, the consumer waiting on one window looks for new ones this
# often: a window cut by a probe would otherwise wait for the next item of the window being
# drained, up to a round trip, before a worker gets it.
_CUT_POLL_SECONDS = 0.005
# A worker whose answer has arrived waits for the GIL while the consumer turns rows into
# messages, up to the switch interval each time (5 ms by default): at 8 in flight and 50 ms
# that made every request about 6 ms longer. Handing over sooner costs the consumer little.
SWITCH_INTERVAL = 0.0005


def split_windows(low: int, high: int, count: int) -> list[Window]:
    """``[low, high]`` cut into at most ``count`` contiguous, disjoint, inclusive windows of
    near-equal width (never more windows than integers)."""
    if high < low:
        return []
    width = high - low + 1
    count = max(1, min(count, width))
    base, extra = divmod(width, count)
    windows: list[Window] = []
    start = low
    for i in range(count):
        end = start + base + (1 if i < extra else 0) - 1
        windows.append((start, end))
        start = end + 1
    return windows


class _NotYet:
    """No window is ready yet (a probe is on its way)."""


NOT_YET = _NotYet()


class WindowSource(Protocol[W_co]):
    def take(self, wait: bool = True) -> W_co | _NotYet | None:
        """The next window in key order, None when the range is covered, or (without
        ``wait``) NOT_YET when the next one is not known yet."""


class FixedWindows(Generic[W]):
    def __init__(self, windows: list[W]) -> None:
        self._windows = iter(windows)

    def take(self, wait: bool = True) -> W | _NotYet | None:
        return next(self._windows, None)


class ProbeChain(Generic[W]):
    """Windows cut by a chain of probes, in key order: ``step(start)`` probes from ``start``
    and gives the windows it cut and where the next probe starts (None: the range is covered).

    Densities vary too much along a cursor (a flash sale puts 800 rows in one second) for
    windows cut by key width: a window ten times denser than the others keeps its worker
    paging alone while the rest wait behind it. Each probe starts where the one before ended,
    so they form a chain, sent by a thread of their own that stays up to ``ahead`` windows
    ahead of the workers; ``first`` are the windows of a first probe already sent.
    """

    def __init__(
        self,
        first: list[W],
        start: int | None,
        step: Callable[[int], tuple[list[W], int | None]],
        *,
        ahead: int = 16,
    ) -> None:
        self._cut: queue.Queue[W | BaseException | None] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._step = step
        self._thread = threading.Thread(
            target=self._run, args=(first, start), name="personyze-probe", daemon=True
        )
        self._thread.start()

    def _run(self, cuts: list[W], start: int | None) -> None:
        try:
            while True:
                for cut in cuts:
                    self._put(cut)
                if start is None or self._stop.is_set():
                    break
                cuts, start = self._step(start)
            self._put(None)
        except BaseException as exc:
            self._put(exc)

    def _put(self, item: W | BaseException | None) -> None:
        while not self._stop.is_set():
            try:
                self._cut.put(item, timeout=_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def take(self, wait: bool = True) -> W | _NotYet | None:
        try:
            item = self._cut.get() if wait else self._cut.get_nowait()
        except queue.Empty:
            return NOT_YET
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self, wait: bool = True) -> None:
        """Stop cutting windows; with ``wait``, return once the probes in flight are answered
        and the chain's thread has ended, so that a closed read leaves no request behind."""
        self._stop.set()
        if wait and self._thread is not threading.current_thread():
            self._thread.join()


@dataclass
class _Done:
    pass


class _Channel(Generic[T]):
    """One window's bounded queue plus the read-wide stop flag and first error."""

    def __init__(self, size: int, stop: threading.Event) -> None:
        self.queue: queue.Queue[list[T] | _Done] = queue.Queue(maxsize=size)
        self.stop = stop

    def put(self, message: list[T] | _Done) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(message, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False


def run_windows(
    windows: list[W] | WindowSource[W],
    scan_window: Callable[[W], Iterator[T]],
    *,
    concurrency: int,
    queue_size: int = 32,
    far: bool = False,
) -> Generator[T, None, None]:
    """Items of ``scan_window(w)`` for every window, in window order, scanned concurrently:
    at most ``concurrency`` windows at once, as many as pay (``connectors.read.pace``; all of
    them from the start when the API is ``far``).

    A worker's error is raised here as soon as it happens, without waiting for the requests
    still in flight; closing this generator stops the workers (they notice at their next
    item) and waits for them.
    """
    source: WindowSource[W] = FixedWindows[W](windows) if isinstance(windows, list) else windows
    stop = threading.Event()
    errors: list[BaseException] = []
    lock = threading.Lock()
    channels: list[_Channel[T]] = []
    pace = Pace(concurrency, far=far)
    finished = 0  # windows whose every item is in their channel

    def work(window: W, channel: _Channel[T]) -> None:
        nonlocal finished
        try:
            batch: list[T] = []
            for item in scan_window(window):
                batch.append(item)
                if len(batch) >= BATCH:
                    if not channel.put(batch):
                        return
                    batch = []
                if stop.is_set():
                    return
            if batch and not channel.put(batch):
                return
            # counted before the consumer can see the window done, so it can start the next
            with lock:
                finished += 1
            channel.put(_Done())
        except BaseException as exc:
            with lock:
                errors.append(exc)
            stop.set()

    lookahead = 4 * concurrency
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL))
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="personyze-read")
    failed = False
    exhausted = False
    index = 0

    def top_up() -> None:
        """Hand windows to the pool, up to ``lookahead`` ahead and ``pace.active`` still
        fetching; wait for one only when there is nothing else to drain."""
        nonlocal exhausted
        while (
            not exhausted
            and len(channels) < index + lookahead
            and len(channels) - finished < pace.active
        ):
            window = source.take(wait=len(channels) <= index)
            if window is NOT_YET:
                return
            if window is None:
                exhausted = True
                return
            assert not isinstance(window, _NotYet)
            channels.append(_Channel(queue_size, stop))
            pool.submit(work, window, channels[-1])

    try:
        while True:
            top_up()
            if index >= len(channels):
                break
            channel = channels[index]
            while True:
                if errors:
                    failed = True
                    raise errors[0]
                message: list[T] | _Done | None
                try:
                    message = channel.queue.get_nowait()
                except queue.Empty:  # the rows are late: the pace hears how long for
                    message, since = None, time.monotonic()
                    while message is None and not errors:
                        with contextlib.suppress(queue.Empty):
                            message = channel.queue.get(
                                timeout=_POLL_SECONDS if exhausted else _CUT_POLL_SECONDS
                            )
                        since = pace.waited(since)
                        if message is None:
                            top_up()
                    if message is None:
                        continue  # a worker failed: raised above
                if isinstance(message, _Done):
                    break
                yield from message
                pace.took()
                top_up()
            channels[index] = _Channel(0, stop)  # drained: let its memory go
            index += 1
    finally:
        stop.set()
        close = getattr(source, "close", None)
        if close is not None:
            close(wait=not failed)
        # After a worker error the others may sit in a request: raise now, let them end alone.
        pool.shutdown(wait=not failed, cancel_futures=True)
        sys.setswitchinterval(switch_interval)
