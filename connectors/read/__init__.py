"""The read engine: tie-safe keyset paging within the API's caps, optionally concurrent."""

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
