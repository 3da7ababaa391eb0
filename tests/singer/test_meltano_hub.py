"""meltano-hub/ holds the Hub definitions of tap-personyze and target-personyze: current with the
specs, in the Hub's format (its plugin schemas in meltano/hub: required keys, allowed keys,
setting kinds, capability names), installing this distribution by name."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tap_personyze import TapPersonyze
from target_personyze.target import TargetPersonyze

ROOT = Path(__file__).resolve().parents[2]
# From meltano/hub schemas/: common/common.schema.json, plugin_definitions/*.schema.json,
# common/base_setting.schema.json, common/{extractors,loaders}_specific.schema.json and
# plugin_definitions/hub_metadata.schema.json.
REQUIRED = {"name", "namespace", "variant", "label", "quality"}
ALLOWED = {
    "name", "pip_url", "variant", "namespace", "label", "description", "executable", "settings",
    "docs", "repo", "logo_url", "hidden", "python", "settings_group_validation", "commands",
    "capabilities", "maintenance_status", "quality", "domain_url", "keywords", "requires",
    "definition", "next_steps", "settings_preamble", "usage", "prereq",
    "supported_python_versions", "log_parser",
}  # fmt: skip
EXTRACTOR_ONLY = {"metadata", "schema", "select"}
LOADER_ONLY = {"dialect", "target_schema"}
KINDS = {
    "oauth", "hidden", "password", "date_iso8601", "file", "email", "integer", "options",
    "object", "array", "boolean", "string", "decimal",
}  # fmt: skip
CAPABILITIES = {
    "extractors": {
        "properties", "catalog", "discover", "state", "about", "stream-maps",
        "schema-flattening", "activate-version", "batch", "test", "log-based",
        "structured-logging",
    },
    "loaders": {
        "about", "stream-maps", "activate-version", "batch", "soft-delete", "hard-delete",
        "datatype-failsafe", "schema-flattening", "target-schema", "validate-records",
        "structured-logging",
    },
}  # fmt: skip
QUALITY = {"gold", "silver", "bronze", "unknown"}
MAINTENANCE = {"active", "beta", "development", "inactive", "unknown"}
PLUGINS = {"extractors": (TapPersonyze, "read"), "loaders": (TargetPersonyze, "write")}


def _script() -> ModuleType:
    path = ROOT / "scripts" / "generate_meltano_hub.py"
    spec = importlib.util.spec_from_file_location("generate_meltano_hub", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def definition(kind: str) -> dict[str, Any]:
    (path,) = (ROOT / "meltano-hub" / kind).glob("*/*.yml")
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert path.parent.name == data["name"] and path.stem == data["variant"]  # the Hub's layout
    return data


def test_the_committed_definitions_are_current() -> None:
    for path, text in _script().files().items():
        assert path.read_text(encoding="utf-8") == text, (
            "run python scripts/generate_meltano_hub.py"
        )


@pytest.mark.parametrize("kind", ["extractors", "loaders"])
def test_the_definition_is_in_the_hubs_format(kind: str) -> None:
    data = definition(kind)
    assert set(data) >= REQUIRED
    assert set(data) <= ALLOWED | (EXTRACTOR_ONLY if kind == "extractors" else LOADER_ONLY)
    assert set(data["capabilities"]) <= CAPABILITIES[kind]
    assert data["quality"] in QUALITY and data["maintenance_status"] in MAINTENANCE
    assert data["namespace"] == data["name"].replace("-", "_")
    for setting in data["settings"]:
        assert set(setting) <= {"name", "label", "kind", "value", "description"}
        assert setting["kind"] in KINDS
    for group in data["settings_group_validation"]:
        assert set(group) <= {s["name"] for s in data["settings"]}


@pytest.mark.parametrize("kind", ["extractors", "loaders"])
def test_the_definition_installs_this_distribution_by_name_and_says_what_the_plugin_does(
    kind: str,
) -> None:
    data = definition(kind)
    plugin, applies_to = PLUGINS[kind]
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(rf'^name = "{re.escape(data["pip_url"])}"$', pyproject, re.M)
    assert data["pip_url"] == plugin.package_name == "personyze-connectors"
    assert re.search(rf"^{re.escape(data['executable'])} = ", pyproject, re.M)  # a console script
    assert data["name"] == plugin.name
    assert data["capabilities"] == [str(c.value) for c in plugin.capabilities]
    names = [s["name"] for s in data["settings"]]
    assert set(names) <= set(plugin.config_jsonschema["properties"])  # the plugin accepts them
    kinds = {s["name"]: s["kind"] for s in data["settings"]}
    assert kinds["api_key"] == "password"
    assert data["settings_group_validation"] == [["api_key"]]
    assert ("start_date" in names) == (applies_to == "read")
    assert ("streams" in names) == (applies_to == "write")
