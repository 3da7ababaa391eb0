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

- ``airbyte_cdk.sources.abstract_source`` imports the HTTP streams (requests-cache,
  pyrate-limiter and asyncio with them: about a fifth of the source's start-up) for one
  ``isinstance(stream, HttpStream)``, asked only when a test sets ``page_size`` in the
  internal config. Our streams are not HTTP streams, and no object can be one before the module
  that defines the class is imported; so ``abstract_source`` is imported with a stand-in for
  that class which asks the real one once its module is loaded, and answers False before.
  Anything that imports the HTTP streams later gets the real module.

- ``httpx`` is imported without its command-line client (``connectors.loading``).

All are no-ops when the CDK is already imported (tests, or another connector in the process),
and fall back to the plain import if the libraries' layout ever differs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from connectors.loading import defer_package_init, import_httpx_without_its_cli

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
        module.get_attributes_doc = _no_docs  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.get_attributes_doc = original  # type: ignore[attr-defined]


def _no_docs(cls: type) -> dict[str, str]:
    return {}


def protocol_models() -> None:
    """Import ``airbyte_cdk.models`` (the protocol models and their serializers) cheaply."""
    if "airbyte_cdk.models" in sys.modules:
        return
    with _without_attribute_docs():
        importlib.import_module("airbyte_cdk.models")


HTTP_STREAMS = "airbyte_cdk.sources.streams.http.http"
ABSTRACT_SOURCE = "airbyte_cdk.sources.abstract_source"


class _AsksTheRealClass(type):
    def __instancecheck__(cls, instance: object) -> bool:
        real = _real_http_stream()
        return real is not None and isinstance(instance, real)

    def __subclasscheck__(cls, subclass: type) -> bool:
        real = _real_http_stream()
        return real is not None and issubclass(subclass, real)


class HttpStreamStandIn(metaclass=_AsksTheRealClass):
    """``airbyte_cdk``'s ``HttpStream`` for ``isinstance`` and ``issubclass`` in
    ``abstract_source``, without importing it: nothing is one before its module is loaded."""


def _real_http_stream() -> type | None:
    module = sys.modules.get(HTTP_STREAMS)
    real = getattr(module, "HttpStream", None)
    return real if isinstance(real, type) and real is not HttpStreamStandIn else None


def abstract_source_without_http_streams() -> None:
    """Import ``airbyte_cdk.sources.abstract_source`` with ``HttpStreamStandIn`` standing in
    for the HTTP streams module; the plain import if it needs more of that module."""
    if ABSTRACT_SOURCE in sys.modules or HTTP_STREAMS in sys.modules:
        return
    placeholder = ModuleType(HTTP_STREAMS)
    placeholder.HttpStream = HttpStreamStandIn  # type: ignore[attr-defined]
    sys.modules[HTTP_STREAMS] = placeholder
    try:
        importlib.import_module(ABSTRACT_SOURCE)
    except ImportError:
        pass  # another CDK layout: the plain import below
    finally:
        if sys.modules.get(HTTP_STREAMS) is placeholder:
            del sys.modules[HTTP_STREAMS]
    importlib.import_module(ABSTRACT_SOURCE)


def load_cdk_for_verbs() -> None:
    """What ``source-personyze check|discover|read`` call before importing the CDK."""
    defer_package_init(PACKAGE)
    import_httpx_without_its_cli()
    protocol_models()
    abstract_source_without_http_streams()
