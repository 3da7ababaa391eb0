"""Sending planned calls: the gateway (live client or dry run), `do` batches, a thread pool.

A `do` batch stops at its first failing command and answers ``400 Command N: ...``; commands
before N were applied (api §9 U11). ``send_do`` settles those as accepted, the N-th as rejected
with the server's reason, and resends the rest. A batch whose answer was lost (``OutcomeUnknown``)
is resent only when its commands are idempotent; otherwise its outcome stays unknown for the
caller (the ledger) to reconcile. A single write Personyze can be asked about (a list by name, a
membership) is read back after a lost answer and resent only when absent (``send_checked``).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, TextIO, TypeVar

from connectors.api.client import PersonyzeClient
from connectors.api.errors import OutcomeUnknown, RequestError
from connectors.api.query import Query, build_path
from connectors.spec.loader import Specs
from connectors.write.plan import (
    MAX_DO_COMMANDS,
    MAX_IDEMPOTENT_DO_COMMANDS,
    Call,
    do_batches,
    failed_command,
)
from connectors.write.rehearsal import Rehearsal
from connectors.write.summary import RunSummary

T = TypeVar("T")
R = TypeVar("R")
Outcome = Literal["ok", "rejected", "unknown"]
Settle = Callable[[int, int, Outcome, str], None]
# Idempotent requests whose answer was lost are sent again, at most this many more times.
RESENDS = 3


class Gateway:
    """Every request of the write engine goes through here: counted per stream, and in a dry
    run printed; a dry run sends its reads and answers its writes itself (``Rehearsal``: as
    Personyze would, without sending them). A dry run without a client reads an empty
    account."""

    def __init__(
        self,
        client: PersonyzeClient | None,
        summary: RunSummary,
        *,
        dry_run: bool,
        plan_out: TextIO | None,
        specs: Specs,
    ) -> None:
        if client is None and not dry_run:
            raise ValueError("a write engine needs a client unless dry_run is set")
        self.client = client
        self.summary = summary
        self.dry = dry_run
        self.rehearsal = Rehearsal(client, specs) if dry_run else None
        self._out = plan_out
        self._print_lock = threading.Lock()

    def _record(self, stream: str, call: Call) -> None:
        self.summary.add(stream, "calls")
        if self.dry:
            with self._print_lock:
                out = self._out or sys.stderr
                out.write(call.render() + "\n")
                out.flush()

    def get(self, stream: str, query: Query) -> Any:
        self._record(stream, Call("GET", build_path(query)))
        if self.rehearsal is not None:
            return self.rehearsal.get(query)
        assert self.client is not None
        return self.client.get(query)

    def post(self, stream: str, path: str, body: Any) -> Any:
        self._record(stream, Call("POST", path, body))
        if self.rehearsal is not None:
            return self.rehearsal.post(path, body)
        assert self.client is not None
        return self.client.post(path, body)

    def put(self, stream: str, query: Query, body: dict[str, Any]) -> int:
        self._record(stream, Call("PUT", build_path(query), body))
        if self.rehearsal is not None:
            return self.rehearsal.put(query, body)
        assert self.client is not None
        return self.client.put(query, body)

    def delete(self, stream: str, query: Query) -> int:
        self._record(stream, Call("DELETE", build_path(query)))
        if self.rehearsal is not None:
            return self.rehearsal.delete(query)
        assert self.client is not None
        return self.client.delete(query)


def send_do(
    gw: Gateway,
    stream: str,
    commands: Sequence[list[Any]],
    settle: Settle,
    *,
    idempotent: bool,
    before_send: Callable[[int, int], None] | None = None,
    verifiable: bool = False,
) -> None:
    """Send ``commands`` in as few `do` requests as fit; ``settle(start, end, outcome, reason)``
    is called for every index range as soon as its outcome is known. ``verifiable``: the
    commands can be read back after a lost answer, so a large request loses nothing."""
    size = MAX_IDEMPOTENT_DO_COMMANDS if idempotent or verifiable else MAX_DO_COMMANDS
    for start, end in do_batches(commands, max_count=size):
        index, resends = start, 0
        while index < end:
            batch = list(commands[index:end])
            if before_send is not None:
                before_send(index, end)
            try:
                gw.post(stream, "do", batch)
            except RequestError as exc:
                failed = failed_command(exc.body)
                if failed is None or not 1 <= failed[0] <= len(batch):
                    settle(index, end, "rejected", str(exc))
                    index = end
                    continue
                number, reason = failed
                if number > 1:
                    settle(index, index + number - 1, "ok", "")
                settle(index + number - 1, index + number, "rejected", reason)
                index += number
                continue
            except OutcomeUnknown as exc:
                if idempotent and resends < RESENDS:
                    resends += 1
                    continue
                settle(index, end, "unknown", str(exc))
                index = end
                continue
            settle(index, end, "ok", "")
            index = end


def parallel(
    pool: ThreadPoolExecutor | None, work: Callable[[T], R], items: Iterable[T]
) -> list[R]:
    """``work`` over ``items`` on the pool (bounded concurrency), results in input order; the
    first exception of any item is raised after all finished."""
    listed = list(items)
    if pool is None or len(listed) <= 1:
        return [work(i) for i in listed]
    futures = [pool.submit(work, i) for i in listed]
    errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return [f.result() for f in futures]


def send_checked(call: Callable[[], T], applied: Callable[[], bool]) -> T | None:
    """A write Personyze can be asked about, sent so that it is applied once: after a lost
    answer ``applied()`` reads it back, and only when it is absent is the write sent again (at
    most ``RESENDS`` more times). Returns the answer, or None when the write was found applied
    after a lost answer; raises the last ``OutcomeUnknown`` when every answer was lost and the
    write is still absent (it was not applied: the caller rejects it, to be sent again)."""
    for attempt in range(RESENDS + 1):
        try:
            return call()
        except OutcomeUnknown:
            if applied():
                return None
            if attempt == RESENDS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
