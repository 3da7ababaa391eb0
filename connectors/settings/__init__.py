"""Connection settings: the settings of ``specs/connection.json`` validated into
``ConnectionSettings`` (messages name the setting and never show the key), and their JSON
Schema for the frameworks' UIs (``connectors.settings.schema``); the JSON files a run is given
(settings, catalog, state) read with errors that say what to do (``connectors.settings.files``).

Owns: parsing and checking config values (start_date, base_url and the https rule, tracker
user ids), reading the input files as JSON. May import: ``connectors.spec`` only.
"""

from connectors.settings.connection import ConnectionSettings, setting_values
from connectors.settings.values import (
    MAX_UNIX_SECONDS,
    SettingsError,
    checked_base_url,
    is_loopback,
    parse_start_date,
    tracker_user_id,
    tracker_user_ids,
)

__all__ = [
    "MAX_UNIX_SECONDS",
    "ConnectionSettings",
    "SettingsError",
    "checked_base_url",
    "is_loopback",
    "parse_start_date",
    "setting_values",
    "tracker_user_id",
    "tracker_user_ids",
]
