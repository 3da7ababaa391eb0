"""What the docs generators share: Markdown table cells, the settings table of one side (read
or write) of specs/connection.json, the replacement of ``<!-- generated:NAME:start -->`` ...
``<!-- generated:NAME:end -->`` sections, and the ``--check`` command line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from pathlib import Path

from connectors.settings.schema import Scope, scoped_settings
from connectors.spec import Specs


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def code(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) or "—"


def json_text(value: object) -> str:
    """A default as a user types it in JSON (``false``, ``60``, ``0.1``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value) if not isinstance(value, str) else value


def settings_table(specs: Specs, scope: Scope) -> str:
    lines = ["| Setting | Required | Default | Description |", "|---|---|---|---|"]
    for s in scoped_settings(specs, scope):
        default = "—" if s.default is None else f"`{json_text(s.default)}`"
        lines.append(
            f"| `{s.name}` ({cell(s.title)}) | {'yes' if s.required else 'no'} | {default} | "
            f"{cell(s.description)} |"
        )
    return "\n".join(lines)


def replace_sections(page: str, tables: Mapping[str, str], page_name: str) -> str:
    """``page`` with every generated section replaced by its current content."""
    for name, body in tables.items():
        start, end = f"<!-- generated:{name}:start -->\n", f"<!-- generated:{name}:end -->"
        head, found, rest = page.partition(start)
        _, found_end, tail = rest.partition(end)
        if not (found and found_end):
            raise ValueError(f"{page_name} has no generated:{name} markers")
        page = f"{head}{start}{body}\n{end}{tail}"
    return page


def main(argv: list[str] | None, page: Path, render: Callable[[str], str], description: str) -> int:
    """Rewrite ``page`` in place, or with ``--check`` exit 1 when the committed page is stale."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    current = page.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{page} is stale: run the script without --check")
            return 1
        return 0
    page.write_text(fresh, encoding="utf-8")
    return 0
