"""The Airbyte connector specification, generated from the connection settings of the specs."""

from __future__ import annotations

from typing import Any

from airbyte_cdk.models import ConnectorSpecification  # type: ignore[attr-defined]

from connectors.settings.schema import settings_json_schema
from connectors.spec import Specs

DOCUMENTATION_URL = "https://wiki.personyze.com/knowledgebase/rest-api/"


def connection_specification(specs: Specs) -> dict[str, Any]:
    return settings_json_schema(
        specs, "read", title="Personyze Source Spec", secret={"airbyte_secret": True}
    )


def connector_specification(specs: Specs) -> ConnectorSpecification:
    return ConnectorSpecification(
        documentationUrl=DOCUMENTATION_URL,
        connectionSpecification=connection_specification(specs),
        supportsIncremental=True,
    )
