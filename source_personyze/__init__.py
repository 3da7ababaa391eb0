"""Airbyte source for Personyze: a thin adapter over the shared read engine (``connectors``).

``SourcePersonyze`` is imported on first use, so that ``source-personyze spec`` does not load
the Airbyte CDK (about a second of imports) to print a constant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from source_personyze.source import SourcePersonyze

__all__ = ["SourcePersonyze"]


def __getattr__(name: str) -> Any:
    if name == "SourcePersonyze":
        from source_personyze.source import SourcePersonyze

        return SourcePersonyze
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
