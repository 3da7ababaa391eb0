"""airbyte-cdk's standard destination tests (check, config matches spec), run in-process against
a sandbox, and its image tests (marked ``image_tests``) against the image `make image` built.
The suite does not test writes: test_write.py does, and tests/image/ through the image."""

from __future__ import annotations

from pathlib import Path

import pytest
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase

import target_personyze.destination
from target_personyze.destination import DestinationPersonyze
from tests.airbyte_destination.conftest import (
    BAD_KEY_CONFIG,
    BAD_MAPPING_CONFIG,
    GOOD_CONFIG,
    UNREACHABLE_CONFIG,
)
from tests.image.docker_run import cdk_suite_image


class TestDestinationPersonyze(DestinationTestSuiteBase):
    connector = DestinationPersonyze
    connector_name = "destination-personyze"

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return Path(target_personyze.destination.__file__).parent / "destination_metadata"

    @pytest.fixture
    def connector_image_override(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
        return cdk_suite_image("destination-personyze", monkeypatch, tmp_path)

    @classmethod
    def get_scenarios(cls) -> list[ConnectorTestScenario]:
        return [
            ConnectorTestScenario(config_path=GOOD_CONFIG),
            ConnectorTestScenario(
                config_path=BAD_KEY_CONFIG, status="failed", sections=("connection",)
            ),
            ConnectorTestScenario(
                config_path=UNREACHABLE_CONFIG, status="failed", sections=("connection",)
            ),
            ConnectorTestScenario(
                config_path=BAD_MAPPING_CONFIG, status="failed", sections=("connection",)
            ),
        ]
