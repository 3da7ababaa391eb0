"""`personyze-recommend`: log interactions and print recommendations through tracker-v1.

The Python counterpart of the PHP example of the custom-recommendations guide (seed 001):

    personyze-recommend --viewed SKU-1 --viewed SKU-2        # products viewed
    personyze-recommend --viewed SKU-1 --action 10           # ... viewed from action 10
    personyze-recommend --cart SKU-1 | --liked | --purchased | --removed | --unliked
    personyze-recommend --purchased-all | --unliked-all      # whole cart bought, wish list cleared

Every run ends with ``Navigate`` to the document (a new page, so actions run again) and prints
each JSON recommendation action as ``Action N: <json>`` (or everything as JSON with --json).
The session id of each answer is stored in a file and sent back next time.

Settings: PERSONYZE_API_KEY (or --api-key-file; the key is never a command-line value, which
other users could read in the process list), PERSONYZE_BASE_URL (or --base-url),
PERSONYZE_TRACKER_USER_ID (or --user-id; default: crc32 of /etc/machine-id, as in the PHP).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from connectors import __version__
from connectors.api.errors import PersonyzeError
from connectors.api.redact import redact
from connectors.settings import ConnectionSettings, SettingsError
from connectors.tracker.client import (
    Device,
    TrackerClient,
    TrackerInputError,
    TrackerResponse,
    check_user_id,
    navigate,
)

PROG = "personyze-recommend"
DEFAULT_BASE_URL = "https://app.personyze.com/rest"
# option -> (command, takes an item id); in the order the commands are sent
INTERACTIONS = {
    "viewed": ("Product Viewed", True),
    "cart": ("Product Added to cart", True),
    "liked": ("Product Liked", True),
    "purchased": ("Product Purchased", True),
    "removed": ("Product Removed from cart", True),
    "unliked": ("Product Unliked", True),
    "purchased_all": ("Products Purchased", False),
    "unliked_all": ("Products Unliked", False),
}


class CliError(Exception):
    """A problem the user can fix; printed as one line."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a == "--api-key" or a.startswith("--api-key=") for a in args):
        # refused before argparse, whose error would echo the key
        print(
            f"{PROG}: the API key is not taken from the command line (other users can read it "
            "there); set PERSONYZE_API_KEY or use --api-key-file",
            file=sys.stderr,
        )
        raise SystemExit(2)
    p = argparse.ArgumentParser(
        allow_abbrev=False,
        prog=PROG,
        description="Log product interactions to Personyze and print the recommendations.",
        epilog="Environment: PERSONYZE_API_KEY, PERSONYZE_BASE_URL, PERSONYZE_TRACKER_USER_ID.",
    )
    for option, (name, takes_item) in INTERACTIONS.items():
        flag = "--" + option.replace("_", "-")
        if takes_item:
            p.add_argument(flag, action="append", default=[], metavar="ID", help=f"log {name!r}")
        else:
            p.add_argument(flag, action="store_true", help=f"log {name!r}")
    p.add_argument("--action", type=int, default=0, help="attribute the items to action N")
    p.add_argument("--document", default="Default", help="document to navigate to")
    p.add_argument("--user-id", help="tracker user id (32-bit integer)")
    p.add_argument("--session-file", type=Path, help="where the session id is kept")
    p.add_argument("--new-session", action="store_true", help="start a new session")
    p.add_argument("--base-url", help=f"REST root (default {DEFAULT_BASE_URL})")
    p.add_argument("--api-key-file", type=Path, help="file holding the API key")
    p.add_argument("--json", action="store_true", help="print the answer as one JSON object")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p.parse_args(args)


def commands_of(args: argparse.Namespace) -> list[list[Any]]:
    """The interaction commands of the options, then Navigate (as the PHP builds them)."""
    out: list[list[Any]] = []
    for option, (name, takes_item) in INTERACTIONS.items():
        value = getattr(args, option)
        for item in value if takes_item else ([None] if value else []):
            cmd: list[Any] = [name] if item is None else [name, item]
            if item is not None and args.action > 0:
                cmd += ["action_id", args.action]
            out.append(cmd)
    return [*out, navigate(args.document)]


def default_user_id(machine_id: Path = Path("/etc/machine-id")) -> int:
    try:
        data = machine_id.read_bytes()
    except OSError:
        data = b"-"
    return zlib.crc32(data)


def detect_device(environ: Mapping[str, str]) -> Device:
    """This machine, as the PHP example detects it (language from LANG)."""
    lang = (environ.get("LANG") or "")[:2].lower()
    offset = -(time.altzone if time.localtime().tm_isdst > 0 else time.timezone) / 3600
    return Device(
        languages=lang if re.fullmatch(r"[a-z]{2}", lang) else None,
        time_zone=int(offset) if offset.is_integer() else offset,
        os=f"{platform.system()}/{platform.release()}".strip("/") or None,
        platform=platform.machine() or None,
    )


def session_path(args: argparse.Namespace, user_id: int, environ: Mapping[str, str]) -> Path:
    if args.session_file is not None:
        return Path(args.session_file)
    cache = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / PROG / f"session-{user_id}"


def read_session(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CliError(f"cannot read the session file {path}: {exc.strerror}") from None
    return text or None


def write_session(path: Path, session_id: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(session_id)
        os.replace(tmp, path)
    except OSError as exc:
        raise CliError(f"cannot write the session file {path}: {exc.strerror}") from None


def settings_of(args: argparse.Namespace, environ: Mapping[str, str]) -> ConnectionSettings:
    key = environ.get("PERSONYZE_API_KEY", "").strip()
    if args.api_key_file is not None:
        try:
            key = args.api_key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            # the path is not repeated: it may be the key itself, given by mistake
            raise CliError(
                f"cannot read the file given to --api-key-file ({exc.strerror}); give the path "
                "of a file that holds the key, or set PERSONYZE_API_KEY"
            ) from None
    if not key:
        raise CliError("no API key: set PERSONYZE_API_KEY or use --api-key-file")
    base_url = args.base_url or environ.get("PERSONYZE_BASE_URL") or DEFAULT_BASE_URL
    return ConnectionSettings.from_config({"api_key": key, "base_url": base_url})


def render(answer: TrackerResponse, as_json: bool) -> list[str]:
    recommended = [a for a in answer.actions if a.items is not None]
    if as_json:
        actions = [{"id": a.id, "name": a.name, "items": a.items} for a in recommended]
        body = {"session_id": answer.session_id, "actions": actions}
        return [json.dumps(body, ensure_ascii=False)]
    return [
        f"Action {a.id}: {json.dumps(a.items, separators=(',', ':'), ensure_ascii=False)}"
        for a in recommended
    ]


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> list[str]:
    raw_user = args.user_id or environ.get("PERSONYZE_TRACKER_USER_ID")
    user_id = check_user_id(raw_user) if raw_user else default_user_id()
    settings = settings_of(args, environ)
    path = session_path(args, user_id, environ)
    session = read_session(path)
    commands = commands_of(args)
    with TrackerClient(
        settings,
        sessions={user_id: session} if session else None,
        user_agent=f"{PROG}/{__version__}",
    ) as tracker:
        answer = tracker.send(
            user_id, commands, device=detect_device(environ), new_session=args.new_session
        )
    if answer.session_id is not None and answer.session_id != session:
        write_session(path, answer.session_id)
    return render(answer, args.json)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    environ = os.environ
    secrets = [environ.get("PERSONYZE_API_KEY", "")]
    try:
        for line in run(args, environ):
            print(line)
    except (CliError, SettingsError, TrackerInputError, PersonyzeError) as exc:
        message = " ".join(str(exc).split())
        print(f"{PROG}: {redact(message, [s for s in secrets if s])}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
