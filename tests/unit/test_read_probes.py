"""How probe pages cut a key range into windows (connectors.read.probes): the windows cover the
range exactly once, and the rows a probe page yields are exactly the rows of their range."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from typing import Any

import pytest

from connectors.read import Checkpoint
from connectors.read.probes import Cut, Group, Preread, cut_at, preread_items, probe_offset

PAGE = 50


def chain(keys: list[int], low: int, end: int, *, unique: bool) -> list[Cut]:
    """The cuts of a whole read, each probe page answered from ``keys`` as the API would
    (the first one without the end, as the engine sends it before knowing the end)."""
    offset = probe_offset(PAGE, 1000, unique=unique)
    rows = [{"id": i, "k": k} for i, k in enumerate(sorted(keys))]
    cuts: list[Cut] = []
    start: int | None = low
    first = True
    while start is not None:
        after = [r for r in rows if r["k"] >= start and (first or r["k"] <= end)]
        page = after[offset : offset + PAGE]
        made, start = cut_at(start, end, page, key="k", unique=unique, page_size=PAGE)
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
def test_cuts_cover_the_range_once_and_prereads_hold_every_row_of_theirs(
    seed: int, unique: bool
) -> None:
    keys = list(range(0, 24_000, 3)) if unique else key_sets(seed)
    end = sorted(keys)[-30 * (seed + 1)]  # rows past the end are not read
    cuts = chain(keys, 0, end, unique=unique)
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
            assert keys.count(cut.value) >= PAGE  # a page from it would hold nothing else
    if unique:  # the probe pages are read, not thrown away: 49 rows of each 999
        assert sum(len(c.rows) for c in cuts if isinstance(c, Preread)) >= len(keys) // 25


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
