"""The Airbyte spec mirrors the connection settings; the metadata and the docs page are current."""

from __future__ import annotations

import importlib.util
import logging
import uuid
from pathlib import Path
from types import ModuleType

import yaml
from airbyte_cdk.models.connector_metadata import MetadataFile

import source_personyze
from connectors.read.streams import discover
from connectors.spec import default_specs
from source_personyze import SourcePersonyze
from source_personyze.spec import connection_specification
from tests.image.metadata_claims import assert_honest

ROOT = Path(__file__).resolve().parents[2]


def test_spec_properties_are_the_read_settings_with_their_rules() -> None:
    spec = connection_specification(default_specs())
    settings = [s for s in default_specs().connection.settings if "read" in s.applies_to]
    assert list(spec["properties"]) == [s.name for s in sorted(settings, key=lambda s: s.order)]
    assert spec["required"] == ["api_key"]
    for setting in settings:
        prop = spec["properties"][setting.name]
        assert prop["title"] == setting.title
        assert prop["order"] == setting.order
        assert prop.get("airbyte_secret", False) == setting.secret
        assert prop.get("pattern") == setting.pattern
        assert prop.get("minimum") == setting.minimum
        assert prop.get("maximum") == setting.maximum
        assert prop.get("default") == setting.default
        assert len(prop.get("examples", [])) == len(setting.examples)
    assert spec["properties"]["api_key"]["airbyte_secret"] is True
    assert {"lookback_window_days", "max_concurrency", "request_timeout", "max_retries"} <= set(
        spec["properties"]
    )


def test_metadata_is_airbyte_metadata_for_this_source() -> None:
    root = Path(source_personyze.__file__).parent
    metadata = MetadataFile.from_file(root / "metadata.yaml")
    assert metadata.data.connectorBuildOptions is not None  # `airbyte-cdk image build` needs it
    raw = yaml.safe_load((root / "metadata.yaml").read_text())["data"]
    assert raw["connectorType"] == "source"
    assert raw["connectorSubtype"] == "api"
    assert "language:python" in raw["tags"]
    assert uuid.UUID(raw["definitionId"]).version == 4
    streams = {s.name for s in discover(None, default_specs())}
    assert set(raw["suggestedStreams"]["streams"]) <= streams


def test_metadata_claims_only_what_is_built_and_exists() -> None:
    spec = SourcePersonyze().spec(logging.getLogger("test"))
    root = Path(source_personyze.__file__).parent
    assert_honest(root / "metadata.yaml", "personyze/source-personyze", spec.documentationUrl)


def _docs_script() -> ModuleType:
    path = ROOT / "scripts" / "generate_source_docs.py"
    spec = importlib.util.spec_from_file_location("generate_source_docs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_docs_page_is_current() -> None:
    module = _docs_script()
    committed = module.PAGE.read_text(encoding="utf-8")
    assert committed == module.render(committed), "run python scripts/generate_source_docs.py"


def test_the_docs_page_lists_every_stream_with_its_cursor_and_key() -> None:
    page = (ROOT / "docs" / "integrations" / "sources" / "personyze.md").read_text()
    for stream in discover(None, default_specs()):
        (row,) = [line for line in page.splitlines() if line.startswith(f"| `{stream.name}` |")]
        if stream.cursor_field:
            assert f"`{stream.cursor_field}`" in row
        for key in stream.primary_key:
            assert f"`{key}`" in row
    for section in (
        "## Prerequisites",
        "## Setup guide",
        "## Supported sync modes",
        "## Changelog",
    ):
        assert section in page
