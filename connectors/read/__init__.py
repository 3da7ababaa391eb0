"""Reading: every readable object as a stream of records and state.

Owns the read engine (``keyset``: tie-safe keyset paging within the API's caps; ``windows``:
several requests in flight over disjoint key windows; ``engine``: where a read starts and ends),
the streams both read adapters show (``streams``), one stream's sync with its state (``sync``)
and the tracker-backed ``recommendations`` stream. May import: ``connectors.api``,
``connectors.tracker``, ``connectors.settings``, ``connectors.spec``; never ``connectors.write``.
"""

from connectors.read.engine import partitions, read_records, start_for
from connectors.read.keyset import (
    Checkpoint,
    Item,
    KeyValue,
    NoProgress,
    QueryClient,
    Row,
    UnpageableGroup,
)
from connectors.read.windows import run_windows, split_windows

__all__ = [
    "Checkpoint",
    "Item",
    "KeyValue",
    "NoProgress",
    "QueryClient",
    "Row",
    "UnpageableGroup",
    "partitions",
    "read_records",
    "run_windows",
    "split_windows",
    "start_for",
]
