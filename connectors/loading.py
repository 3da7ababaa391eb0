"""Import a framework's modules without running its package ``__init__`` first.

Both frameworks' package ``__init__`` files import far more than one connector uses on the way
to any module of theirs: ``airbyte_cdk/__init__`` the declarative framework, destinations and
file-based sources; ``singer_sdk/__init__`` targets, inline mappers and sinks (joblib and NumPy
among them), and ``singer_sdk/streams/__init__`` the REST and GraphQL streams. A connector's
start-up paid for all of it (about half its import time).

``defer_package_init`` registers a package without running its ``__init__``: its modules still
import as usual, from the same directory, and ``from package import submodule`` imports just
that submodule. The first time anything asks the package for a name that is not a submodule
(``from singer_sdk import Tap``, ``airbyte_cdk.__version__``), the real ``__init__`` runs then,
so nothing that relies on it can miss it. A no-op when the package is already imported (tests,
or another connector in the process), or when it is not a package found on the path.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import importlib.util
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def defer_package_init(package_name: str) -> None:
    """Register ``package_name`` without running its ``__init__`` until a name of it is used."""
    if package_name in sys.modules:
        return
    spec = importlib.util.find_spec(package_name)
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    package = importlib.util.module_from_spec(spec)
    lock = threading.RLock()
    running: list[bool] = []

    def __getattr__(name: str) -> Any:  # PEP 562: called for names the package lacks
        full_name = f"{package_name}.{name}"
        submodule = sys.modules.get(full_name)
        if submodule is not None:  # `import package.a.b as c` while `a` is importing
            return submodule
        if not running and not name.startswith("__"):
            try:
                found = importlib.util.find_spec(full_name)
            except (ImportError, ValueError):
                found = None
            if found is not None:  # `from package import submodule`: that module only
                return importlib.import_module(full_name)
        with lock:
            if not running:
                running.append(True)
                del package.__dict__["__getattr__"]
                assert spec.loader is not None
                spec.loader.exec_module(package)
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {package_name!r} has no attribute {name!r}") from None

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[package_name] = package
    parent, _, child = package_name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, package)


@contextmanager
def optional_modules_absent(*names: str) -> Iterator[None]:
    """Import inside this block as if ``names`` were not installed, for the libraries that
    import an optional module at their import and carry on without it (``ImportError``).

    Only modules not yet imported are hidden, and only inside the block: anything importing
    them afterwards gets the real module.
    """
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def import_httpx_without_its_cli() -> None:
    """Import ``httpx`` without its command-line client: ``httpx/__init__`` imports it (click,
    rich and pygments: about 50 ms of every connector's start-up here) to expose ``httpx.main``,
    and defines a ``main`` that says how to install them when it cannot. No connector runs it.
    A no-op when ``httpx`` is already imported."""
    with optional_modules_absent("httpx._main"):
        importlib.import_module("httpx")


def exit_without_collecting() -> None:
    """Leave the objects alive at exit to the process's end instead of the cyclic garbage
    collector (``gc.freeze`` when the interpreter shuts down): it walks every object several
    times while modules are torn down, which took 0.2 s of every run of a connector that had
    imported the Airbyte CDK (0.02 s frozen). Exit handlers still run, standard streams are
    still flushed, and objects still go away with their last reference; only objects in
    reference cycles, which Python never promises to finalise at exit, are left as they are.
    For console entry points only."""
    atexit.register(gc.freeze)
