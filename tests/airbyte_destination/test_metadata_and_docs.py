"""The destination's Airbyte metadata and its docs page are current with the code and specs."""

from __future__ import annotations

import importlib.util
import logging
import uuid
from pathlib import Path
from types import ModuleType

import yaml
from airbyte_cdk.models.connector_metadata import MetadataFile

import target_personyze.destination
from connectors.write import operations
from target_personyze.destination import DestinationPersonyze
from tests.image.metadata_claims import assert_honest

ROOT = Path(__file__).resolve().parents[2]
METADATA = Path(target_personyze.destination.__file__).parent / "destination_metadata"


def test_metadata_is_airbyte_metadata_for_this_destination() -> None:
    metadata = MetadataFile.from_file(METADATA / "metadata.yaml")
    assert metadata.data.connectorBuildOptions is not None  # `airbyte-cdk image build` needs it
    raw = yaml.safe_load((METADATA / "metadata.yaml").read_text())["data"]
    assert raw["connectorType"] == "destination"
    assert raw["connectorSubtype"] == "api"
    # discover works (test_discover_and_spec.py): the UI may offer data activation
    assert raw["supportsDataActivation"] is True
    assert "language:python" in raw["tags"]
    assert uuid.UUID(raw["definitionId"]).version == 4
    source = yaml.safe_load((ROOT / "source_personyze" / "metadata.yaml").read_text())["data"]
    assert raw["definitionId"] != source["definitionId"]


def test_metadata_claims_only_what_is_built_and_exists() -> None:
    spec = DestinationPersonyze().spec(logging.getLogger("test"))
    assert_honest(
        METADATA / "metadata.yaml", "personyze/destination-personyze", spec.documentationUrl
    )


def _docs_script() -> ModuleType:
    path = ROOT / "scripts" / "generate_destination_docs.py"
    spec = importlib.util.spec_from_file_location("generate_destination_docs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_docs_page_is_current() -> None:
    module = _docs_script()
    committed = module.PAGE.read_text(encoding="utf-8")
    assert committed == module.render(committed), "run python scripts/generate_destination_docs.py"


def test_the_docs_page_lists_every_operation_and_the_sections_airbyte_expects() -> None:
    page = (ROOT / "docs" / "integrations" / "destinations" / "personyze.md").read_text()
    for op in operations():
        assert any(
            line.startswith(f"| `{op.object}` | `{op.mode}`") for line in page.splitlines()
        ), (op.object, op.mode)
    for section in (
        "## Prerequisites",
        "## Setup guide",
        "## Objects and modes",
        "## Guarantees",
        "## Limits",
        "## Changelog",
    ):
        assert section in page
