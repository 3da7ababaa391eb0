"""destination-personyze as its image, killed mid-write and retried as Airbyte retries it.

Each attempt is a new container given no volume at all: the config and catalog are copied into
it before it starts (``docker cp``), so its rejects file and any ledger die with it. The first
attempt is killed (``docker kill``: SIGKILL) once it has echoed a STATE in the middle of the
product interactions and the sandbox has applied more of them after that STATE. A fresh
container then gets what Airbyte sends after a failed attempt: the records after the last STATE
the killed one emitted, or — when no state was committed — the whole input again. Read back
through the API, every profile, product and membership is there once and every product
interaction exactly as many times as the input holds it; the retry's summary says how many it
skipped as already in Personyze.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from connectors.api.query import Query, all_of, cond
from personyze_sandbox.process import RunningSandbox, running_sandbox
from target_personyze.destination_catalog import SYNC_MODES
from tests.airbyte_destination import protocol as p
from tests.image.docker_run import image_of, require_image
from tests.readback import get, lists_named, members, products_by_id, users_by_email

pytestmark = [pytest.mark.image_tests, pytest.mark.integration]

CONNECTOR = "destination-personyze"
PEOPLE = [f"retry{i}@example.com" for i in range(40)]
SKUS = [f"RETRY-{i}" for i in range(20)]
LISTS = ("Retry VIPs", "Retry newsletter")
STATUSES = ("viewed", "extra", "goal")
EVENTS_PER_STATE = 400  # interactions between two STATE messages
STATE_INTERVALS = 8  # 3,078 distinct interactions, 123 of them twice: 3,201
BATCH_ROWS = 40  # the engine's batches: ten requests to /rest/do between two STATEs
LATENCY_MS = 15
# Kill once this many interaction batches were applied after the chosen STATE: the killed
# attempt has then sent events after its last checkpoint, which the retry must not resend.
APPLIED_AFTER_STATE = 2
TIMEOUT = 120.0
Message = dict[str, Any]


def activated(name: str, obj: str, mode: str, key: str) -> dict[str, Any]:
    return p.configured_stream(
        name, object_name=obj, sync_mode=SYNC_MODES[mode].value, primary_key=[[key]]
    )


CATALOG = p.catalog(
    activated("contacts", "users", "upsert", "email"),
    activated("items", "products", "upsert", "internal_id"),
    activated("memberships", "user_list_users", "upsert", "email"),
    activated("buys", "products_interactions", "append", "email"),
)


def interaction(n: int) -> dict[str, Any]:
    status = STATUSES[n % len(STATUSES)]
    row: dict[str, Any] = {
        "email": PEOPLE[n % len(PEOPLE)],
        "product_internal_id": SKUS[(n * 7) % len(SKUS)],
        "status": status,
        "transaction_time": p.T0 + n,
    }
    if status == "goal":
        row |= {"quantity": 1 + n % 3, "amount": 10 + n % 50}
    return row


def interaction_batches() -> list[list[dict[str, Any]]]:
    """STATE_INTERVALS groups of interactions; every 25th is sent twice in a row (two identical
    views in one second are two events). Twins never straddle a STATE: those the API cannot
    tell apart after a crash (see the destination's docs)."""
    out: list[list[dict[str, Any]]] = []
    n = 0
    for _ in range(STATE_INTERVALS):
        group: list[dict[str, Any]] = []
        while len(group) < EVENTS_PER_STATE:
            group.append(interaction(n))
            if n % 25 == 3:
                group.append(interaction(n))
            n += 1
        out.append(group)
    return out


def input_messages() -> list[Message]:
    """Profiles, products, memberships, then the interactions, a STATE after each part and after
    each group of interactions; a STATE's position is the index of the message after it."""
    out: list[Message] = []

    def checkpoint(stream: str) -> None:
        out.append(p.state(stream, len(out) + 1))

    out += [p.record("contacts", {"email": e, "first_name": f"R{i}"}) for i, e in enumerate(PEOPLE)]
    checkpoint("contacts")
    out += [p.record("items", {"internal_id": s, "title": f"Retry item {s}"}) for s in SKUS]
    checkpoint("items")
    out += [
        p.record("memberships", {"email": e, "user_list_name": LISTS[i % 2]})
        for i, e in enumerate(PEOPLE[:30])
    ]
    checkpoint("memberships")
    for group in interaction_batches():
        out += [p.record("buys", row) for row in group]
        checkpoint("buys")
    return out


def identity(row: dict[str, Any], email_of: dict[int, str] | None = None) -> tuple[Any, ...]:
    """An interaction as Personyze stores it: user, product, status, time, quantity, amount."""
    email = row["email"] if email_of is None else email_of[int(row["user_id"])]
    return (
        email,
        row["product_internal_id"],
        row["status"],
        int(row["transaction_time"]),
        float(row.get("quantity") or 1),
        float(row.get("amount") or 0),
    )


def wanted_interactions(messages: list[Message]) -> Counter[tuple[Any, ...]]:
    return Counter(
        identity(m["record"]["data"])
        for m in messages
        if m["type"] == "RECORD" and m["record"]["stream"] == "buys"
    )


def landed_interactions(sb: RunningSandbox) -> Counter[tuple[Any, ...]]:
    """Every product interaction of these users and products, read through the API (one
    product per request: fewer than the 1000 rows an equality query may return)."""
    email_of = {u["user_id"]: e for e, u in users_by_email(sb, PEOPLE).items()}
    found: Counter[tuple[Any, ...]] = Counter()
    for sku in SKUS:
        rows = get(
            sb,
            Query(
                "products_interactions",
                where=all_of(cond("product_internal_id", "=", sku)),
                limit=1000,
            ),
        )
        assert len(rows) < 1000, f"{sku}: the read may have been cut at the row cap"
        found.update(identity(r, email_of) for r in rows if r["user_id"] in email_of)
    return found


def settled_interactions(sb: RunningSandbox, log: Path) -> Counter[tuple[Any, ...]]:
    """The interactions once the killed container's last requests are settled: a request the
    sandbox had read when the client died is still applied (and logged after the latency), so
    read until a whole read-back saw no new write logged."""
    for _ in range(10):
        writes = request_count(log, "POST ")
        found = landed_interactions(sb)
        if request_count(log, "POST ") == writes:
            return found
    raise AssertionError("the sandbox kept logging writes after the container was killed")


# -- one attempt: a fresh container, no volume, stdout read as it streams ------------------------


@dataclass
class Attempt:
    messages: list[Message] = field(default_factory=list)
    returncode: int | None = None
    stderr: str = ""
    mounts: Any = None

    def positions(self) -> list[int]:
        return p.Output(self.messages).positions()

    def text(self) -> str:
        return "\n".join(json.dumps(m) for m in self.messages) + "\n" + self.stderr

    def summary(self, stream: str) -> dict[str, str]:
        """The row of ``stream`` in the write summary logged at the end, by column."""
        (text,) = [
            line
            for line in p.Output(self.messages).logs()
            if line.startswith("Personyze write summary")
        ]
        rows = [line.split() for line in text.splitlines()[1:]]
        header = rows[0]
        (row,) = [r for r in rows if r and r[0] == stream]
        return dict(zip(header, row, strict=True))


def docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=True
    )


def request_count(log: Path, what: str = "") -> int:
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if what in line)


DO_WRITE = "POST /rest/do "


def attempt(
    image: str,
    config: dict[str, Any],
    messages: list[Message],
    *,
    log: Path,
    kill_after_state: int | None = None,
) -> Attempt:
    """One ``docker run`` of ``write`` as create + copy + start, so that the container has no
    volume. With ``kill_after_state``: SIGKILL once the STATE at that position was emitted and
    APPLIED_AFTER_STATE more /rest/do writes were applied by the sandbox."""
    name = f"personyze-retry-{uuid.uuid4().hex[:12]}"
    result = Attempt()
    with tempfile.TemporaryDirectory(prefix="personyze-retry-") as tmp:
        directory = Path(tmp)
        (directory / "config.json").write_text(json.dumps(config))
        (directory / "catalog.json").write_text(json.dumps(CATALOG))
        for path in (directory, *directory.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        docker(
            "create", "-i", "--network", "host", "--name", name, image,
            "write", "--config", "/config/config.json", "--catalog", "/config/catalog.json",
        )  # fmt: skip
        try:
            docker("cp", f"{directory}/.", f"{name}:/config")
            result.mounts = json.loads(docker("inspect", "-f", "{{json .Mounts}}", name).stdout)
            _run(name, messages, log, kill_after_state, result)
        finally:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    return result


def _run(
    name: str, messages: list[Message], log: Path, kill_after_state: int | None, result: Attempt
) -> None:
    proc = subprocess.Popen(
        ["docker", "start", "--attach", "--interactive", name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    state_seen = threading.Event()
    writes_at_state: list[int] = []

    def feed() -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
            proc.stdin.close()
        except BrokenPipeError:
            pass  # killed before it read everything

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            message = json.loads(line)  # every stdout line is a protocol message
            result.messages.append(message)
            if (
                message["type"] == "STATE"
                and message["state"]["stream"]["stream_state"]["position"] == kill_after_state
            ):
                writes_at_state.append(request_count(log, DO_WRITE))
                state_seen.set()

    stderr: list[str] = []

    def keep_stderr() -> None:
        assert proc.stderr is not None
        stderr.append(proc.stderr.read())

    threads = [
        threading.Thread(target=feed, daemon=True),
        threading.Thread(target=drain, daemon=True),
        threading.Thread(target=keep_stderr, daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        if kill_after_state is not None:
            assert state_seen.wait(TIMEOUT), "the STATE to kill after never came"
            deadline = time.monotonic() + TIMEOUT
            while request_count(log, DO_WRITE) < writes_at_state[0] + APPLIED_AFTER_STATE:
                assert proc.poll() is None, "the attempt ended before it could be killed"
                assert time.monotonic() < deadline, "no writes after the STATE"
                time.sleep(0.005)
            docker("kill", "--signal", "KILL", name)
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for thread in threads:
        thread.join(timeout=30)
    result.returncode = proc.returncode
    result.stderr = "".join(stderr)


# -- the test ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def image() -> str:
    return require_image(image_of(CONNECTOR))


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[RunningSandbox, Path]]:
    log = tmp_path / "requests.log"
    extra = ["--request-log", str(log)]
    with running_sandbox("empty", latency_ms=LATENCY_MS, extra_args=extra) as sb:
        yield sb, log


def interactions_state(messages: list[Message], group: int) -> int:
    """The position of the STATE after the ``group``-th group of interactions (1-based)."""
    buys = [
        m
        for m in messages
        if m["type"] == "STATE" and m["state"]["stream"]["stream_descriptor"]["name"] == "buys"
    ]
    return int(buys[group - 1]["state"]["stream"]["stream_state"]["position"])


@pytest.mark.parametrize("resend", ["after_last_state", "whole_input"])
def test_killed_mid_write_and_retried_in_a_fresh_container_loses_and_doubles_nothing(
    image: str, sandbox: tuple[RunningSandbox, Path], resend: str
) -> None:
    sb, log = sandbox
    config = {"api_key": sb.api_key, "base_url": sb.base_url, "batch_size_rows": BATCH_ROWS}
    messages = input_messages()
    wanted = wanted_interactions(messages)
    kill_after = interactions_state(messages, 3)

    first = attempt(image, config, messages, log=log, kill_after_state=kill_after)
    assert first.mounts == [], "the container must have no volume: nothing outlives it"
    assert first.returncode == 137, first.text()  # SIGKILL
    emitted = first.positions()
    assert kill_after in emitted and emitted[-1] < len(messages), emitted
    resume = emitted[-1]
    checkpointed = wanted_interactions(messages[:resume])
    after_kill = settled_interactions(sb, log)
    # killed after some but not all interactions landed, and after more than the last STATE
    # covers: the events the retry must recognise as already sent
    assert sum(checkpointed.values()) < sum(after_kill.values()) < sum(wanted.values())
    assert after_kill - wanted == Counter(), "the killed attempt sent something not in the input"
    sent_after_state = sum(after_kill.values()) - sum(checkpointed.values())

    second_input = messages[resume:] if resend == "after_last_state" else messages
    second = attempt(image, config, second_input, log=log)
    assert second.returncode == 0 and p.Output(second.messages).errors() == [], second.text()
    assert second.mounts == []
    assert second.positions() == [
        m["state"]["stream"]["stream_state"]["position"]
        for m in second_input
        if m["type"] == "STATE"
    ]

    # nothing lost, nothing doubled: each interaction as many times as the input holds it
    landed = landed_interactions(sb)
    assert landed == wanted, (
        f"missing {sum((wanted - landed).values())}, doubled {sum((landed - wanted).values())}"
    )
    users = users_by_email(sb, PEOPLE)
    assert {e: u["first_name"] for e, u in users.items()} == {
        e: f"R{i}" for i, e in enumerate(PEOPLE)
    }
    assert len(get(sb, Query("users", where=all_of(cond("email", ":", PEOPLE)), limit=1000))) == 40
    products = products_by_id(sb, SKUS)
    assert {k: v["title"] for k, v in products.items()} == {s: f"Retry item {s}" for s in SKUS}
    email_of = {u["user_id"]: e for e, u in users.items()}
    for n, name in enumerate(LISTS):
        (found,) = lists_named(sb, name)  # one list of each name, not one per attempt
        assert sorted(email_of[u] for u in members(sb, found["id"])) == sorted(PEOPLE[n:30:2])

    # the retry says what it did not send again: every event the killed attempt had sent
    buys = second.summary("buys")
    skipped = sent_after_state if resend == "after_last_state" else sum(after_kill.values())
    assert int(buys["skipped"]) == skipped > 0, second.text()
    assert int(buys["appended"]) == sum(wanted.values()) - sum(after_kill.values())
    note = f"buys: {skipped} event(s) already in Personyze (read back before sending)"
    assert note in second.text(), second.text()
