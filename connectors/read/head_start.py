"""A stream's read started before its framework is imported, taken over by the stream.

An adapter's console script spends 0.15-0.3 s importing its framework (the Airbyte CDK,
singer-sdk) before it reads anything, while the core it reads with is ready earlier. So the
entry point reads the run's files itself (with the core only), starts the read of the first
stream the framework will read (``start_first``), and imports the framework while that read's
first requests are in flight; the stream takes the read over (``take``) when the framework asks
it for records, and carries on with the same generator from where the head start stopped.

A head start is only ever a read of a plain table object (``reads_one_table``: never a stream
that writes to the account, nor a child object's partitions), and a stream takes it over only
if it would have started exactly that read itself: same stream, same state value, same
settings (and thus the same start, lookback and concurrency). Anything else (another first
stream, a state read differently, a file the framework refuses, an error) drops the head
start: its generator is closed and its client with it, and the stream reads as it always
does; a read never writes, so the only cost of a dropped head start is its requests.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from connectors.api.client import PersonyzeClient
from connectors.read.pace import is_far
from connectors.read.selection import check_selection, in_read_order, offered
from connectors.read.streams import StreamDefinition, discover
from connectors.read.sync import ReadOptions, StateUpdate, read_stream, reads_one_table
from connectors.settings import ConnectionSettings
from connectors.spec import Specs

Item = dict[str, Any] | StateUpdate
# Items read ahead of the take-over when the API is far (``connectors.read.pace.is_far``:
# the read waits on it, not on the interpreter lock); when it is near, the read holds after its
# first item. A head start is there to get the read going while the framework imports: with
# 5,000 items waiting on a sandbox answering at once, the tap read 100,000 interactions 5.6%
# slower than without a head start (the import and the read share one interpreter lock), with
# 1 item 2.3% slower; at 50 ms a request, holding after one item left the read to the windows
# already handed out, a round or two of small ones, for the whole import (0.5-1.2 s).
AHEAD = 5_000
_NOTHING = object()
_POLL_SECONDS = 0.05
# How long the end of a run waits for a dropped head start to close its read.
DROP_WAIT = 5.0


class HeadStart:
    """One stream's read, run by a thread of its own until a stream takes it over."""

    def __init__(
        self,
        name: str,
        state: Mapping[str, Any],
        settings: ConnectionSettings,
        client: PersonyzeClient,
        items: Iterator[Item],
    ) -> None:
        self.name = name
        self.state = dict(state)
        self.settings = settings
        self.client = client
        self._items = items
        self._waiting: queue.Queue[Item] = queue.Queue(maxsize=AHEAD)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._dropped = False
        self._exited = False
        self._held: Any = _NOTHING  # an item taken from the read when the stop came
        self._error: BaseException | None = None
        self._finished = False
        self._thread = threading.Thread(target=self._run, name="personyze-head-start", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    self._held = item
                    return
                if not is_far(self.client):
                    self._stop.wait()  # near: hold the read after its first item
                if self._stop.is_set():
                    return
            self._finished = True
        except BaseException as exc:  # raised where the stream reads it, as without the head start
            self._error = exc
            self._finished = True
        finally:
            with self._lock:
                self._exited = True
                dropped = self._dropped
            if dropped:
                self._close()

    def _put(self, item: Item) -> bool:
        """Queue ``item``; False when the stream took the read over first."""
        while not self._stop.is_set():
            try:
                self._waiting.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def take(self) -> Iterator[Item]:
        """The read's items from its first on: those read so far, then the rest."""
        self._stop.set()
        self._thread.join()  # after the item it waits for: the read is then this thread's
        while True:
            try:
                yield self._waiting.get_nowait()
            except queue.Empty:
                break
        if self._held is not _NOTHING:
            held, self._held = self._held, _NOTHING
            yield held
        if self._error is not None:
            raise self._error
        if not self._finished:
            yield from self._items

    def drop(self) -> None:
        """Stop the read and close it (its windows and requests) and its client. A thread
        waiting for an answer closes them itself when it comes; the run waits for that only
        up to ``DROP_WAIT`` seconds."""
        with self._lock:
            self._dropped = True
            exited = self._exited
        self._stop.set()
        if exited:
            self._close()
        else:
            self._thread.join(DROP_WAIT)

    def _close(self) -> None:
        try:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()
        finally:
            self.client.close()


_current: HeadStart | None = None
_lock = threading.Lock()


def begin(start: Callable[[], HeadStart | None]) -> None:
    """Hold the head start ``start`` makes, if any; its errors are dropped (the framework's
    own path reads the same files and reports what is wrong)."""
    global _current
    try:
        started = start()
    except Exception:
        return
    with _lock:
        _current = started


def take(
    name: str, state: Mapping[str, Any] | None, settings: ConnectionSettings
) -> HeadStart | None:
    """The head start, if it is the read the stream ``name`` would start now; any other call
    drops it (the first stream read is not the one started, or not with this state)."""
    global _current
    with _lock:
        started, _current = _current, None
    if started is None:
        return None
    if started.name == name and started.state == dict(state or {}) and started.settings == settings:
        return started
    started.drop()
    return None


def drop() -> None:
    """At the end of the run: drop a head start no stream took over."""
    global _current
    with _lock:
        started, _current = _current, None
    if started is not None:
        started.drop()


def start_first(
    specs: Specs,
    config: Mapping[str, Any],
    selected: list[str],
    state_of: Callable[[str], Mapping[str, Any] | None],
) -> HeadStart | None:
    """The read of the first of the ``selected`` streams an adapter reads (``in_read_order``),
    with the settings of ``config``, from ``state_of(name)``, started; None when nothing is
    selected, ``state_of`` gives None (a state the adapter does not start ahead), or the
    stream is not a plain table read offered with these settings. A selection the adapters
    refuse raises, as the settings do (``begin`` drops the error)."""
    settings = ConnectionSettings.from_config(config, side="read")
    check_selection(selected, specs.readable(), settings)
    if not selected:
        return None
    name = in_read_order(selected, specs.object)[0]
    state = state_of(name)
    definitions = {d.name: d for d in offered(discover(None, specs), settings)}
    definition: StreamDefinition | None = definitions.get(name)
    if state is None or definition is None or not reads_one_table(definition.spec):
        return None
    client = PersonyzeClient(settings)
    try:
        items = read_stream(client, specs, definition, state, ReadOptions.from_settings(settings))
        return HeadStart(name, state, settings, client, items)
    except BaseException:
        client.close()
        raise
