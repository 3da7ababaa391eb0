"""Which config keys a connector accepts besides the settings of specs/connection.json, and the
message that names an unknown one (a misspelled ``ledger_path`` must fail, not be ignored).

The frameworks put their own keys into the same config object, so those are accepted as they
are (the adapters' tests check these lists against the installed frameworks):

- singer-sdk adds the built-in settings of a plugin's capabilities (stream maps, flattening,
  batch, activate-version, SQL decimals, and a target's load method, batch size, validation,
  record metadata, hard delete, default schema): every settings schema of
  ``singer_sdk.helpers.capabilities``;
- Meltano writes only the plugin's settings into the config file, but its extras (``_select``,
  ``_metadata``, … in ``meltano.core.plugin``) are accepted should a hand-written config carry
  them;
- airbyte-cdk reads ``_limit`` and ``_page_size`` (``InternalConfig.KEYWORDS``) from the
  config of a source.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from typing import Any

SINGER_SDK_KEYS = frozenset(
    {
        "add_record_metadata",
        "batch_config",
        "batch_size_rows",
        "default_target_schema",
        "emit_activate_version_messages",
        "faker_config",
        "flattening_enabled",
        "flattening_max_depth",
        "flattening_max_key_length",
        "flattening_separator",
        "hard_delete",
        "load_method",
        "process_activate_version_messages",
        "stream_map_config",
        "stream_maps",
        "use_singer_decimal",
        "validate_records",
    }
)
MELTANO_EXTRAS = frozenset(
    {
        "_catalog",
        "_config_path",
        "_dialect",
        "_load_schema",
        "_log_parser",
        "_mapping_name",
        "_mappings",
        "_metadata",
        "_package_name",
        "_schema",
        "_select",
        "_select_filter",
        "_state",
        "_update",
        "_use_cached_catalog",
        "_vars",
    }
)
AIRBYTE_KEYS = frozenset({"_limit", "_page_size"})
FRAMEWORK_KEYS = SINGER_SDK_KEYS | MELTANO_EXTRAS | AIRBYTE_KEYS


def unknown_keys_problem(
    config: Mapping[str, Any], settings: Collection[str], other_side: Mapping[str, str]
) -> str | None:
    """What is wrong with the keys of ``config`` that are neither one of ``settings`` nor a
    framework's own, or None. ``other_side`` maps the settings of the other side (a write
    setting given to a reader) to who uses them."""
    problems: list[str] = []
    for key in config:
        if key in settings or key in FRAMEWORK_KEYS:
            continue
        if key in other_side:
            problems.append(f"{key}: is a setting of {other_side[key]}, not of this connector")
            continue
        hint = _closest(key, [*settings, *other_side])
        if hint is not None and hint in other_side:
            hint = f"{hint}, a setting of {other_side[hint]}"
        problems.append(f"{key}: is not a setting" + (f" (did you mean {hint}?)" if hint else ""))
    if not problems:
        return None
    return (
        "; ".join(problems)
        + f"; rename or remove {'it' if len(problems) == 1 else 'them'}. The settings are: "
        + ", ".join(sorted(settings))
    )


def _closest(key: str, settings: Iterable[str]) -> str | None:
    names = list(settings)
    lowered = {n.lower(): n for n in names}
    if key.strip().lower() in lowered:  # case or spaces: ``API_KEY``, ``base_url ``
        return lowered[key.strip().lower()]
    found = difflib.get_close_matches(key.strip().lower(), names, n=1, cutoff=0.6)
    return found[0] if found else None
