"""Several requests in flight over disjoint key windows, records still yielded in key order.

Latency bounds throughput (50 rows per request), so an integer key range is cut into contiguous
windows scanned by a thread pool. Each window fills its own bounded queue; the consumer drains
window after window in order, and only a bounded number of windows run ahead of it, so memory is
about ``lookahead x queue_size`` batches whatever the stream's size.

Windows are cut lazily, in key order, by a ``WindowSource``: a fixed list, or ``AdaptiveWindows``
whose width follows the density the finished windows showed, so that every window holds a few
pages — small enough that the windows ahead of the consumer finish instead of waiting for it,
large enough that sparse stretches do not cost a request per empty window.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")

Window = tuple[int, int]
# A worker hands items over in batches to keep queue traffic low.
BATCH = 50
_POLL_SECONDS = 0.05


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


class WindowSource(Protocol):
    def take(self) -> Window | None:
        """The next window in key order, or None when the range is covered."""

    def observe(self, window: Window, rows: int) -> None:
        """A finished window held ``rows`` items."""


class FixedWindows:
    def __init__(self, windows: list[Window]) -> None:
        self._windows = iter(windows)

    def take(self) -> Window | None:
        return next(self._windows, None)

    def observe(self, window: Window, rows: int) -> None:
        pass


class AdaptiveWindows:
    """``[low, high]`` cut into windows of about ``target_rows`` rows each, the width adjusted
    (at most halved twice or doubled per step) from the row density of each finished window.

    ``first`` is the end of a first window whose size is known (from a probe). Once what is
    left of the range fits in ``workers`` windows, it is cut into ``workers`` equal ones, so
    that the last windows finish together instead of leaving workers idle at the end.
    """

    def __init__(
        self,
        low: int,
        high: int,
        width: int,
        target_rows: int,
        *,
        first: int | None = None,
        workers: int = 1,
    ) -> None:
        self._next = low
        self._high = high
        self._width = max(1, width)
        self._target = target_rows
        self._first = first
        self._workers = max(1, workers)
        self._tail: int | None = None
        self._lock = threading.Lock()

    def take(self) -> Window | None:
        with self._lock:
            if self._next > self._high:
                return None
            width = self._width
            if self._first is not None:
                width, self._first = self._first - self._next + 1, None
            else:
                left = self._high - self._next + 1
                if self._tail is None and left <= width * self._workers:
                    self._tail = max(1, -(-left // self._workers))
                if self._tail is not None:
                    width = min(width, self._tail)
            window = (self._next, min(self._high, self._next + max(1, width) - 1))
            self._next = window[1] + 1
            return window

    def observe(self, window: Window, rows: int) -> None:
        span = window[1] - window[0] + 1
        wanted = span * self._target // max(rows, 1)
        with self._lock:
            # Narrow fast, widen slowly: a window far denser than its width expects keeps a
            # worker (and the windows behind it) waiting, one that is too sparse costs a page.
            self._width = max(1, min(wanted, self._width * 2), self._width // 4)


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
    windows: list[Window] | WindowSource,
    scan_window: Callable[[Window], Iterator[T]],
    *,
    concurrency: int,
    queue_size: int = 32,
) -> Generator[T, None, None]:
    """Items of ``scan_window(w)`` for every window, in window order, scanned concurrently.

    A worker's error is raised here as soon as it happens, without waiting for the requests
    still in flight; closing this generator stops the workers (they notice at their next
    item) and waits for them.
    """
    source = FixedWindows(windows) if isinstance(windows, list) else windows
    stop = threading.Event()
    errors: list[BaseException] = []
    lock = threading.Lock()
    channels: list[_Channel[T]] = []

    def work(window: Window, channel: _Channel[T]) -> None:
        try:
            rows = 0
            batch: list[T] = []
            for item in scan_window(window):
                batch.append(item)
                rows += 1
                if len(batch) >= BATCH:
                    if not channel.put(batch):
                        return
                    batch = []
                if stop.is_set():
                    return
            if batch and not channel.put(batch):
                return
            source.observe(window, rows)
            channel.put(_Done())
        except BaseException as exc:
            with lock:
                errors.append(exc)
            stop.set()

    lookahead = 2 * concurrency
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="personyze-read")
    failed = False
    exhausted = False
    try:
        index = 0
        while True:
            while not exhausted and len(channels) < index + lookahead:
                window = source.take()
                if window is None:
                    exhausted = True
                    break
                channels.append(_Channel(queue_size, stop))
                pool.submit(work, window, channels[-1])
            if index >= len(channels):
                break
            channel = channels[index]
            while True:
                if errors:
                    failed = True
                    raise errors[0]
                try:
                    message = channel.queue.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    continue
                if isinstance(message, _Done):
                    break
                yield from message
            channels[index] = _Channel(0, stop)  # drained: let its memory go
            index += 1
    finally:
        stop.set()
        # After a worker error the others may sit in a request: raise now, let them end alone.
        pool.shutdown(wait=not failed, cancel_futures=True)
