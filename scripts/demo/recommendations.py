"""Demo step 4: the one stream that writes to the account, read last and only on opt-in.

`recommendations` asks tracker-v1 for what each configured user would be shown, and every read
is a page view: Personyze logs a `delivered` interaction per product shown and, for a user
without an open session, starts one (session_counter + 1, data_last_modified = now). So the
reads before this step leave the account unchanged and agree with each other; this step sets
`record_recommendation_page_views` and prints what the read recorded, per user."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from steps import BIN, run, step

from connectors.api.client import PersonyzeClient
from connectors.api.query import Query, all_of, cond
from connectors.settings import ConnectionSettings
from personyze_sandbox.process import RunningSandbox

# tracker user ids whose recommendations the demo fetches (they are demo users)
DEMO_TRACKER_USERS = [5, 42, 1337]


def account_state(sb: RunningSandbox) -> dict[int, tuple[int, int]]:
    """Per demo user: `delivered` interactions and session_counter, read through the API."""
    settings = ConnectionSettings.from_config({"api_key": sb.api_key, "base_url": sb.base_url})
    out: dict[int, tuple[int, int]] = {}
    with PersonyzeClient(settings) as client:
        for user in DEMO_TRACKER_USERS:
            delivered = client.get(
                Query(
                    "products_interactions",
                    where=all_of(cond("user_id", "=", user), cond("status", "=", "delivered")),
                    column="time",
                    limit=1000,
                )
            )
            (profile,) = client.get(Query("users", where=all_of(cond("user_id", "=", user))))
            out[user] = (len(delivered), int(profile.get("session_counter") or 0))
    return out


def recommendations_opt_in(sb: RunningSandbox) -> None:
    step("Opt-in, read last: recommendations (record_recommendation_page_views: true)")
    config = {
        "api_key": sb.api_key,
        "base_url": sb.base_url,
        "recommendation_user_ids": DEMO_TRACKER_USERS,
        "record_recommendation_page_views": True,
    }
    before = account_state(sb)
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "config.json"
        config_path.write_text(json.dumps(config))
        config_path.chmod(0o600)
        found = run([str(BIN / "source-personyze"), "discover", "--config", str(config_path)])
        streams = [
            s
            for line in found.stdout.splitlines()
            for s in json.loads(line).get("catalog", {}).get("streams", [])
            if s["name"] == "recommendations"
        ]
        catalog: dict[str, Any] = {
            "streams": [
                {"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "append"}
                for s in streams
            ]
        }
        catalog_path = Path(tmp) / "catalog.json"
        catalog_path.write_text(json.dumps(catalog))
        read = run(
            [str(BIN / "source-personyze"), "read", "--config", str(config_path),
             "--catalog", str(catalog_path)]
        )  # fmt: skip
    records = [json.loads(line) for line in read.stdout.splitlines()]
    per_user: dict[int, int] = {}
    for message in records:
        if message["type"] == "RECORD":
            user = message["record"]["data"]["user_id"]
            per_user[user] = per_user.get(user, 0) + 1
    after = account_state(sb)
    for user in DEMO_TRACKER_USERS:
        delivered = after[user][0] - before[user][0]
        print(
            f"  user {user:<6} {per_user.get(user, 0):>3} recommended items; recorded in the "
            f"account: {delivered} delivered interactions, session_counter "
            f"{before[user][1]} -> {after[user][1]}"
        )
