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

So a window costs its pages and no separate probe. The probe page starts where the window
[S, F] is read in whole pages (``probe_offset``): a page moves the scan on by 50 rows on a
unique key (offset 949: 19 pages), by the rows before its last value on another, as the
read's first page shows (49 on distinct values: offset 930).

A probe reaches only 1,000 rows past a known key, so a chain of one probe per round trip
would hand the workers one window per round trip: all 8 busy only after about 9 round trips.
While the read ramps up, a round sends several probe pages at once from one start
(``ramp_pages``, ``fan_offsets``) and cuts several small windows (``cut_fan``), about
1/concurrency of the rows cut so far each, growing each round until one window fills what a
probe reaches: every worker has a window from the second round trip on (20,000 users at 8 in
flight and 50 ms: 0.8, 2.0, 3.2, 4.3, 6.5 requests in flight in the first 100-ms steps
before, 2.4, 7.5, 8.5 after). On long groups of tied keys such probes land inside the groups
and cut nothing there; the engine stops fanning out at the first probe page of one value.

Toward the end of a read the probes land closer (``guided_pages``): a window holds about
1/concurrency of the rows not yet cut, down to one page at the very end, so that the workers
finish together instead of one paging the last thousand rows alone while the others wait.
(A floor of 8 pages, kept from an earlier plan, handed the last 3,200 users out as 8 windows
of 8 pages at once: 20,000 users at 8 in flight and 50 ms spent 2.86-2.95 s on requests
where 395 requests of 53.5 ms take 2.64 s at 8 in flight; without it past the ramp 2.71-2.79 s,
for the same 395 requests.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from connectors.api.query import Condition, Query, all_of, cond
from connectors.read.digest import row_digest
from connectors.read.keyset import Checkpoint, Item, Row, long_group_at_end
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


def page_advance(page: list[Row], key: str, page_size: int, *, unique: bool) -> int:
    """How many rows one page moves a scan on over keys like those of ``page`` (a full page):
    all of them on a unique key; otherwise the rows before its last value, since the next page
    starts again at that value (49 on distinct values, 48 on pairs). A page ending in a group
    of more than half a page says nothing of the others: one row less than a page then."""
    if unique:
        return page_size
    last = page[-1][key]
    trailing = next((i for i, row in enumerate(reversed(page)) if row[key] != last), len(page))
    return len(page) - trailing if trailing <= page_size // 2 else page_size - 1


def probe_offset(
    page_size: int, max_offset_plus_limit: int, *, advance: int, pages: int | None = None
) -> int:
    """Where a window's probe page starts, counted in rows from the window's start, so that
    the window [start, F] (F: the probe page's first key) is read in ``pages`` pages (default
    and most: as far as offset + limit allows) of ``advance`` rows each (``page_advance``).
    A window of exactly ``pages`` such moves ends with a short page, which says the window is
    done; one row more would cost a page of its own."""
    advance = max(1, min(advance, page_size))
    most = max(1, (max_offset_plus_limit - page_size + 1) // advance)
    return advance * (most if pages is None else max(1, min(pages, most))) - 1


# The fewest pages the engine asks of a window while the read ramps up (``ramp_pages``).
RAMP_LEAST_PAGES = 8


def guided_pages(remaining_rows: float, concurrency: int, page_size: int, *, least: int = 1) -> int:
    """How many pages the next window should hold so that the read ends with every worker
    busy: about 1/``concurrency`` of the rows not yet cut into windows (guided scheduling),
    never fewer than ``least``. Small windows cost next to no request more than long ones:
    a window's pages end where its probe page begins, and the probe page is a page of rows
    (20,000 users and 100,000 interactions took 395 and 1,028 requests with a floor of 8 pages
    and with none). Callers cap it at what one probe can reach."""
    return max(least, int(remaining_rows / concurrency / page_size) + 1)


def ramp_pages(
    rows_cut: int,
    concurrency: int,
    *,
    advance: int,
    page_size: int,
    max_offset_plus_limit: int,
    pages: int,
) -> list[int]:
    """The pages of each window the next probe round cuts, one probe per window, sent together
    from one start. A probe reaches only ``max_offset_plus_limit`` rows past the start, so one
    window per round would start the workers one round trip apart (all 8 busy after about 9
    round trips). While few rows are cut, the round cuts several windows of about
    1/``concurrency`` of the rows cut so far each (a window this small is done before the
    workers run out of windows, since the windows grow with every round), as many as one reach
    holds, at most ``concurrency``; past the ramp, one window of ``pages``."""
    advance = max(1, min(advance, page_size))
    size = max(1, -(-rows_cut // (concurrency * advance)))
    count = min(concurrency, max_offset_plus_limit // (size * advance + page_size))
    if count <= 1 or size >= pages:
        return [pages]
    # the windows share the whole reach
    size = max(size, (max_offset_plus_limit // count - page_size) // advance)
    return [min(size, pages)] * count


def fan_offsets(
    pages: list[int],
    *,
    advance: int,
    page_size: int,
    max_offset_plus_limit: int,
    unique: bool,
) -> list[int]:
    """Offsets from one start of the probe pages that cut consecutive windows of ``pages[i]``
    pages each (``probe_offset`` for the first; each next window starts where the page before
    it ends: past its last row on a unique key, at its last value otherwise). Windows past what
    a probe can reach are left out; the first is always there."""
    advance = max(1, min(advance, page_size))
    offsets: list[int] = []
    begin = 0
    for count in pages:
        offset = begin + advance * max(1, count) - 1
        if offsets and offset + page_size > max_offset_plus_limit:
            break
        offsets.append(offset)
        begin = offset + page_size - (0 if unique else 1)
    offsets[0] = min(offsets[0], probe_offset(page_size, max_offset_plus_limit, advance=advance))
    return offsets


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
    start: int,
    end: int,
    page: list[Row],
    *,
    key: str,
    unique: bool,
    page_size: int,
    long_groups: bool = False,
) -> tuple[list[Cut], int | None]:
    """The cuts a probe page from ``start`` makes of ``[start, end]``, and where the next
    probe starts (None: the range is covered). ``page`` may hold rows past ``end`` (the
    first probe goes out before the end is known); they are not part of the read. It may
    begin before ``start`` (a probe sent from an earlier start, ``cut_fan``) as long as some
    of its rows do not: only those count. With ``long_groups``, a page ending with what looks
    like the start of a long group (``connectors.read.keyset.long_group_at_end``) cuts that
    value as a group of its own, read by its equality read: a window from it would start with
    a page of that value alone."""
    full = len(page) == page_size
    rows = [r for r in page if start <= int(r[key]) <= end]
    if not rows:  # every row of [start, end] lies before the probe page
        return [(start, end)], None
    first, last = int(rows[0][key]), int(rows[-1][key])
    if not full or int(page[-1][key]) > end:
        # The page holds every row of [start, end] from its first one on.
        return _split(start, first, end, rows, key, unique), None
    if first == last and not unique:
        if len(rows) < len(page):
            # Its rows from ``start`` on are one value, the rest lies before ``start``: that
            # value's group may go on past the page; the window to it reads it whole.
            return [(start, first)], (first + 1 if first < end else None)
        # One value fills the page, so a page from it would hold nothing else: its group is
        # read at once by its equality read, beside the rows before it.
        group: list[Cut] = [(start, first - 1)] if first > start else []
        return [*group, Group(first)], (first + 1 if first < end else None)
    high = last if unique else last - 1
    inside = [r for r in rows if int(r[key]) <= high]
    cuts = _split(start, first, high, inside, key, unique)
    if long_groups and not unique and long_group_at_end(rows, key, len(inside), page_size):
        return [*cuts, Group(last)], (last + 1 if last < end else None)
    return cuts, (high + 1 if high < end else None)


def cut_fan(
    start: int,
    end: int,
    pages: list[list[Row]],
    *,
    key: str,
    unique: bool,
    page_size: int,
    long_groups: bool = False,
) -> tuple[list[Cut], int | None]:
    """The cuts of probe pages sent together from ``start`` at increasing offsets
    (``fan_offsets``), and where the next probe starts: each page cuts from where the one
    before left off (``cut_at``), with its rows from there on. A full page whose every row
    lies before that point (inside a group longer than the gap between two offsets) cuts
    nothing."""
    cuts: list[Cut] = []
    after: int | None = start
    for page in pages:
        if after is None:
            break
        if len(page) == page_size and int(page[-1][key]) < after:
            continue
        made, after = cut_at(
            after, end, page, key=key, unique=unique, page_size=page_size, long_groups=long_groups
        )
        cuts.extend(made)
    return cuts, after


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
