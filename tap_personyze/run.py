"""Console entry point ``tap-personyze``: singer-sdk's command line (``TapPersonyze.cli``),
with the first stream's read started while singer-sdk imports (``tap_personyze.head_start``).
"""

from __future__ import annotations

import sys


def run() -> None:
    from connectors.loading import import_httpx_without_its_cli

    import_httpx_without_its_cli()  # before anything imports the client
    from connectors.spec import default_specs
    from tap_personyze import head_start

    head_start.begin(sys.argv[1:], default_specs())
    try:
        from tap_personyze.tap import TapPersonyze

        TapPersonyze.cli()
    finally:
        head_start.drop()
