"""meltano.yml declares tap-personyze as the tap describes itself: the read settings of
specs/connection.json (name, label, kind, default, description) and the tap's capabilities.
It is written by hand, so this test is what keeps it from going stale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from connectors.spec.models import Setting
from tap_personyze import TapPersonyze
from tests.singer.tapruns import SPECS

MELTANO_YML = Path(__file__).resolve().parents[2] / "meltano.yml"
KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}


def extractor() -> dict[str, Any]:
    project = yaml.safe_load(MELTANO_YML.read_text())
    assert "version" not in project  # deprecated in Meltano 4
    assert project["send_anonymous_usage_stats"] is False
    (tap,) = [p for p in project["plugins"]["extractors"] if p["name"] == "tap-personyze"]
    return dict(tap)


def expected(setting: Setting) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": setting.name,
        "label": setting.title,
        # Meltano 4 writes a secret as a sensitive string (it rewrites ``kind: password``)
        "kind": KINDS[setting.type],
        "description": setting.description,
    }
    if setting.secret:
        entry["sensitive"] = True
    if setting.default is not None:
        entry["value"] = setting.default
    return entry


def test_settings_match_the_connection_spec() -> None:
    read = sorted(
        (s for s in SPECS.connection.settings if "read" in s.applies_to), key=lambda s: s.order
    )
    assert extractor()["settings"] == [expected(s) for s in read]


def test_plugin_is_fully_declared() -> None:
    tap = extractor()
    assert tap["namespace"] == "tap_personyze"
    assert tap["executable"] == "tap-personyze"
    assert tap["pip_url"].startswith("-e ")
    assert tap["capabilities"] == [str(c.value) for c in TapPersonyze.capabilities]
