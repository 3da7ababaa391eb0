"""airbyte-cdk's standard destination tests (check, config matches spec), run in-process against
a sandbox. The suite does not test writes: test_write.py does."""

from __future__ import annotations

from pathlib import Path

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


class TestDestinationPersonyze(DestinationTestSuiteBase):
    connector = DestinationPersonyze
    connector_name = "destination-personyze"

    @classmethod
    def get_connector_root_dir(cls) -> Path:
        return Path(target_personyze.destination.__file__).parent / "destination_metadata"

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
