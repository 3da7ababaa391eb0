"""``skip_unchanged``: does a row's mapped content equal what Personyze holds?

The upsert strategies read the existing rows of each batch anyway (to tell created from updated
and to honour ``require``); a row whose every value equals the stored one is counted unchanged
and not written. Values compare as Personyze returns them: numbers and numeric text by their
text (7, 7.0 and "7" are equal; "7.50" and 7.5 are not), anything else exactly. When in doubt
(a field the read did not return, a column alias, a date in another format) the row counts as
changed and is written: skipping is only an optimisation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def is_unchanged(fields: Mapping[str, Any], rows: list[dict[str, Any]]) -> bool:
    """True when every row holds every field's value (no rows: nothing to compare, False)."""
    if not rows:
        return False
    return all(
        name in row and canonical(row[name]) == canonical(value)
        for row in rows
        for name, value in fields.items()
    )


def apply(fields: Mapping[str, Any], rows: list[dict[str, Any]]) -> None:
    """What the rows hold once ``fields`` were written (a later row of the batch with the same
    key compares with this)."""
    for row in rows:
        row.update(fields)
