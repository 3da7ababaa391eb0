"""Windows cut by probe pages whose rows are read, not thrown away.

A concurrent read cuts its integer key range into windows of about a thousand rows each, so
that every window holds the same work whatever the density along the key. A window starting at
S ends where a probe finds the rows about a thousand rows after S; the probe asks for a whole
page there (``limit OFFSET,50``: offset + limit may not exceed 1000, api §4.7), and the rows of
that page are records too. Of the probe page, keys F (first) to L (last):

- the window [S, F] is paged as usual (its pages complete F's group, which may start before
  the probe page);
- the rows with F < key < L are complete in the probe page (it is sorted and holds values on
  both sides of them): they are yielded from it as a window of their own, with no request;
- the next window starts at L, whose group may go on past the page.

When one value fills the probe page, its group holds more than a page: it is read by its
equality read (which the paging would send anyway) as a window of its own, so that probe page
is the only request spent beyond the pages.

So a window costs its pages and no separate probe. On a unique key the probe page starts one
row earlier, so that the window [S, F] is exactly 19 full pages and even L is complete.

Toward the end of a read the probes land closer (``guided_pages``): a window holds about
1/concurrency of the rows not yet cut, never under 8 pages, so that the workers finish
together instead of one paging the last thousand rows alone while the others wait (20,000
users at 8 in flight and 50 ms: the requests in flight averaged 0.80 of 8 before, 0.92 to 0.96
after, for 5 more requests).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from connectors.api.query import Condition, Query, all_of, cond
from connectors.read.digest import row_digest
from connectors.read.keyset import Checkpoint, Item, Row
from connectors.read.windows import Window


@dataclass(frozen=True)
class Preread:
    """Every row with ``low <= key <= high``, already read (by a probe page)."""

    low: int
    high: int
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Group:
    """Every row with key == ``value``, a group known to fill more than a page."""

    value: int


Cut = Window | Preread | Group


def probe_offset(
    page_size: int, max_offset_plus_limit: int, *, unique: bool, pages: int | None = None
) -> int:
    """Where a window's probe page starts, counted in rows from the window's start: after
    ``pages`` pages (default and most: as far as offset + limit allows)."""
    most = (max_offset_plus_limit - page_size) // page_size
    offset = page_size * (most if pages is None else max(1, min(pages, most)))
    return offset - 1 if unique else offset


def guided_pages(remaining_rows: float, concurrency: int, page_size: int, *, least: int = 8) -> int:
    """How many pages the next window should hold so that the read ends with every worker
    busy: about 1/``concurrency`` of the rows not yet cut into windows (guided scheduling),
    never fewer than ``least`` pages (each window costs one short page more than one long
    read). Callers cap it at what one probe can reach."""
    return max(least, int(remaining_rows / concurrency / page_size) + 1)


def probe_query(
    name: str,
    prefix: tuple[Condition, ...],
    key: str,
    start: int,
    end: int | None,
    *,
    offset: int,
    limit: int,
) -> Query:
    """The page of rows at ``offset`` after ``start`` (to ``end``) in key order."""
    conditions = [*prefix, cond(key, ">=", start)]
    if end is not None:
        conditions.append(cond(key, "<=", end))
    return Query(name, where=all_of(*conditions), order_by=(key,), offset=offset, limit=limit)


def cut_at(
    start: int, end: int, page: list[Row], *, key: str, unique: bool, page_size: int
) -> tuple[list[Cut], int | None]:
    """The cuts a probe page from ``start`` makes of ``[start, end]``, and where the next
    probe starts (None: the range is covered). ``page`` may hold rows past ``end`` (the
    first probe goes out before the end is known); they are not part of the read."""
    full = len(page) == page_size
    rows = [r for r in page if int(r[key]) <= end]
    if not rows:  # every row of [start, end] lies before the probe page
        return [(start, end)], None
    first, last = int(rows[0][key]), int(rows[-1][key])
    if not full or len(rows) < len(page):
        # The page holds every row of [start, end] from its first one on.
        return _split(start, first, end, rows, key, unique), None
    if first == last and not unique:
        # One value fills the page, so a page from it would hold nothing else: its group is
        # read at once by its equality read, beside the rows before it.
        group: list[Cut] = [(start, first - 1)] if first > start else []
        return [*group, Group(first)], (first + 1 if first < end else None)
    high = last if unique else last - 1
    inside = [r for r in rows if int(r[key]) <= high]
    cuts = _split(start, first, high, inside, key, unique)
    return cuts, (high + 1 if high < end else None)


def _split(start: int, first: int, high: int, rows: list[Row], key: str, unique: bool) -> list[Cut]:
    """[start, first] to page, then the rows above ``first`` up to ``high`` as read."""
    cuts: list[Cut] = [(start, first)]
    if high > first:
        after = tuple(r for r in rows if int(r[key]) > first)
        cuts.append(Preread(first + 1, high, after))
    return cuts


def preread_items(cut: Preread, key: str) -> Iterator[Item]:
    """The rows of ``cut``, then the checkpoint at its end."""
    yield from cut.rows
    at_end = [row_digest(r) for r in cut.rows if int(r[key]) == cut.high]
    yield Checkpoint(cut.high, tuple(sorted(at_end)))
