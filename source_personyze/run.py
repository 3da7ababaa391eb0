"""Console entry point ``source-personyze``: the Airbyte protocol on stdin/stdout."""

from __future__ import annotations

import sys

from airbyte_cdk.entrypoint import launch

from source_personyze.source import SourcePersonyze


def run() -> None:
    launch(SourcePersonyze(), sys.argv[1:])


if __name__ == "__main__":
    run()
