"""What a matrix cell must end with, read back through the API from a fault-free sandbox on the
cell's database: every row the API lets us confirm exactly once (profiles, products, articles,
lists, memberships added and mirrored, product interactions), and article interactions (which
no API object returns, so they are counted in the sandbox's SQLite file) at most once, each
missing one reported as "outcome unknown", at most one request's worth per lost answer or kill.
"""

from __future__ import annotations

import json
import sqlite3
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from connectors.api.query import Query, all_of, cond
from connectors.spec import default_specs
from personyze_sandbox.dataset import load_dataset
from personyze_sandbox.process import RunningSandbox, new_api_key, running_sandbox
from personyze_sandbox.routing import Sandbox, SandboxConfig
from tests.matrix.write_cells import (
    ADD_LIST,
    BATCH,
    MIRROR_LIST,
    OLD_MEMBERS,
    Records,
    Run,
    matrix_input,
)
from tests.readback import get, lists_named, members, users_by_email

FAULT_KINDS = "500,503,drop,slow,lost"
WORKERS = 4
COMMAND_STATUS = {
    c.name.lower(): c.interaction_status
    for c in default_specs().commands.commands
    if c.target == "article" and c.interaction_status
}


@contextmanager
def cell_sandbox(tmp: Path, rate: float, seed: int) -> Iterator[tuple[RunningSandbox, Path]]:
    """The cell's sandbox with its request log, serving the writers with faults of every kind
    at ``rate``; its database already holds the mirror list and its old members."""
    db, log = tmp / "sandbox.db", tmp / "requests.log"
    _seed(db)
    args = ["--fault-kinds", FAULT_KINDS, "--slow-ms", "200", "--request-log", str(log)]
    with running_sandbox("empty", db_path=db, fault_rate=rate, seed=seed, extra_args=args) as sb:
        yield sb, log


def _seed(db: Path) -> None:
    """The mirror list and its old members, through the sandbox's own request handling (in
    this process: no faults, no HTTP server to start)."""
    sandbox = Sandbox(SandboxConfig(api_key=new_api_key(), db_path=db))
    load_dataset(sandbox.store, "empty")

    def post(obj: str, body: dict[str, Any]) -> int:
        status, _, text = sandbox.handle("POST", obj, json.dumps(body).encode())
        assert status == 200, text
        return int(text)

    list_id = post("user_lists", {"name": MIRROR_LIST})
    for old in OLD_MEMBERS:
        user_id = post("users", {"email": old, "first_name": "Old"})
        post("user_list_users", {"user_list_id": list_id, "user_id": user_id})
    sandbox.store.conn().close()


def selected_cells(request: Any) -> set[str]:
    """The names of the cells this session selected of the requesting module (``-k`` and node
    ids narrow them), so that the module runs only those, once for all their tests."""
    return {
        item.callspec.params["cell"]
        for item in request.session.items
        if getattr(item, "module", None) is request.module and hasattr(item, "callspec")
    }


def run_cells(cells: dict[str, Callable[[Path], list[str]]], root: Path) -> dict[str, list[str]]:
    """Every cell at once (they mostly wait: on backoff, on processes starting), each in its own
    directory; a cell that raises reports its traceback as its problem."""

    def one(name: str) -> list[str]:
        tmp = root / name
        tmp.mkdir()
        try:
            return cells[name](tmp)
        except Exception:
            return [f"the cell itself failed: {traceback.format_exc()}"]

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return dict(zip(cells, pool.map(one, cells), strict=True))


def problems(tmp: Path, api_key: str, runs: list[Run]) -> list[str]:
    """Everything wrong with the cell's end state (empty: the cell passes)."""
    out = [
        f"run {n} exited {r.returncode}: {r.stderr[-1500:]}"
        for n, r in enumerate(runs)
        if not r.killed and r.returncode != 0
    ]
    out += [
        f"run {n} showed the key"
        for n, r in enumerate(runs)
        if api_key in r.stderr or any(api_key in line for line in r.stdout)
    ]
    if runs[-1].killed:
        out.append("the last run was killed: it never completed")
    with running_sandbox("empty", db_path=tmp / "sandbox.db") as sb:
        out += _read_back(sb, matrix_input())
        out += _articles(sb, tmp, sum(r.killed for r in runs))
    log = tmp / "requests.log"
    summary = {
        "runs": [
            {
                "killed": r.killed,
                "exit": r.returncode,
                "states": len(r.stdout),
                "seconds": round(r.seconds, 1),
            }
            for r in runs
        ],
        "requests": log.read_text().count("\n"),
        "faults": log.read_text().count(" fault:"),
        "lost_do_answers": _lost_do_answers(log),
        "problems": out,
    }
    (tmp / "cell.json").write_text(json.dumps(summary, indent=1))  # for a person looking at it
    return out


def _read_back(sb: RunningSandbox, records: Records) -> list[str]:
    out: list[str] = []
    emails = [r["email"] for r in records["users"]]
    all_users = get(sb, Query("users", order_by=("user_id",), limit=1000))
    counts = Counter(u["email"] for u in all_users)
    if sorted(counts) != sorted(emails + OLD_MEMBERS) or max(counts.values()) != 1:
        extra = {e: n for e, n in counts.items() if n > 1 or e not in emails + OLD_MEMBERS}
        missing = sorted(set(emails + OLD_MEMBERS) - set(counts))
        out.append(f"users: missing {missing}, duplicated or unexpected {extra}")
    users = users_by_email(sb, emails + OLD_MEMBERS)
    for r in records["users"]:
        got = users.get(r["email"], {})
        if (got.get("first_name"), got.get("custom_t_1")) != (r["first_name"], r["custom_t_1"]):
            out.append(f"user {r['email']}: {got.get('first_name')}, {got.get('custom_t_1')}")
    for obj in ("products", "articles"):
        rows = get(sb, Query(obj, order_by=("id",), limit=1000))
        got_rows = sorted((p["internal_id"], p["title"], p.get("price")) for p in rows)
        want = sorted((r["internal_id"], r["title"], r.get("price")) for r in records[obj])
        if got_rows != want:
            out.append(f"{obj}: {sorted(set(got_rows) ^ set(want))} differ ({len(rows)} rows)")
    lists = get(sb, Query("user_lists", order_by=("id",)))
    if sorted(lst["name"] for lst in lists) != sorted([ADD_LIST, MIRROR_LIST]):
        out.append(f"user_lists: {[lst['name'] for lst in lists]}")
    for stream, name in (("vip_add", ADD_LIST), ("vip_mirror", MIRROR_LIST)):
        found = lists_named(sb, name)
        want_ids = {users[r["email"]]["user_id"] for r in records[stream] if r["email"] in users}
        got_ids = members(sb, found[0]["id"]) if found else set()
        if got_ids != want_ids:
            by_id = {u["user_id"]: e for e, u in users.items()}
            out.append(
                f"{stream}: missing {sorted(by_id.get(i, i) for i in want_ids - got_ids)}, "
                f"extra {sorted(by_id.get(i, i) for i in got_ids - want_ids)}"
            )
    out += _product_events(sb, records, users)
    return out


def _product_events(
    sb: RunningSandbox, records: Records, users: dict[str, dict[str, Any]]
) -> list[str]:
    skus = sorted({r["product_internal_id"] for r in records["products_interactions"]})
    rows = get(
        sb,
        Query(
            "products_interactions",
            where=all_of(cond("product_internal_id", ":", skus)),
            limit=1000,
        ),
    )
    by_id = {u["user_id"]: e for e, u in users.items()}
    got = Counter(
        (
            by_id.get(r["user_id"]),
            r["product_internal_id"],
            r["status"],
            r["quantity"],
            r["transaction_time"],
        )
        for r in rows
    )
    want = Counter(
        (r["email"], r["product_internal_id"], r["status"], r["quantity"], r["transaction_time"])
        for r in records["products_interactions"]
    )
    if got == want:
        return []
    lost, doubled = want - got, got - want
    return [
        f"products_interactions: {sum(lost.values())} lost {sorted(lost)[:5]}, "
        f"{sum(doubled.values())} duplicated or unexpected {sorted(doubled)[:5]}"
    ]


def _articles(sb: RunningSandbox, tmp: Path, kills: int) -> list[str]:
    records = matrix_input()["articles_interactions"]
    users = users_by_email(sb, [r["email"] for r in records])
    by_id = {u["user_id"]: e for e, u in users.items()}
    with sqlite3.connect(sb.db_path) as conn:
        rows = conn.execute(
            "SELECT user_id, article_internal_id, status FROM _articles_interactions"
        ).fetchall()
    got = Counter((by_id.get(u), a, s) for u, a, s in rows)
    want = Counter((r["email"], r["article_internal_id"], r["status"]) for r in records)
    out = []
    if got - want:
        out.append(f"articles_interactions: duplicated or unexpected {sorted(got - want)}")
    reported, other = _rejects(tmp)
    out += [f"rejected: {line}" for line in other]
    missing = set(want - got)
    if not missing <= reported:
        out.append(f"articles_interactions lost silently: {sorted(missing - reported)}")
    lost_answers = _lost_do_answers(tmp / "requests.log")
    if len(missing) > (lost_answers + kills) * BATCH:
        out.append(
            f"articles_interactions: {len(missing)} lost, more than one request's worth "
            f"({BATCH}) for each of {lost_answers} lost answers and {kills} kills"
        )
    return out


def _rejects(tmp: Path) -> tuple[set[tuple[Any, ...]], list[str]]:
    """Article events reported as outcome unknown; any other reject, as text."""
    reported: set[tuple[Any, ...]] = set()
    other: list[str] = []
    path = tmp / "rejects.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    for line in lines:
        entry = json.loads(line)
        record = entry["record"]
        if entry["stream"] != "articles_interactions" or "outcome unknown" not in entry["reason"]:
            other.append(line[:300])
        elif isinstance(record, dict):
            reported.add((record["email"], record["article_internal_id"], record["status"]))
        else:  # a command left pending by a killed run: [key type, key, command, article]
            reported.add((record[1], record[3], COMMAND_STATUS[str(record[2]).lower()]))
    return reported, other


def _lost_do_answers(log: Path) -> int:
    lines = log.read_text().splitlines() if log.exists() else []
    return sum(
        1
        for ln in lines
        if ln.startswith("POST /rest/do fault:") and ("fault:drop" in ln or "fault:lost" in ln)
    )
