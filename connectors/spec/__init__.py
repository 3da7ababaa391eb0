"""Spec models and loading: the single source of Personyze facts.

Owns the spec format (``models``, ``write_plan``, ``tables``, ``base``), loading the JSON files
of ``specs/`` (``loader``) and an object's columns as JSON Schema (``json_schema``). The bottom
layer: imports nothing else of the project.
"""

from connectors.spec.loader import SpecError, Specs, default_specs, load_specs, specs_dir
from connectors.spec.models import (
    Column,
    CommandSpec,
    CommandTable,
    ConnectionSpec,
    ObjectSpec,
    ReadPlan,
    ScanRule,
    WritePlan,
)

__all__ = [
    "Column",
    "CommandSpec",
    "CommandTable",
    "ConnectionSpec",
    "ObjectSpec",
    "ReadPlan",
    "ScanRule",
    "SpecError",
    "Specs",
    "WritePlan",
    "default_specs",
    "load_specs",
    "specs_dir",
]
