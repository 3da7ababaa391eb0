"""The write engine: records in, planned and sent per stream, every record settled.

``add`` shapes a record (or rejects it) and buffers it; every buffer is flushed (rows before
memberships before events, then in the order streams first received records) when one holds
``batch_size`` records or the oldest buffered record is older than ``max_batch_age_seconds``
(checked on add). ``flush`` returns once every record added before it was accepted by Personyze
or rejected, so adapters emit state only after it. ``finish`` flushes, runs the end-of-run work
(mirror removals) and returns the summary.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from connectors.api.client import PersonyzeClient
from connectors.spec.loader import Specs, default_specs
from connectors.write import delivery, events, members, rows
from connectors.write.context import Context, UserDirectory
from connectors.write.execute import Gateway
from connectors.write.ledger import Ledger
from connectors.write.options import WriteOptions
from connectors.write.readback import EventTally
from connectors.write.records import Item, Refused, key_column, key_text, shape, without_metadata
from connectors.write.rejects import RejectsFile
from connectors.write.summary import ErrorRateExceeded, RunSummary, StreamCounts
from connectors.write.targets import StreamTarget, WriteConfigError, resolve

Strategy = Callable[[Context, list[Item]], None]
STRATEGIES: dict[str, Strategy] = {
    "profile_commands": rows.profile_commands,
    "post_rows": rows.post_rows,
    "put_rows": rows.put_rows,
    "delete_rows": rows.delete_rows,
    "named_rows": rows.named_rows,
    "members_add": members.members_add,
    "members_remove": members.members_remove,
    "members_mirror": members.members_mirror,
    "events": events.events,
    "commands": events.commands,
}


class WriteEngine:
    def __init__(
        self,
        client: PersonyzeClient | None,
        targets: Mapping[str, StreamTarget],
        options: WriteOptions,
        specs: Specs | None = None,
    ) -> None:
        if client is None and not options.dry_run:
            raise WriteConfigError("a client is required unless dry_run is set")
        if options.batch_size < 1 or options.concurrency < 1:
            raise WriteConfigError("batch_size and concurrency must be at least 1")
        self.options = options
        self.specs = specs or default_specs()
        self._summary = RunSummary(dry_run=options.dry_run)
        self._gw = Gateway(
            client,
            self._summary,
            dry_run=options.dry_run,
            plan_out=options.plan_out,
            specs=self.specs,
        )
        # A dry run sees what earlier runs sent but marks nothing: its copy lives in memory.
        self._ledger = Ledger(options.ledger_path, read_only=options.dry_run)
        self._rejects = RejectsFile(options.rejects_path, log_records=options.log_rejected_records)
        self._pool = ThreadPoolExecutor(options.concurrency) if options.concurrency > 1 else None
        users = UserDirectory(self._gw, self._pool)
        # With a ledger file an event may be named twice (an earlier run's leftover, then its
        # record), and its identity must be the same in every run: "the n-th row like it".
        self._remembers = options.ledger_path is not None
        tally = EventTally(track=self._remembers)
        self._contexts: dict[str, Context] = {}
        for name, target in targets.items():
            spec, mode = resolve(target, self.specs)
            self._summary.streams[name] = StreamCounts(name, target.object, target.mode)
            self._contexts[name] = Context(
                stream=name,
                target=target,
                spec=spec,
                mode=mode,
                specs=self.specs,
                gw=self._gw,
                ledger=self._ledger,
                pool=self._pool,
                accept=self._accept,
                reject=self._reject,
                unknown=self._unknown,
                count=self._counter(name),
                report=self._reporter(name),
                report_unknown=self._reporter(name, unknown=True),
                users=users,
                tally=tally,
                skip_unchanged=options.skip_unchanged,
            )
        self._buffers: dict[str, list[Item]] = {name: [] for name in targets}
        # per stream: event ids seen, how often each event content occurred (with a ledger file)
        self._event_ids: dict[str, set[str]] = {name: set() for name in targets}
        self._occurrences: dict[str, Counter[bytes]] = {name: Counter() for name in targets}
        self._serial = 0
        self._settled: set[int] = set()
        self._oldest: float | None = None
        self._order: list[str] = []
        self._finished = False

    # -- public ---------------------------------------------------------------------------------

    def add(self, stream: str, record: Mapping[str, Any]) -> None:
        ctx = self._contexts.get(stream)
        if ctx is None:
            raise WriteConfigError(
                f"stream {stream!r}: no write target; configure it (setting 'object') or name "
                "the stream like a Personyze object"
            )
        self._summary.add(stream, "read")
        try:
            item = shape(ctx.target, ctx.spec, ctx.mode, record)
        except Refused as exc:
            self._write_reject(stream, _key_of(ctx, record), str(exc), without_metadata(record))
            self._summary.add(stream, "rejected")
            return
        if self._skip(ctx, item):
            return
        self._buffers[stream].append(item)
        now = time.monotonic()
        if self._oldest is None:
            self._oldest = now
        if stream not in self._order:
            self._order.append(stream)
        # Every buffer goes (see ``flush`` for the order).
        if (
            len(self._buffers[stream]) >= self.options.batch_size
            or now - self._oldest >= self.options.max_batch_age_seconds
        ):
            self.flush()

    def reject_input(
        self,
        stream: str,
        reason: str,
        record: Any = None,
        *,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        """Count and report input an adapter could not hand to ``add`` (a line that is not a
        record, a record its stream's SCHEMA refuses): read and rejected for ``stream``, toward
        max_error_rate. A stream without a write target gets a summary row of its own."""
        if stream not in self._summary.streams:
            self._summary.streams[stream] = StreamCounts(stream, "-", "-")
        ctx = self._contexts.get(stream)
        if key is None and ctx is not None and isinstance(record, Mapping):
            key = _key_of(ctx, record)
        self._summary.add(stream, "read")
        self._summary.add(stream, "rejected")
        self._rejects.write(stream, key, reason, record, line=line)

    def flush(self, stream: str | None = None) -> None:
        if stream is not None:
            names = [stream]
        else:
            # Rows that others name (profiles, catalog rows, lists) go before memberships, and
            # those before events, each in the order streams first received records: an
            # interaction never reaches Personyze before the product or profile it names,
            # whatever order a resumed input interleaves them in.
            seen = [*self._order, *(n for n in self._buffers if n not in self._order)]
            names = sorted(seen, key=lambda n: (_layer(self._contexts[n]), seen.index(n)))
        for name in names:
            items, self._buffers[name] = self._buffers[name], []
            if items:
                self._run(self._contexts[name], items)
        if all(not b for b in self._buffers.values()):
            self._oldest = None
        self._check_error_rate()

    def finish(self) -> RunSummary:
        if self._finished:
            return self._summary
        self.flush()
        for name, ctx in self._contexts.items():
            if ctx.mode.strategy == "members_mirror":
                members.finish_mirror(ctx, self._summary.streams[name].rejected)
            for note in [*ctx.state.pop("notes", []), *delivery.held_note(ctx)]:
                self._summary.note(name, note)
            unknown = self._summary.streams[name].unknown
            if unknown:
                self._summary.note(
                    name,
                    f"{unknown} event(s) of unknown outcome: the answer to their request was lost "
                    f"and {ctx.spec.name} cannot be read back, so they were not resent (at most "
                    "once: they may be missing); each is in the rejects file",
                )
        self._finished = True
        self.close()
        return self._summary

    def summary(self) -> RunSummary:
        return self._summary

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._ledger.close()
        self._rejects.close()

    # -- internals ------------------------------------------------------------------------------

    def _skip(self, ctx: Context, item: Item) -> bool:
        stream = ctx.stream
        if ctx.mode.event:
            # An event's identity: its event id, else "the n-th row with this content".
            if item.event_id is not None:
                if item.event_id in self._event_ids[stream]:
                    self._summary.add(stream, "skipped")  # delivered twice in this input
                    return True
                self._event_ids[stream].add(item.event_id)
                item.identity = "id:" + item.event_id
            elif self._remembers:
                seen = self._occurrences[stream]
                seen[bytes.fromhex(item.hash[:32])] += 1
                item.identity = f"{item.hash}#{seen[bytes.fromhex(item.hash[:32])]}"
            else:  # nothing outlives the run: any identity unique in it will do
                self._serial += 1
                item.identity = f"{item.hash}#r{self._serial}"
        return False

    def _run(self, ctx: Context, items: list[Item]) -> None:
        STRATEGIES[ctx.mode.strategy](ctx, items)
        unsettled = [i for i in items if id(i) not in self._settled]
        for item in unsettled:  # a strategy must settle everything; never lose a record
            self._reject(item, "internal error: the write engine did not settle this record")
        for item in items:
            self._settled.discard(id(item))

    def _accept(self, item: Item, how: str | None) -> None:
        self._settled.add(id(item))
        if how is not None:
            self._summary.add(item.stream, how)

    def _reject(self, item: Item, reason: str) -> None:
        self._settled.add(id(item))
        self._summary.add(item.stream, "rejected")
        self._write_reject(item.stream, item.key, reason, item.record)

    def _unknown(self, item: Item, reason: str) -> None:
        self._settled.add(id(item))
        self._summary.add(item.stream, "unknown")
        self._rejects.write(item.stream, item.key, reason, item.record, unknown=True)

    def _counter(self, stream: str) -> Callable[[str, int], None]:
        return lambda name, amount: self._summary.add(stream, name, amount)

    def _reporter(
        self, stream: str, *, unknown: bool = False
    ) -> Callable[[str | None, str, Any], None]:
        return lambda key, reason, record: self._rejects.write(
            stream, key, reason, record, unknown=unknown
        )

    def _write_reject(self, stream: str, key: str | None, reason: str, record: Any) -> None:
        self._rejects.write(stream, key, reason, record)

    def _check_error_rate(self) -> None:
        read = self._summary.total("read")
        if read < self.options.min_records_for_error_rate or read == 0:
            return
        if self._summary.error_rate > self.options.max_error_rate:
            raise ErrorRateExceeded(
                self._summary, self.options.max_error_rate, self._rejects.examples
            )


def _layer(ctx: Context) -> int:
    if ctx.mode.event:
        return 2
    return 1 if ctx.mode.strategy.startswith("members_") else 0


def _key_of(ctx: Context, record: Mapping[str, Any]) -> str | None:
    name = key_column(ctx.mode, ctx.target)
    if name is None:
        return None
    source = next((s for s, t in ctx.target.field_map.items() if t == name), name)
    value = record.get(source)
    try:
        return key_text(name, value)
    except Refused:  # the key as given, so that the reject names the record it refuses
        if value is None or isinstance(value, bool | dict | list) or not str(value).strip():
            return None
        return str(value).strip()[:200]
