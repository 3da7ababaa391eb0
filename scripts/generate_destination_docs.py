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

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from a source checkout
    sys.path.insert(0, str(ROOT))

from connectors.settings_schema import scoped_settings  # noqa: E402
from connectors.spec import Specs, default_specs  # noqa: E402
from connectors.write import operations  # noqa: E402
from target_personyze.destination_catalog import sync_mode  # noqa: E402

PAGE = ROOT / "docs" / "integrations" / "destinations" / "personyze.md"


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def code(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) or "—"


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


def json_text(value: object) -> str:
    """A default as a user types it in JSON (``false``, ``60``, ``0.1``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value) if not isinstance(value, str) else value


def settings_table(specs: Specs) -> str:
    lines = ["| Setting | Required | Default | Description |", "|---|---|---|---|"]
    for s in scoped_settings(specs, "write"):
        default = "—" if s.default is None else f"`{json_text(s.default)}`"
        lines.append(
            f"| `{s.name}` ({cell(s.title)}) | {'yes' if s.required else 'no'} | {default} | "
            f"{cell(s.description)} |"
        )
    return "\n".join(lines)


def tables(specs: Specs) -> dict[str, str]:
    return {"settings": settings_table(specs), "operations": operations_table(specs)}


def render(page: str, specs: Specs | None = None) -> str:
    """``page`` with every generated section replaced by its current content."""
    for name, body in tables(specs or default_specs()).items():
        start, end = f"<!-- generated:{name}:start -->\n", f"<!-- generated:{name}:end -->"
        head, found, rest = page.partition(start)
        _, found_end, tail = rest.partition(end)
        if not (found and found_end):
            raise ValueError(f"{PAGE.name} has no generated:{name} markers")
        page = f"{head}{start}{body}\n{end}{tail}"
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    current = PAGE.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{PAGE.relative_to(ROOT)} is stale: run python {Path(__file__).name}")
            return 1
        return 0
    PAGE.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
