"""Write specs/spec-format.schema.json: the JSON Schema of the spec files, from the models.

    python scripts/export_spec_schema.py           # rewrite the file
    python scripts/export_spec_schema.py --check   # exit 1 when the committed file is stale

The schema lets editors validate and complete spec files; the pydantic models stay the source of
truth. Spec files under specs/objects/ match `#/$defs/ObjectSpec`, specs/commands.json matches
`#/$defs/CommandTable` and specs/connection.json matches `#/$defs/ConnectionSpec`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script from a source checkout
    sys.path.insert(0, str(ROOT))

from pydantic.json_schema import models_json_schema  # noqa: E402

from connectors.spec.models import CommandTable, ConnectionSpec, ObjectSpec  # noqa: E402

SCHEMA_PATH = ROOT / "specs" / "spec-format.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
FILES = {
    "object": (ObjectSpec, "specs/objects/<name>.json"),
    "commands": (CommandTable, "specs/commands.json"),
    "connection": (ConnectionSpec, "specs/connection.json"),
}


def build_schema() -> dict[str, Any]:
    """The schema document: one $defs entry per model, and a top level accepting any spec file."""
    refs, defs = models_json_schema(
        [(model, "validation") for model, _ in FILES.values()],
        ref_template="#/$defs/{model}",
    )
    return {
        "$schema": DRAFT,
        "title": "personyze-connectors spec format",
        "description": "JSON Schema of the spec files, generated from connectors/spec/models.py by "
        "scripts/export_spec_schema.py. "
        + "; ".join(
            f"{path} matches {refs[(model, 'validation')]['$ref']}"
            for model, path in FILES.values()
        )
        + ".",
        "anyOf": [refs[(model, "validation")] for model, _ in FILES.values()],
        "$defs": defs["$defs"],
    }


def render() -> str:
    """The file's exact text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(build_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail when the committed file is not current"
    )
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.is_file() else None
        if current != text:
            what = "missing" if current is None else "stale"
            print(
                f"{SCHEMA_PATH.relative_to(ROOT)} is {what}: "
                "run `python scripts/export_spec_schema.py` and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"{SCHEMA_PATH.relative_to(ROOT)} is current")
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
