"""Console entry point ``destination-personyze``: the Airbyte protocol on stdin/stdout."""

from __future__ import annotations

import sys

from target_personyze.destination import DestinationPersonyze


def run() -> None:
    DestinationPersonyze().run(sys.argv[1:])


if __name__ == "__main__":
    run()
