"""TapPersonyze: the singer-sdk Tap. Streams come from ``connectors.read.streams.discover``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers._classproperty import classproperty
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities

from connectors.api.client import PersonyzeClient
from connectors.api.errors import PersonyzeError
from connectors.read.streams import discover
from connectors.settings import ConnectionSettings, SettingsError
from connectors.settings.schema import secret_values, singer_settings_schema
from connectors.spec.loader import default_specs
from tap_personyze.settings import (
    connection_settings,
    environment_config,
    redacted,
    schema_problems,
)
from tap_personyze.stream import InvalidState, PersonyzeStream
from tap_personyze.writer import SingerWriter

SPECS = default_specs()
# httpx logs every request at INFO: thousands of lines per sync. The core client logs retries.
logging.getLogger("httpx").setLevel(logging.WARNING)
# Failures a user can act on: reported as one message, without a traceback.
USER_ERRORS = (PersonyzeError, SettingsError, InvalidState)


@contextmanager
def reported_errors(logger: logging.Logger) -> Iterator[None]:
    try:
        yield
    except USER_ERRORS as exc:
        logger.error("%s", exc)
        raise SystemExit(1) from None


class TapPersonyze(Tap):
    """Singer tap for Personyze: every readable object of the REST API as a stream."""

    name = "tap-personyze"
    package_name = "personyze-connectors"
    config_jsonschema: ClassVar[dict[str, Any]] = singer_settings_schema(SPECS, "read")
    # Schemas of objects with dynamic columns are sampled from the account.
    dynamic_catalog = True
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.DISCOVER,
        TapCapabilities.STATE,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.BATCH,
    ]

    settings: ConnectionSettings | None = None
    # The SDK's msgspec writer (several times faster than its simplejson default), flushing
    # at STATE and SCHEMA messages rather than after every record.
    message_writer_class = SingerWriter

    @classmethod
    def builtin_config_jsonschema(cls) -> dict[str, Any]:
        """The SDK's own settings (stream maps, flattening, batch) without the Personyze ones."""
        schema: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        cls.append_builtin_config(schema)
        return schema

    @classproperty
    def _env_var_config(cls) -> dict[str, Any]:
        return environment_config(
            cls.config_jsonschema, cls.builtin_config_jsonschema(), cls._env_var_prefix
        )

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The core checks the Personyze settings (its messages name the setting and hide the
        key, and it accepts what config files and environment variables give, such as a list
        as comma-separated text); the SDK's schema checks only its own built-in settings."""
        settings, problems = connection_settings(self.config)
        self.settings = settings
        if not problems:
            problems = schema_problems(self._config, self.builtin_config_jsonschema())
        problems = redacted(problems, secret_values(self.config, SPECS))
        if problems and raise_errors:
            raise ConfigValidationError(
                "Config validation failed", errors=problems, schema=self.config_jsonschema
            )
        return problems

    def discover_streams(self) -> list[PersonyzeStream]:
        # Given a catalog (--catalog), its schemas are used: nothing is sampled.
        if self.settings is None or self.input_catalog is not None:
            definitions = discover(None, SPECS)
        else:
            with self.new_client() as client:
                definitions = discover(client, SPECS)
        return [PersonyzeStream(self, definition, SPECS) for definition in definitions]

    def new_client(self) -> PersonyzeClient:
        """A client for one discovery or one stream read (closed by its user)."""
        if self.settings is None:
            raise SettingsError("the tap's config was not validated; fix the settings it names")
        return PersonyzeClient(self.settings)

    @classmethod
    def invoke(cls, **kwargs: Any) -> None:
        with reported_errors(cls.logger):
            super().invoke(**kwargs)

    @classmethod
    def cb_discover(cls, ctx: Any, param: Any, value: bool) -> None:
        with reported_errors(cls.logger):
            super().cb_discover(ctx, param, value)


if __name__ == "__main__":
    TapPersonyze.cli()
