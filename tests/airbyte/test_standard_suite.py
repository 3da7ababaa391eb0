"""airbyte-cdk's standard source tests (spec, check, discover, read, bad catalog, config
matches spec), run in-process against the demo sandbox, and its image tests (marked
``image_tests``) against the image `make image` built."""

from __future__ import annotations

from pathlib import Path

import pytest
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import SourceTestSuiteBase

import source_personyze
from connectors.spec import default_specs
from source_personyze import SourcePersonyze
from tests.airbyte.conftest import BAD_KEY_CONFIG, GOOD_CONFIG, UNREACHABLE_CONFIG
from tests.image.docker_run import cdk_suite_image

# Streams that read nothing until a setting names what to read (the demo config names nothing).
NEEDS_SETTINGS = {"recommendations": "reads only the users named by recommendation_user_ids"}


def empty_streams() -> list[ConnectorTestScenario.AcceptanceTestEmptyStream] | None:
    readable = {s.name for s in default_specs().readable()}
    empty = [
        ConnectorTestScenario.AcceptanceTestEmptyStream(name=name, bypass_reason=reason)
        for name, reason in NEEDS_SETTINGS.items()
        if name in readable
    ]
    return empty or None


class TestSourcePersonyze(SourceTestSuiteBase):
    connector = SourcePersonyze

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return Path(source_personyze.__file__).parent

    @pytest.fixture
    def connector_image_override(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
        return cdk_suite_image("source-personyze", monkeypatch, tmp_path)

    @pytest.fixture
    def read_from_streams(self) -> str:
        """The image's `read` covers every stream (the suite reads none unless told)."""
        return "all"

    @classmethod
    def get_scenarios(cls) -> list[ConnectorTestScenario]:
        return [
            ConnectorTestScenario(config_path=GOOD_CONFIG, empty_streams=empty_streams()),
            ConnectorTestScenario(
                config_path=BAD_KEY_CONFIG, status="failed", sections=("connection",)
            ),
            ConnectorTestScenario(
                config_path=UNREACHABLE_CONFIG, status="failed", sections=("connection",)
            ),
        ]
