"""The Airbyte connector specification, generated from the connection settings of the specs.

Nothing here imports the Airbyte CDK at module level: ``spec`` is answered without it
(``spec_message``), and the CDK model is built only when the CDK asks for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.settings.schema import settings_json_schema
from connectors.spec import Specs

if TYPE_CHECKING:
    from airbyte_cdk.models import ConnectorSpecification  # type: ignore[attr-defined]

DOCUMENTATION_URL = "https://wiki.personyze.com/knowledgebase/rest-api/"


def connection_specification(specs: Specs) -> dict[str, Any]:
    return settings_json_schema(
        specs, "read", title="Personyze Source Spec", secret={"airbyte_secret": True}
    )


def specification(specs: Specs) -> dict[str, Any]:
    """The ConnectorSpecification as the protocol writes it (with the CDK model's defaults)."""
    return {
        "documentationUrl": DOCUMENTATION_URL,
        "connectionSpecification": connection_specification(specs),
        "supportsIncremental": True,
        "supportsNormalization": False,
        "supportsDBT": False,
    }


def spec_message(specs: Specs) -> dict[str, Any]:
    """The SPEC message ``source-personyze spec`` prints (the CDK prints the same)."""
    return {"type": "SPEC", "spec": specification(specs)}


def connector_specification(specs: Specs) -> ConnectorSpecification:
    from airbyte_cdk.models import ConnectorSpecification  # type: ignore[attr-defined]

    return ConnectorSpecification(**specification(specs))
