"""Rewrite the generated tables of docs/integrations/sources/personyze.md from the specs.

    python scripts/generate_source_docs.py           # rewrite the tables in place
    python scripts/generate_source_docs.py --check   # exit 1 when the committed page is stale

The prose of the page is written by hand; the configuration table and the streams table sit
between ``<!-- generated:NAME:start -->`` and ``<!-- generated:NAME:end -->`` markers and come
from the same specs the source reads at run time (``connectors.read.streams.discover``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, Path(__file__).resolve().parent):  # run as a plain script from a checkout
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from doc_tables import cell, main, replace_sections, settings_table  # noqa: E402

from connectors.read.selection import OPT_IN, writes_to_account  # noqa: E402
from connectors.read.streams import StreamDefinition, discover  # noqa: E402
from connectors.spec import Specs, default_specs  # noqa: E402

PAGE = ROOT / "docs" / "integrations" / "sources" / "personyze.md"


def first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.;:])(\s|$)", text.strip())
    return (match.group(1) if match else text).rstrip(".;:") + "."


def sync_modes(stream: StreamDefinition) -> str:
    if stream.incremental:
        return "Full refresh, Incremental"
    if stream.partition_field is not None:
        return f"Full refresh (resumable, per `{stream.partition_field}`)"
    return "Full refresh"


def streams_table(specs: Specs) -> str:
    lines = [
        "| Stream | Sync modes | Cursor | Primary key | Contents |",
        "|---|---|---|---|---|",
    ]
    for stream in discover(None, specs):
        cursor = f"`{stream.cursor_field}`" if stream.cursor_field else "—"
        key = ", ".join(f"`{k}`" for k in stream.primary_key) or "— (deduplicate by whole row)"
        contents = cell(first_sentence(stream.spec.description))
        if writes_to_account(stream.spec):
            contents = (
                f"**Writes to the account; offered only with `{OPT_IN[stream.spec.kind]}`** "
                f"(see below). {contents}"
            )
        lines.append(f"| `{stream.name}` | {sync_modes(stream)} | {cursor} | {key} | {contents} |")
    return "\n".join(lines)


def tables(specs: Specs) -> dict[str, str]:
    return {"settings": settings_table(specs, "read"), "streams": streams_table(specs)}


def render(page: str, specs: Specs | None = None) -> str:
    """``page`` with every generated section replaced by its current content."""
    return replace_sections(page, tables(specs or default_specs()), PAGE.name)


if __name__ == "__main__":
    sys.exit(main(None, PAGE, render, (__doc__ or "").splitlines()[0]))
