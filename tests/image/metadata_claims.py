"""What both connectors' metadata.yaml may claim: the image `make image` builds, a documentation
page that exists, and nothing of Airbyte's own catalog that this project cannot back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
# The Personyze REST API overview and quick start (personyze-api.md, "Sources used"): the page
# that tells a user where the API key is; no connector page exists outside this repository.
DOCUMENTATION_URL = "https://wiki.personyze.com/knowledgebase/rest-api/"
# Keys that only Airbyte's registry and its quality process can set truthfully.
REGISTRY_ONLY = {
    "releaseDate",
    "ab_internal",
    "supportLevel",
    "remoteRegistries",
    "registryOverrides",
    "connectorTestSuitesOptions",
}


def dockerfile_default_base() -> str:
    (base,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", (ROOT / "Dockerfile").read_text(), re.M)
    return base


def project_version() -> str:
    (version,) = re.findall(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    return version


def assert_honest(metadata_path: Path, repository: str, spec_documentation_url: str) -> None:
    raw: dict[str, Any] = yaml.safe_load(metadata_path.read_text())["data"]
    assert raw["dockerRepository"] == repository
    assert raw["dockerImageTag"] == project_version()
    assert raw["connectorBuildOptions"] == {"baseImage": dockerfile_default_base()}
    assert "@sha256:" in raw["connectorBuildOptions"]["baseImage"]  # pinned
    assert raw["documentationUrl"] == spec_documentation_url == DOCUMENTATION_URL
    assert raw["releaseStage"] == "custom"
    assert not REGISTRY_ONLY & set(raw)
