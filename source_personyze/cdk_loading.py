"""Load only the part of the Airbyte CDK a verb uses (check, discover, read).

Two costs of ``import airbyte_cdk.<anything>`` have nothing to do with a Python source:

- ``airbyte_cdk/__init__`` imports the whole CDK on the way to any of its modules: the
  declarative (low-code) framework, destinations, file-based sources (about half the import).
  ``defer_package_init`` registers the package without running that file; every module of the
  CDK still imports as usual, from the same directory. The first time anything asks the package
  itself for a name (``from airbyte_cdk import X``, ``airbyte_cdk.__version__``), the real
  ``__init__`` runs then, so nothing that relies on it can miss it.
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

import importlib.util
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

PACKAGE = "airbyte_cdk"
# serpyco-rs modules that look up attribute docstrings (get_attributes_doc) when they describe
# a dataclass or derive its JSON Schema.
_DOC_LOOKUPS = ("serpyco_rs._describe", "serpyco_rs._json_schema._convert")


def defer_package_init() -> None:
    """Register ``airbyte_cdk`` without running its ``__init__`` until a name of it is used."""
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    package = importlib.util.module_from_spec(spec)
    lock = threading.RLock()
    running: list[bool] = []

    def __getattr__(name: str) -> Any:  # PEP 562: called for names the package lacks
        submodule = sys.modules.get(f"{PACKAGE}.{name}")
        if submodule is not None:  # `import airbyte_cdk.a.b as c` while `a` is importing
            return submodule
        with lock:
            if not running:
                running.append(True)
                del package.__dict__["__getattr__"]
                assert spec.loader is not None
                spec.loader.exec_module(package)
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[PACKAGE] = package


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
    defer_package_init()
    protocol_models()
