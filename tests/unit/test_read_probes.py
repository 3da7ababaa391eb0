"""How probe pages cut a key range into windows (connectors.read.probes): the windows cover the
range exactly once, and the rows a probe page yields are exactly the rows of their range."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from typing import Any

import pytest

from connectors.read import Checkpoint
from connectors.read.keyset import Bound, ScanPlan, scan
from connectors.read.probes import (
    Cut,
    Group,
    Preread,
    cut_at,
    cut_fan,
    fan_offsets,
    guided_pages,
    page_advance,
    preread_items,
    probe_offset,
    ramp_pages,
)
from tests.unit.test_read_windows import FakeApi

PAGE = 50


def chain(
    keys: list[int],
    low: int,
    end: int,
    *,
    unique: bool,
    pages: list[int] | None = None,
    long_groups: bool = False,
) -> list[Cut]:
    """The cuts of a whole read, each probe page answered from ``keys`` as the API would
    (the first one without the end, as the engine sends it before knowing the end); the n-th
    probe lands after ``pages[n]`` pages (cycled), or as far as one probe reaches."""
    rows = [{"id": i, "k": k} for i, k in enumerate(sorted(keys))]
    cuts: list[Cut] = []
    start: int | None = low
    first = True
    sizes = itertools.cycle(pages or [None])  # type: ignore[list-item]
    while start is not None:
        advance = PAGE if unique else PAGE - 1
        offset = probe_offset(PAGE, 1000, advance=advance, pages=next(sizes))
        after = [r for r in rows if r["k"] >= start and (first or r["k"] <= end)]
        page = after[offset : offset + PAGE]
        made, start = cut_at(
            start, end, page, key="k", unique=unique, page_size=PAGE, long_groups=long_groups
        )
        assert start is None or start > low
        cuts += made
        first = False
    return cuts


def fan_chain(
    keys: list[int],
    low: int,
    end: int,
    *,
    unique: bool,
    rounds: list[list[int]],
    long_groups: bool = False,
) -> list[Cut]:
    """Like ``chain``, each round sending several probe pages at once from one start, at the
    offsets of windows of ``rounds[n]`` pages (cycled)."""
    rows = [{"id": i, "k": k} for i, k in enumerate(sorted(keys))]
    cuts: list[Cut] = []
    start: int | None = low
    first = True
    sizes = itertools.cycle(rounds)
    while start is not None:
        advance = PAGE if unique else PAGE - 1
        offsets = fan_offsets(
            next(sizes), advance=advance, page_size=PAGE, max_offset_plus_limit=1000, unique=unique
        )
        assert all(at + PAGE <= 1000 for at in offsets)
        after = [r for r in rows if r["k"] >= start and (first or r["k"] <= end)]
        pages = [after[at : at + PAGE] for at in offsets]
        made, start = cut_fan(
            start, end, pages, key="k", unique=unique, page_size=PAGE, long_groups=long_groups
        )
        assert start is None or start > low
        cuts += made
        first = False
    return cuts


def bounds(cut: Cut) -> tuple[int, int]:
    if isinstance(cut, Preread):
        return cut.low, cut.high
    if isinstance(cut, Group):
        return cut.value, cut.value
    return cut


def assert_cover_once(cuts: list[Cut], keys: list[int], end: int, least_group: int = PAGE) -> None:
    """The cuts cover [0, end] once, in order; a preread holds every row of its range; a group
    read by its equality read fills more than a page (a burst at a probe page's end: 4 rows
    or more)."""
    spans = [bounds(c) for c in cuts]
    assert spans[0][0] == 0 and spans[-1][1] == end
    assert all(lo <= hi for lo, hi in spans)
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(spans))
    for cut in cuts:
        if isinstance(cut, Preread):
            assert Counter(r["k"] for r in cut.rows) == Counter(
                k for k in keys if cut.low <= k <= cut.high
            )
        if isinstance(cut, Group):
            assert keys.count(cut.value) >= least_group


def key_sets(seed: int) -> list[int]:
    rng = random.Random(seed)
    keys: list[int] = []
    value = 10
    while len(keys) < 8_000:
        value += rng.choice([0, 1, 1, 2, 5])
        size = rng.choice([1, 1, 2, 3, 49, 50, 51]) if rng.random() < 0.9 else rng.randrange(900)
        keys += [value] * size
    return keys


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("unique", [False, True])
@pytest.mark.parametrize("pages", [None, [19, 8, 1, 13, 30]], ids=["farthest", "guided"])
@pytest.mark.parametrize("long_groups", [False, True], ids=["pages", "bursts"])
def test_cuts_cover_the_range_once_and_prereads_hold_every_row_of_theirs(
    seed: int, unique: bool, pages: list[int] | None, long_groups: bool
) -> None:
    keys = list(range(0, 24_000, 3)) if unique else key_sets(seed)
    end = sorted(keys)[-30 * (seed + 1)]  # rows past the end are not read
    cuts = chain(keys, 0, end, unique=unique, pages=pages, long_groups=long_groups)
    assert_cover_once(cuts, keys, end, 4 if long_groups else PAGE)
    if unique and pages is None:  # the probe pages are read, not thrown away: 49 of each 999
        assert sum(len(c.rows) for c in cuts if isinstance(c, Preread)) >= len(keys) // 25


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("unique", [False, True])
@pytest.mark.parametrize(
    "rounds", [[[1] * 8], [[2, 1, 1], [3, 3], [1, 5, 1, 1]], [[9, 9], [19]]], ids=str
)
@pytest.mark.parametrize("long_groups", [False, True], ids=["pages", "bursts"])
def test_probes_sent_together_cut_the_range_once_whatever_the_ties(
    seed: int, unique: bool, rounds: list[list[int]], long_groups: bool
) -> None:
    """Probe pages sent at once from one start land inside each other's groups on tied keys
    (``key_sets``: groups of up to 900 rows): every row is still in exactly one cut."""
    keys = list(range(0, 24_000, 3)) if unique else key_sets(seed)
    end = sorted(keys)[-30 * (seed + 1)]
    cuts = fan_chain(keys, 0, end, unique=unique, rounds=rounds, long_groups=long_groups)
    assert_cover_once(cuts, keys, end, 4 if long_groups else PAGE)
    if unique:  # windows of whole pages, each probe page read as records
        windows = [c for c in cuts if isinstance(c, tuple)]
        held = [sum(1 for k in keys if lo <= k <= hi) for lo, hi in windows[:-1]]
        assert all(n % PAGE == 0 for n in held), held
        assert sum(len(c.rows) for c in cuts if isinstance(c, Preread)) >= len(keys) // 25


def test_the_ramp_cuts_windows_that_grow_with_the_rows_cut() -> None:
    def sizes(rows_cut: int, concurrency: int = 8) -> list[int]:
        return ramp_pages(
            rows_cut, concurrency, advance=49, page_size=PAGE, max_offset_plus_limit=1000, pages=19
        )

    first = sizes(50, 7)
    assert len(first) == 7 and all(s >= 1 for s in first)  # the end probe takes the 8th slot
    rounds = [first]
    cut = 50 + sum(s * 49 + PAGE for s in first)
    while len(rounds[-1]) > 1:
        rounds.append(sizes(cut))
        cut += sum(s * 49 + PAGE for s in rounds[-1])
    assert len(rounds) <= 6 and rounds[-1] == [19]
    assert [min(r) for r in rounds] == sorted(min(r) for r in rounds)
    assert [len(r) for r in rounds] == sorted((len(r) for r in rounds), reverse=True)
    assert sizes(100_000) == [19]
    assert (
        ramp_pages(50, 8, advance=49, page_size=PAGE, max_offset_plus_limit=1000, pages=8)[0] <= 8
    )  # never past the pages asked for at the end of a read


def test_probes_sent_together_reach_no_further_than_one_probe() -> None:
    for unique, advance in ((True, 50), (False, 49)):
        for sizes in ([1] * 8, [3] * 5, [5, 5, 5], [19], [30]):
            offsets = fan_offsets(
                sizes, advance=advance, page_size=PAGE, max_offset_plus_limit=1000, unique=unique
            )
            assert offsets[0] == probe_offset(PAGE, 1000, advance=advance, pages=sizes[0])
            assert offsets == sorted(offsets) and offsets[-1] + PAGE <= 1000
            gaps = [b - a for a, b in itertools.pairwise(offsets)]
            step = 0 if unique else 1
            assert gaps == [advance * n + PAGE - step - 1 for n in sizes[1 : len(offsets)]]


def test_a_unique_keys_window_is_exactly_19_full_pages() -> None:
    cuts = chain(list(range(5_000)), 0, 4_999, unique=True)
    windows = [c for c in cuts if isinstance(c, tuple)]
    assert all(hi - lo + 1 == 19 * PAGE for lo, hi in windows[:-1])


def test_a_preread_ends_with_a_checkpoint_on_its_rows_at_its_end() -> None:
    rows: list[dict[str, Any]] = [{"id": 1, "k": 5}, {"id": 2, "k": 7}, {"id": 3, "k": 7}]
    items = list(preread_items(Preread(4, 7, tuple(rows)), "k"))
    assert items[:3] == rows
    (point,) = items[3:]
    assert isinstance(point, Checkpoint) and point.value == 7 and len(point.digest) == 2


def test_a_probe_lands_after_whole_pages_and_within_reach() -> None:
    assert probe_offset(PAGE, 1000, advance=49) == 930  # 19 pages of 49, the last one short
    assert probe_offset(PAGE, 1000, advance=50) == 949
    assert probe_offset(PAGE, 1000, advance=48) == 911
    assert probe_offset(PAGE, 1000, advance=49, pages=8) == 391
    assert probe_offset(PAGE, 1000, advance=50, pages=8) == 399
    assert probe_offset(PAGE, 1000, advance=49, pages=40) == 930  # offset + limit <= 1000
    assert probe_offset(PAGE, 1000, advance=50, pages=40) == 949
    assert probe_offset(PAGE, 1000, advance=49, pages=0) == 48


def test_a_page_moves_on_by_the_rows_before_its_last_value() -> None:
    def page(keys: list[int]) -> list[dict[str, int]]:
        return [{"k": k} for k in keys]

    assert page_advance(page(list(range(50))), "k", PAGE, unique=True) == 50
    assert page_advance(page(list(range(50))), "k", PAGE, unique=False) == 49
    assert page_advance(page([k // 2 for k in range(50)]), "k", PAGE, unique=False) == 48
    assert page_advance(page([k // 2 for k in range(1, 51)]), "k", PAGE, unique=False) == 49
    # a page ending in a large group says nothing of the pages after it
    assert page_advance(page([*range(10), *[99] * 40]), "k", PAGE, unique=False) == 49


def test_windows_of_distinct_keys_are_read_in_whole_pages() -> None:
    """The scan of a window cut by a probe page at ``probe_offset`` takes ``pages`` requests:
    no page is spent on one last row."""
    keys = list(range(0, 30_000, 3))  # distinct, on a key that is not unique by spec
    rows = [{"id": i, "k": k} for i, k in enumerate(keys)]
    plan = ScanPlan("o", tie_breaker="id", page_size=PAGE, group_cap=1000)
    for pages in (8, 13, 19):
        offset = probe_offset(PAGE, 1000, advance=PAGE - 1, pages=pages)
        end = keys[offset]  # F: the first key of the probe page, the window's last
        client = FakeApi(rows)
        got = [i for i in scan(client, plan, (), "k", Bound(0, True), end) if isinstance(i, dict)]
        assert [r["k"] for r in got] == keys[: offset + 1]
        assert client.requests == pages


def test_guided_windows_shrink_with_the_rows_left_and_never_below_the_floor() -> None:
    # 8 workers: a window holds about an eighth of the rows not yet cut, in whole pages.
    assert guided_pages(80_000, 8, PAGE) > 19  # far from the end: as far as a probe reaches
    assert guided_pages(8 * 12 * PAGE, 8, PAGE) == 13
    assert guided_pages(8 * 10 * PAGE, 8, PAGE) == 11
    assert guided_pages(100, 8, PAGE) == 1  # at the very end, one page
    assert guided_pages(100, 8, PAGE, least=8) == 8  # the floor while the read ramps up
    sizes = [guided_pages(rows, 8, PAGE) for rows in range(60_000, 0, -500)]
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("burst", [4, 20, 25, 40])
def test_a_probe_page_ending_in_a_burst_cuts_it_as_a_group(burst: int) -> None:
    """A window from a burst's value would start with a page of that value alone: a probe page
    ending with the start of one (``long_group_at_end``) cuts it as a group, read by its
    equality read, and the next probe starts past it. Three rows at the end of sparse keys,
    or a value tied like the ones before it, are paged as usual."""
    page = [{"k": k} for k in range(100, 150 - burst)] + [{"k": 500}] * burst
    cuts, after = cut_at(100, 10_000, page, key="k", unique=False, page_size=PAGE, long_groups=True)
    assert cuts[-1] == Group(500) and after == 501
    assert bounds(cuts[0]) == (100, 100) and isinstance(cuts[1], Preread)
    assert [len(c.rows) for c in cuts if isinstance(c, Preread)] == [PAGE - burst - 1]
    paged, after = cut_at(100, 10_000, page, key="k", unique=False, page_size=PAGE)
    assert Group(500) not in paged and after == 500
    for calm in (
        [{"k": k} for k in range(100, 147)] + [{"k": 500}] * 3,
        [{"k": 100 + i // 5} for i in range(PAGE)],
    ):
        cuts, after = cut_at(
            100, 10_000, calm, key="k", unique=False, page_size=PAGE, long_groups=True
        )
        assert not any(isinstance(c, Group) for c in cuts) and after == calm[-1]["k"]
