"""The write engine (reverse ETL): warehouse rows into Personyze.

Adapters (the Singer target, the Airbyte destination) build targets with ``parse_targets``,
feed records to a ``WriteEngine`` and emit state only after ``flush``. What each object allows
(modes, match keys) and how each (object, mode) is carried out is data in the specs
(``write.modes``); ``operations`` lists it.

May import: ``connectors.api``, ``connectors.settings``, ``connectors.spec``; never
``connectors.read`` or ``connectors.tracker``.
"""

from connectors.write.engine import WriteEngine
from connectors.write.options import WriteOptions
from connectors.write.records import MAX_VALUE_CHARS
from connectors.write.summary import ErrorRateExceeded, RunSummary, StreamCounts
from connectors.write.targets import (
    Operation,
    StreamTarget,
    WriteConfigError,
    operations,
    parse_targets,
)

__all__ = [
    "MAX_VALUE_CHARS",
    "ErrorRateExceeded",
    "Operation",
    "RunSummary",
    "StreamCounts",
    "StreamTarget",
    "WriteConfigError",
    "WriteEngine",
    "WriteOptions",
    "operations",
    "parse_targets",
]
