"""Console entry point ``destination-personyze``: the Airbyte protocol on stdin/stdout."""

from __future__ import annotations

import sys

from connectors.loading import exit_without_collecting
from target_personyze.destination import DestinationPersonyze


def run() -> None:
    exit_without_collecting()
    DestinationPersonyze().run(sys.argv[1:])


if __name__ == "__main__":
    run()
