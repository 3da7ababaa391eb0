"""The read engine: every readable table object as a stream of rows and checkpoints.

Adapters (Airbyte source, Singer tap) call ``read_records`` with the start of a sync (from
``start_for``) and, for child objects, once per partition of ``partitions``. They turn rows into
records and ``Checkpoint`` values into state; nothing here knows about a framework.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from connectors.api.query import Condition, Query, all_of, cond
from connectors.read.keyset import (
    Bound,
    Checkpoint,
    Item,
    KeyValue,
    QueryClient,
    ScanPlan,
    scan,
)
from connectors.read.windows import AdaptiveWindows, Window, run_windows
from connectors.spec.loader import Specs, default_specs
from connectors.spec.models import ApiLimits, ObjectSpec

DAY = 86_400
# Windows per worker: enough that a dense stretch of keys does not leave the others idle.
# A window should hold a few pages: few enough that the windows ahead of the consumer finish
# rather than wait for it, enough that sparse stretches cost few requests.
WINDOW_PAGES = 4
# The density probe reads the key of this row (offset + 1 may not exceed 1000, api §4.7).
PROBE_ROWS = 1000


def read_records(
    client: QueryClient,
    spec: ObjectSpec,
    *,
    start: KeyValue | None = None,
    end: KeyValue | None = None,
    prefix: tuple[Condition, ...] = (),
    concurrency: int = 1,
    limits: ApiLimits | None = None,
) -> Generator[Item, None, None]:
    """Rows of ``spec`` with ``start <= key <= end`` (and ``prefix``), in key order, with a
    ``Checkpoint`` after each completed group or page.

    ``start`` is inclusive, so a resumed sync re-reads the rows at its bookmark and none before.
    With an integer key and no ``end`` the read fixes its end at the current maximum, so rows
    that arrive during the read go to the next sync. Rows whose key is NULL cannot be paged by
    key and are not read.
    """
    if spec.kind != "table" or not spec.readable or spec.read.key is None:
        raise ValueError(f"Personyze {spec.name} is not a readable table (kind {spec.kind!r})")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    limits = limits or default_specs().connection.limits
    key = spec.read.key
    integer = spec.column(key).type == "integer"
    slow_prefix = any(_slow(spec, c, limits) for c in prefix)
    plan = ScanPlan(
        object=spec.name,
        tie_breaker=spec.read.tie_breaker,
        page_size=limits.max_slow_rows,
        # An equality read is not slow unless the partition filter is.
        group_cap=limits.max_slow_rows if slow_prefix else limits.max_offset_plus_limit,
    )
    if integer:
        start = int(start) if start is not None else None
        end = int(end) if end is not None else None
    low = start
    if low is None or (integer and concurrency > 1):
        low = _edge(client, spec, prefix, key, start, descending=False)
    if low is None:
        return
    if end is None and integer:
        end = _edge(client, spec, prefix, key, low, descending=True)
        if end is None:
            return
    items: Iterator[Item]
    if integer and concurrency > 1 and isinstance(low, int) and isinstance(end, int):

        def scan_window(window: Window) -> Iterator[Item]:
            return scan(
                client,
                plan,
                prefix,
                key,
                Bound(window[0], inclusive=True),
                window[1],
                split_column=plan.tie_breaker,
            )

        windows = _adaptive_windows(client, spec, prefix, key, low, end, plan.page_size)
        if windows is None:  # too few rows to be worth a second request in flight
            items = scan(
                client,
                plan,
                prefix,
                key,
                Bound(low, inclusive=True),
                end,
                split_column=plan.tie_breaker,
            )
        else:
            items = run_windows(windows, scan_window, concurrency=concurrency)
    else:
        items = scan(
            client,
            plan,
            prefix,
            key,
            Bound(low, inclusive=True),
            end,
            split_column=plan.tie_breaker,
        )
    try:
        for item in items:
            # The API may send integers as numeric strings (api §2.3); state holds integers.
            if integer and isinstance(item, Checkpoint) and isinstance(item.value, str):
                item = Checkpoint(int(item.value))
            yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def start_for(
    spec: ObjectSpec,
    bookmark: KeyValue | None,
    start_date: int | None,
    lookback_days: int,
) -> KeyValue | None:
    """Where a sync of ``spec`` starts (inclusive): the bookmark, else ``start_date``.

    Objects whose recent rows keep changing (``read.lookback``) re-read ``lookback_days`` before
    the bookmark, aligned to 00:00 UTC; a ``start_date`` on them is aligned to its day so that
    day is read whole. ``start_date`` means nothing to an id key and is ignored there.
    """
    if bookmark is not None:
        if not spec.read.lookback or not isinstance(bookmark, int):
            return bookmark
        return _day_start(bookmark - lookback_days * DAY)
    if start_date is None or spec.read.key_kind == "id":
        return None
    return _day_start(start_date) if spec.read.lookback else start_date


def partitions(client: QueryClient, specs: Specs, spec: ObjectSpec) -> Iterator[Condition]:
    """One filter per parent row for a child object (``read.parent``), each parent once."""
    link = spec.read.parent
    if link is None:
        raise ValueError(f"Personyze {spec.name} has no parent object")
    seen: set[object] = set()
    for item in read_records(client, specs.object(link.object)):
        if isinstance(item, Checkpoint):
            continue
        value = item.get(link.parent_key)
        if value is None or value in seen:
            continue
        seen.add(value)
        yield cond(link.filter_column, "=", value)


def _adaptive_windows(
    client: QueryClient,
    spec: ObjectSpec,
    prefix: tuple[Condition, ...],
    key: str,
    low: int,
    end: int,
    page_size: int,
) -> AdaptiveWindows | None:
    """Windows sized from the key span of the first 1000 rows (one cheap request); None when
    the range holds fewer rows than that."""
    probe = Query(
        spec.name,
        where=all_of(*prefix, cond(key, ">=", low), cond(key, "<=", end)),
        column=key,
        order_by=(key,),
        offset=PROBE_ROWS - 1,
        limit=1,
    )
    answer = client.get(probe)
    if not isinstance(answer, list) or not answer:
        return None
    value = answer[0].get(key) if isinstance(answer[0], dict) else answer[0]
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        return None
    span = int(value) - low + 1
    target = WINDOW_PAGES * page_size
    return AdaptiveWindows(low, end, span * target // PROBE_ROWS, target)


def _edge(
    client: QueryClient,
    spec: ObjectSpec,
    prefix: tuple[Condition, ...],
    key: str,
    lower: KeyValue | None,
    *,
    descending: bool,
) -> KeyValue | None:
    """The smallest (or largest) key at or above ``lower``; None when there is no such row.

    Without ``lower`` the floor 0 (or "") stands in: some objects refuse a read without a
    where on the key, and it leaves out NULL keys, which keyset paging cannot reach anyway.
    """
    floor: KeyValue = lower if lower is not None else _floor(spec, key)
    query = Query(
        spec.name,
        where=all_of(*prefix, cond(key, ">=", floor)),
        column=key,
        order_by=() if descending else (key,),
        order_by_desc=(key,) if descending else (),
        offset=0,
        limit=1,
    )
    answer = client.get(query)
    if not isinstance(answer, list) or not answer:
        return None
    value = answer[0]
    if isinstance(value, dict):
        value = value.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if spec.column(key).type == "integer":
        return int(value)
    return value


def _floor(spec: ObjectSpec, key: str) -> KeyValue:
    return 0 if spec.column(key).type == "integer" else ""


def _slow(spec: ObjectSpec, c: Condition, limits: ApiLimits) -> bool:
    indexed = spec.has_column(c.column) and spec.column(c.column).indexed
    return c.op in limits.slow_operators or not indexed


def _day_start(value: int) -> int:
    return max(0, value - value % DAY)
