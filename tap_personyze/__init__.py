"""tap-personyze: the Singer tap (singer-sdk), a thin adapter over the core read engine.

singer-sdk's package ``__init__`` files (the SDK's, and its streams') import targets, mappers,
sinks and REST/GraphQL streams the tap never uses; they run only if something asks for a name
of those packages (``connectors.loading``), so the tap imports what it uses and starts faster;
``httpx`` is imported without its command-line client, and the process exits without a last
round of garbage collection (``connectors.loading.exit_without_collecting``). ``TapPersonyze``
is imported on first use, so that the console script (``tap_personyze.run``) can start its first
read first.
"""

from typing import TYPE_CHECKING

from connectors.loading import (
    defer_package_init,
    exit_without_collecting,
    import_httpx_without_its_cli,
)

exit_without_collecting()

defer_package_init("singer_sdk")
import_httpx_without_its_cli()
defer_package_init("singer_sdk.streams")

if TYPE_CHECKING:
    from tap_personyze.tap import TapPersonyze

__all__ = ["TapPersonyze"]


def __getattr__(name: str) -> object:
    """``TapPersonyze`` on first use: the console script (``tap_personyze.run``) starts its
    first read before singer-sdk is imported."""
    if name == "TapPersonyze":
        from tap_personyze.tap import TapPersonyze

        return TapPersonyze
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
