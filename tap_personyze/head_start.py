"""``tap-personyze``: the first stream's read starts while singer-sdk imports
(``connectors.read.head_start``).

The console script (``tap_personyze.run``) reads the run's files itself and starts the read of
the first stream the tap will sync; the stream takes it over in ``get_records``. It starts only
for a sync given one ``--config`` file and a ``--catalog`` file (and at most one ``--state``
file), as Meltano runs a tap, and only for a stream the state holds no bookmark of: a resumed
stream is small and reads as usual. Any file it cannot read, any setting it does not like: no
head start, and singer-sdk's own path reports the problem as usual.
"""

from __future__ import annotations

from typing import Any

from connectors.read import head_start as core
from connectors.read.head_start import HeadStart, drop, take
from connectors.settings.files import read_json_file
from connectors.spec import Specs

__all__ = ["HeadStart", "begin", "drop", "take"]

FLAGS = frozenset({"--config", "--catalog", "--state"})


def begin(args: list[str], specs: Specs) -> None:
    """Start the first stream of a sync with ``args``, if the files ask for a plain table
    read."""
    core.begin(lambda: _start(args, specs))


def _start(args: list[str], specs: Specs) -> HeadStart | None:
    files = _files(args)
    if files is None:
        return None
    config = read_json_file(files["--config"], "config", "")
    catalog = read_json_file(files["--catalog"], "catalog", "")
    state = read_json_file(files["--state"], "state", "") if "--state" in files else {}
    if not all(isinstance(value, dict) for value in (config, catalog, state)):
        return None
    selected = [entry["tap_stream_id"] for entry in catalog["streams"] if _selected(entry)]
    bookmarks = state.get("bookmarks", {})
    return core.start_first(
        specs, config, selected, lambda name: None if bookmarks.get(name) else {}
    )


def _files(args: list[str]) -> dict[str, str] | None:
    """``--config``, ``--catalog`` and ``--state`` of a sync, each once; None for anything
    else (discovery, ``--about``, settings from the environment, several config files)."""
    if len(args) % 2:
        return None
    files = dict(zip(args[::2], args[1::2], strict=True))
    if set(files) - FLAGS or len(files) != len(args) // 2 or files.get("--config") == "ENV":
        return None
    return files if {"--config", "--catalog"} <= set(files) else None


def _selected(entry: dict[str, Any]) -> bool:
    """Whether singer-sdk selects the stream of catalog ``entry`` (its root metadata)."""
    root = next(
        (m.get("metadata", {}) for m in entry.get("metadata", []) if m.get("breadcrumb") == []),
        None,
    )
    if root is None:
        return not entry.get("metadata")  # no metadata at all: selected
    if root.get("inclusion") == "unsupported":
        return False
    if root.get("inclusion") == "automatic":
        return True
    if root.get("selected") is not None:
        return bool(root["selected"])
    return bool(root.get("selected-by-default"))
