"""Several requests in flight over disjoint key windows, records still yielded in key order.

Latency bounds throughput (50 rows per request), so an integer key range is cut into contiguous
windows scanned by a thread pool. Each window fills its own bounded queue; the consumer drains
window after window in order, and only a bounded number of windows run ahead of it, so memory is
about ``lookahead x queue_size`` batches whatever the stream's size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

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
    windows: list[Window],
    scan_window: Callable[[Window], Iterator[T]],
    *,
    concurrency: int,
    queue_size: int = 4,
) -> Generator[T, None, None]:
    """Items of ``scan_window(w)`` for every window, in window order, scanned concurrently.

    A worker's error is raised here as soon as it happens, without waiting for the requests
    still in flight; closing this generator stops the workers (they notice at their next
    item) and waits for them.
    """
    stop = threading.Event()
    errors: list[BaseException] = []
    lock = threading.Lock()
    channels: list[_Channel[T]] = [_Channel(queue_size, stop) for _ in windows]

    def work(index: int) -> None:
        channel = channels[index]
        try:
            batch: list[T] = []
            for item in scan_window(windows[index]):
                batch.append(item)
                if len(batch) >= BATCH:
                    if not channel.put(batch):
                        return
                    batch = []
                if stop.is_set():
                    return
            if batch and not channel.put(batch):
                return
            channel.put(_Done())
        except BaseException as exc:
            with lock:
                errors.append(exc)
            stop.set()

    lookahead = 2 * concurrency
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="personyze-read")
    failed = False
    try:
        submitted = 0
        for index, channel in enumerate(channels):
            while submitted < min(len(windows), index + lookahead):
                pool.submit(work, submitted)
                submitted += 1
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
    finally:
        stop.set()
        # After a worker error the others may sit in a request: raise now, let them end alone.
        pool.shutdown(wait=not failed, cancel_futures=True)
