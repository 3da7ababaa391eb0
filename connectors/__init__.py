"""personyze-connectors core: specs, query grammar, HTTP client, read/write engines, sandbox."""

__version__ = "0.1.0"
