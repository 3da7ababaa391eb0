"""Which streams a reader offers, which it selects by default, in which order it reads them, and
what a catalog may select: one answer for both read adapters.

A read must never change the account. The one stream whose read does (``recommendations``:
every read is a tracker page view, see ``connectors.read.recommendations``) is therefore:

- offered only when the user consented with the setting named for that effect,
  ``record_recommendation_page_views`` (a catalog cannot select what discover did not offer,
  and Airbyte has no "not selected by default": its UI and Meltano's default ``*.*`` select
  every stream they are offered);
- even then not selected by default (Singer ``selected-by-default: false``);
- read after every other stream, so the rows it changes (users' sessions, delivered
  interactions) are read as they were before the sync.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from connectors.read.streams import StreamDefinition
from connectors.settings import ConnectionSettings, SettingsError
from connectors.spec import ObjectSpec

T = TypeVar("T")

# The setting by which a user consents to what reading a stream of that kind writes.
OPT_IN = {"recommendations": "record_recommendation_page_views"}
WRITES = {
    "recommendations": (
        "every read of it records a page view per configured user in your account (a "
        "'delivered' products_interactions row per product shown, and a new tracker session "
        "that updates the user's profile when none is open)"
    )
}


class SelectionError(SettingsError):
    """A catalog selects a stream this reader does not offer; the message names it, the
    streams there are, and what to do."""


def writes_to_account(spec: ObjectSpec) -> bool:
    return spec.kind in OPT_IN


def opted_in(spec: ObjectSpec, settings: ConnectionSettings | None) -> bool:
    """Whether the user consented to what reading ``spec`` writes (always, for the others)."""
    if not writes_to_account(spec):
        return True
    return settings is not None and bool(getattr(settings, OPT_IN[spec.kind]))


def offered(
    definitions: Iterable[StreamDefinition], settings: ConnectionSettings | None
) -> list[StreamDefinition]:
    """The streams a reader shows in discover: a writing stream only on opt-in."""
    return [d for d in definitions if opted_in(d.spec, settings)]


def selected_by_default(definition: StreamDefinition) -> bool:
    return not writes_to_account(definition.spec)


def in_read_order(items: Iterable[T], spec_of: Callable[[T], ObjectSpec]) -> list[T]:
    """``items`` in their order, except that streams that write to the account come last."""
    listed = list(items)
    return [i for i in listed if not writes_to_account(spec_of(i))] + [
        i for i in listed if writes_to_account(spec_of(i))
    ]


def check_selection(
    selected: Iterable[str],
    available: Sequence[ObjectSpec],
    settings: ConnectionSettings | None,
) -> None:
    """A ``SelectionError`` when ``selected`` names a stream that is not in ``available`` or
    that writes to the account without the user's opt-in."""
    by_name = {s.name: s for s in available}
    offered_names = sorted(n for n, s in by_name.items() if opted_in(s, settings))
    problems: list[str] = []
    for name in dict.fromkeys(selected):
        spec = by_name.get(name)
        if spec is not None and opted_in(spec, settings):
            continue
        if spec is not None:
            problems.append(
                f"stream {name!r} writes to your account: {WRITES[spec.kind]}; it is read only "
                f"with {OPT_IN[spec.kind]}: true. Set that if you accept it, or remove the "
                "stream from the catalog"
            )
            continue
        close = difflib.get_close_matches(name, offered_names, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"stream {name!r} is not a Personyze stream{hint}")
    if problems:
        raise SelectionError(
            "catalog: "
            + "; ".join(problems)
            + ". Fix the catalog or discover it again; the streams are: "
            + ", ".join(offered_names)
        )
