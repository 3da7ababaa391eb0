"""Load only the part of the Airbyte CDK a verb uses (check, discover, read).

Two costs of ``import airbyte_cdk.<anything>`` have nothing to do with a Python source:

- ``airbyte_cdk/__init__`` imports the whole CDK on the way to any of its modules: the
  declarative (low-code) framework, destinations, file-based sources (about half the import).
  It runs only when a name of the package itself is asked for
  (``connectors.loading.defer_package_init``).
- ``airbyte_cdk.models`` builds its serpyco-rs serializers at import, and serpyco-rs looks up
  every model's attribute docstrings for the JSON Schema it derives: ``inspect.getsource`` on
  each of about 60 classes, each call parsing the whole models module with ``ast`` again.
  Those descriptions never reach a message (the serializers write and read the same data
  without them), so ``protocol_models`` imports the models with the lookup answering "no
  docstrings", then puts serpyco-rs back as it was for anyone else.

Both are no-ops when the CDK is already imported (tests, or another connector in the process),
and fall back to the plain import if the libraries' layout ever differs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from connectors.loading import defer_package_init

PACKAGE = "airbyte_cdk"
# serpyco-rs modules that look up attribute docstrings (get_attributes_doc) when they describe
# a dataclass or derive its JSON Schema.
_DOC_LOOKUPS = ("serpyco_rs._describe", "serpyco_rs._json_schema._convert")


@contextmanager
def _without_attribute_docs() -> Iterator[None]:
    modules: list[ModuleType] = []
    try:
        for name in _DOC_LOOKUPS:
            module = importlib.import_module(name)
            if callable(getattr(module, "get_attributes_doc", None)):
                modules.append(module)
    except ImportError:
        modules = []
    saved = [module.get_attributes_doc for module in modules]
    for module in modules:
        module.get_attributes_doc = _no_docs
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.get_attributes_doc = original


def _no_docs(cls: type) -> dict[str, str]:
    return {}


def protocol_models() -> None:
    """Import ``airbyte_cdk.models`` (the protocol models and their serializers) cheaply."""
    if "airbyte_cdk.models" in sys.modules:
        return
    with _without_attribute_docs():
        importlib.import_module("airbyte_cdk.models")


def load_cdk_for_verbs() -> None:
    """What ``source-personyze check|discover|read`` call before importing the CDK."""
    defer_package_init(PACKAGE)
    protocol_models()
