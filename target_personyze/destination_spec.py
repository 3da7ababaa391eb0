"""The destination's connector specification, generated from the write settings of the specs
(``specs/connection.json``: every setting whose ``applies_to`` names ``write``)."""

from __future__ import annotations

from typing import Any

from airbyte_cdk.models import ConnectorSpecification, DestinationSyncMode  # type: ignore[attr-defined]

from connectors.settings.schema import settings_json_schema
from connectors.spec import Specs

DOCUMENTATION_URL = "https://wiki.personyze.com/knowledgebase/rest-api/"


def connection_specification(specs: Specs) -> dict[str, Any]:
    return settings_json_schema(
        specs, "write", title="Personyze Destination Spec", secret={"airbyte_secret": True}
    )


def connector_specification(
    specs: Specs, sync_modes: list[DestinationSyncMode]
) -> ConnectorSpecification:
    return ConnectorSpecification(
        documentationUrl=DOCUMENTATION_URL,
        connectionSpecification=connection_specification(specs),
        supportsIncremental=True,
        supported_destination_sync_modes=sync_modes,
    )
