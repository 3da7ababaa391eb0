"""Spec models and loading: the single source of Personyze facts."""

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
