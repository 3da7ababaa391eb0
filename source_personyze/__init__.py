"""Airbyte source for Personyze: a thin adapter over the shared read engine (``connectors``)."""

from source_personyze.source import SourcePersonyze

__all__ = ["SourcePersonyze"]
