"""Rewrite the generated tables of docs/integrations/sources/personyze.md from the specs.

    python scripts/generate_source_docs.py           # rewrite the tables in place
    python scripts/generate_source_docs.py --check   # exit 1 when the committed page is stale

The prose of the page is written by hand; the configuration table and the streams table sit
between ``<!-- generated:NAME:start -->`` and ``<!-- generated:NAME:end -->`` markers and come
from the same specs the source reads at run time (``connectors.streams.discover``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from a source checkout
    sys.path.insert(0, str(ROOT))

from connectors.spec import Specs, default_specs  # noqa: E402
from connectors.streams import StreamDefinition, discover  # noqa: E402

PAGE = ROOT / "docs" / "integrations" / "sources" / "personyze.md"


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


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
        lines.append(
            f"| `{stream.name}` | {sync_modes(stream)} | {cursor} | {key} | "
            f"{cell(first_sentence(stream.spec.description))} |"
        )
    return "\n".join(lines)


def settings_table(specs: Specs) -> str:
    lines = ["| Setting | Required | Default | Description |", "|---|---|---|---|"]
    settings = [s for s in specs.connection.settings if "read" in s.applies_to]
    for s in sorted(settings, key=lambda s: s.order):
        default = "—" if s.default is None else f"`{s.default}`"
        lines.append(
            f"| `{s.name}` ({cell(s.title)}) | {'yes' if s.required else 'no'} | {default} | "
            f"{cell(s.description)} |"
        )
    return "\n".join(lines)


def tables(specs: Specs) -> dict[str, str]:
    return {"settings": settings_table(specs), "streams": streams_table(specs)}


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
