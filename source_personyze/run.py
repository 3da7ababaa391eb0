"""Console entry point ``source-personyze``: the Airbyte protocol on stdin/stdout."""

from __future__ import annotations

import sys


def run() -> None:
    args = sys.argv[1:]
    if args == ["spec"]:
        # The specification is a constant of the specs: printed without loading the Airbyte
        # CDK, whose import costs about a second (the other verbs need it).
        import orjson

        from connectors.spec import default_specs
        from source_personyze.spec import spec_message

        sys.stdout.write(orjson.dumps(spec_message(default_specs())).decode() + "\n")
        return
    from airbyte_cdk.entrypoint import launch

    from source_personyze.source import SourcePersonyze

    launch(SourcePersonyze(), args)


if __name__ == "__main__":
    run()
