"""Streams as both read adapters present them: one per readable object, with the same name,
JSON Schema, primary key and cursor in Airbyte and in Singer.

Schemas are the documented columns plus the dynamic columns seen in a sample of recent rows;
additional properties stay allowed because an account can add columns at any time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.api.query import Query, all_of, cond
from connectors.read import QueryClient
from connectors.spec import ObjectSpec, Specs
from connectors.spec.json_schema import json_schema

SAMPLE_ROWS = 50


@dataclass(frozen=True)
class StreamDefinition:
    name: str
    spec: ObjectSpec
    json_schema: dict[str, Any]
    primary_key: tuple[str, ...]
    cursor_field: str | None
    partition_field: str | None

    @property
    def incremental(self) -> bool:
        return self.cursor_field is not None


def readable_objects(specs: Specs) -> list[ObjectSpec]:
    return sorted(specs.readable(), key=lambda o: o.name)


def stream_definition(
    spec: ObjectSpec, sample: Iterable[Mapping[str, Any]] = ()
) -> StreamDefinition:
    incremental = spec.read.mode == "incremental"
    parent = spec.read.parent
    return StreamDefinition(
        name=spec.name,
        spec=spec,
        json_schema=json_schema(spec, sample),
        primary_key=spec.primary_key,
        cursor_field=spec.read.key if incremental else None,
        partition_field=parent.filter_column if parent else None,
    )


def sample_rows(client: QueryClient, spec: ObjectSpec) -> list[dict[str, Any]]:
    """The most recent rows of an object with dynamic columns (nothing for the others)."""
    key = spec.read.key
    if not spec.dynamic_columns or spec.kind != "table" or key is None or spec.read.parent:
        return []
    floor: int | str = 0 if spec.column(key).type == "integer" else ""
    query = Query(
        spec.path,
        where=all_of(cond(key, ">=", floor)),
        order_by_desc=(key,),
        limit=SAMPLE_ROWS,
        offset=0,
    )
    answer = client.get(query)
    return [row for row in answer if isinstance(row, dict)] if isinstance(answer, list) else []


def discover(client: QueryClient | None, specs: Specs) -> list[StreamDefinition]:
    """Every readable object as a stream; with a client, dynamic columns come from samples."""
    return [
        stream_definition(spec, sample_rows(client, spec) if client is not None else ())
        for spec in readable_objects(specs)
    ]


def html_record(spec: ObjectSpec, text: str) -> dict[str, Any]:
    """An html endpoint as a stream of one record: its only column holds the body."""
    return {spec.columns[0].name: text}
