"""Rewrite the generated tables of docs/integrations/destinations/personyze.md from the specs.

    python scripts/generate_destination_docs.py           # rewrite the tables in place
    python scripts/generate_destination_docs.py --check   # exit 1 when the committed page is stale

The prose of the page is written by hand; the configuration table and the objects-and-modes table
sit between ``<!-- generated:NAME:start -->`` and ``<!-- generated:NAME:end -->`` markers and come
from what the destination itself reads at run time: the write settings of
``specs/connection.json`` and the write engine's ``operations()`` with the Airbyte sync mode each
is offered under in the DESTINATION_CATALOG.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, Path(__file__).resolve().parent):  # run as a plain script from a checkout
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from doc_tables import cell, code, main, replace_sections, settings_table  # noqa: E402

from connectors.spec import Specs, default_specs  # noqa: E402
from connectors.write import operations  # noqa: E402
from target_personyze.destination_catalog import sync_mode  # noqa: E402

PAGE = ROOT / "docs" / "integrations" / "destinations" / "personyze.md"


def operations_table(specs: Specs) -> str:
    lines = [
        "| Object | Mode | Airbyte sync mode | Matching keys (default first) | Required columns "
        "| Event | What it does |",
        "|---|---|---|---|---|---|---|",
    ]
    for op in operations(specs):
        keys = code(op.match_keys)
        if op.unreliable_match_keys:
            keys += f" (unreliable on live accounts: {code(op.unreliable_match_keys)})"
        mode = f"`{op.mode}`" + (" (default)" if op.default else "")
        lines.append(
            f"| `{op.object}` | {mode} | `{sync_mode(op).value}` | {keys} | "
            f"{code(op.required_fields)} | {'yes' if op.event else 'no'} | "
            f"{cell(op.description)} |"
        )
    return "\n".join(lines)


def tables(specs: Specs) -> dict[str, str]:
    return {"settings": settings_table(specs, "write"), "operations": operations_table(specs)}


def render(page: str, specs: Specs | None = None) -> str:
    """``page`` with every generated section replaced by its current content."""
    return replace_sections(page, tables(specs or default_specs()), PAGE.name)


if __name__ == "__main__":
    sys.exit(main(None, PAGE, render, (__doc__ or "").splitlines()[0]))
