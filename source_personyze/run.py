"""Console entry point ``source-personyze``: the Airbyte protocol on stdin/stdout.

An error the user fixes (settings, catalog, state: an ``AirbyteTracedException`` of type
``config_error``) ends the run with a LOG line and an error TRACE holding its message only; the
CDK's exception hook would print the Python traceback inside the log message. Any other error
keeps the CDK's handling, traceback included, since it is a bug to report.
"""

from __future__ import annotations

import sys


def run() -> None:
    from connectors.loading import exit_without_collecting, import_httpx_without_its_cli

    exit_without_collecting()
    args = sys.argv[1:]
    if args == ["spec"]:
        # The specification is a constant of the specs: printed without loading the Airbyte
        # CDK, whose import costs about a second (the other verbs need it).
        import orjson

        from connectors.spec import default_specs
        from source_personyze.spec import spec_message

        sys.stdout.write(orjson.dumps(spec_message(default_specs())).decode() + "\n")
        return
    import_httpx_without_its_cli()  # before anything imports the client
    from source_personyze import head_start

    if args[:1] == ["read"]:
        # the first stream's first requests go out while the CDK imports
        from connectors.spec import default_specs

        head_start.begin(args, default_specs())
    from source_personyze.cdk_loading import load_cdk_for_verbs

    load_cdk_for_verbs()
    from airbyte_cdk.models import FailureType  # type: ignore[attr-defined]
    from airbyte_cdk.utils.traced_exception import AirbyteTracedException

    from source_personyze.entrypoint import launch
    from source_personyze.messages import user_error_lines
    from source_personyze.source import SourcePersonyze

    try:
        launch(SourcePersonyze(), args)
    except AirbyteTracedException as exc:
        if exc.failure_type != FailureType.config_error:
            raise
        for line in user_error_lines(exc):
            print(line, flush=True)
        sys.exit(1)
    finally:
        head_start.drop()


if __name__ == "__main__":
    run()
