"""Which rows a stream already emitted at its bookmark, kept in state so the next sync skips them.

An incremental sync starts AT its bookmark (rows sharing the cursor value may still arrive), so
the rows read there before would come again; an append destination would store them twice,
and objects without a primary key cannot be de-duplicated downstream. The state therefore
keeps a digest of each row already emitted at the bookmark value (and, for objects whose recent
days keep changing, of each row in the lookback window): 16 hex characters of a hash of the
whole row, repeated for identical rows. The next sync skips a row whose digest it finds (once
per occurrence) and emits every other: a new row, a second copy of an identical row, a row that
changed. A state without digests (written before they existed) skips nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

import orjson

Row = dict[str, Any]
# 64 bits: the chance that a new row shares the digest of one of the (at most a few thousand)
# rows kept at a bookmark is below 1e-15.
DIGEST_BYTES = 8


def row_digest(row: Row) -> str:
    """A digest of the whole row as the API returned it, independent of column order."""
    try:
        text = orjson.dumps(row, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits, which orjson does not write
        text = json.dumps(row, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.blake2b(text, digest_size=DIGEST_BYTES).hexdigest()


class EmittedRows:
    """The digests a state lists: each one skips one row of the next sync."""

    def __init__(self, digests: Iterable[str] = ()) -> None:
        self._left: Counter[str] = Counter(digests)

    def __bool__(self) -> bool:
        return bool(self._left)

    def take(self, digest: str) -> bool:
        """True when a row of this digest was emitted before (using up one occurrence)."""
        if self._left[digest] > 0:
            self._left[digest] -= 1
            return True
        return False


def digests_of(state: dict[str, Any] | None, key: str) -> list[str]:
    """The digests a state keeps under ``key``; none for a state written before them."""
    value = (state or {}).get(key)
    if not isinstance(value, list):
        return []
    return [d for d in value if isinstance(d, str)]
