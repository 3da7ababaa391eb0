"""What a write run did, per stream, and the error that stops a run rejecting too much."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from connectors.api.errors import PersonyzeError

COUNTS = (
    "read",
    "calls",
    "created",
    "updated",
    "deleted",
    "appended",
    "unchanged",
    "skipped",
    "rejected",
    "unknown",
)


@dataclass
class StreamCounts:
    """``read``: records added; ``calls``: requests of the plan (a dry run sends its reads and
    prints its writes; it also reads what Personyze would answer them, not counted here);
    ``created``/``updated``/``deleted``: rows (profiles, catalog rows, lists, memberships)
    changed; ``appended``: events sent; ``unchanged``: nothing to change (the same values already
    stored, already a member, not a member, nothing to delete); ``skipped``: events not sent
    because Personyze already holds them (read back), an earlier run's ledger shows them sent, or
    the input gave the same event id twice; ``rejected``: records in the rejects file;
    ``unknown``: events whose answer was lost and that cannot be read back, reported, not
    resent."""

    stream: str
    object: str
    mode: str
    read: int = 0
    calls: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    appended: int = 0
    unchanged: int = 0
    skipped: int = 0
    rejected: int = 0
    unknown: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class RunSummary:
    streams: dict[str, StreamCounts] = field(default_factory=dict)
    dry_run: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, stream: str, name: str, amount: int = 1) -> None:
        with self._lock:
            counts = self.streams[stream]
            setattr(counts, name, getattr(counts, name) + amount)

    def note(self, stream: str, text: str) -> None:
        with self._lock:
            self.streams[stream].notes.append(text)

    def total(self, name: str) -> int:
        return sum(int(getattr(c, name)) for c in self.streams.values())

    @property
    def error_rate(self) -> float:
        read = self.total("read")
        return self.total("rejected") / read if read else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "streams": {name: asdict(c) for name, c in self.streams.items()},
            "totals": {name: self.total(name) for name in COUNTS},
        }

    def render(self) -> str:
        header = ("stream", "object", "mode", *COUNTS)
        rows = [header] + [
            (c.stream, c.object, c.mode, *(str(getattr(c, n)) for n in COUNTS))
            for c in self.streams.values()
        ]
        rows.append(("total", "", "", *(str(self.total(n)) for n in COUNTS)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [
            "  ".join(
                v.ljust(w) if i < 3 else v.rjust(w)
                for i, (v, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in rows
        ]
        title = "Personyze write summary" + (
            " (dry run: read only, nothing written)" if self.dry_run else ""
        )
        notes = [f"{c.stream}: {n}" for c in self.streams.values() for n in c.notes]
        return "\n".join([title, *lines, *notes])


class ErrorRateExceeded(PersonyzeError):
    """More records were rejected than ``max_error_rate`` allows; ``.summary`` says where."""

    user_fixable = True

    def __init__(self, summary: RunSummary, limit: float, examples: Sequence[str] = ()) -> None:
        where = ", ".join(
            f"{c.stream}: {c.rejected} of {c.read}" for c in summary.streams.values() if c.rejected
        )
        why = f" First rejects: {'; '.join(examples)}." if examples else ""
        super().__init__(
            f"Personyze write stopped: {summary.total('rejected')} of {summary.total('read')} "
            f"records rejected ({summary.error_rate:.1%}), over max_error_rate {limit:.1%} "
            f"({where}).{why} Every reject is logged with its stream, key and reason, and "
            "written to the rejects file; fix the input or the stream configuration, or raise "
            "max_error_rate",
            operation="write",
        )
        self.summary = summary
