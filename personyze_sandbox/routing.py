"""One authorised request to one answer: routing to the store, the writer, `do` and the tracker.

Every write request is one transaction (Store.writing): what it changes, new columns included,
commits together or not at all.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.api.query import parse_path
from connectors.spec import ObjectSpec, Specs, default_specs
from personyze_sandbox.account import account_info, tracker_code_html
from personyze_sandbox.commands import DoRunner
from personyze_sandbox.injection import FAULTS, FaultPlan, RequestLog
from personyze_sandbox.request_body import request_body
from personyze_sandbox.rules import Behaviour, ReadRules
from personyze_sandbox.schema import SandboxApiError, bad_request
from personyze_sandbox.store import Store
from personyze_sandbox.tracker import Tracker
from personyze_sandbox.tracker_request import failure
from personyze_sandbox.writes import Writer


@dataclass(frozen=True)
class SandboxConfig:
    api_key: str
    db_path: Path
    host: str = "127.0.0.1"
    port: int = 0
    latency_ms: int = 0
    fault_rate: float = 0.0
    seed: int = 0
    slow_ms: int = 1500
    behaviour: Behaviour = "documented"
    row_caps: bool = True
    do_accepts_tracker_commands: bool = False
    request_log: Path | None = None
    body_timeout_ms: int = 30_000
    fault_kinds: tuple[str, ...] = FAULTS


class Sandbox:
    """Everything a request handler needs, built once from the specs."""

    def __init__(self, config: SandboxConfig, specs: Specs | None = None) -> None:
        self.config = config
        self.specs = specs or default_specs()
        rules = ReadRules(self.specs.connection.limits, config.behaviour, config.row_caps)
        self.store = Store(config.db_path, self.specs, rules)
        self.writer = Writer(self.store, config.behaviour)
        self.do = DoRunner(self.writer, accept_tracker_only=config.do_accepts_tracker_commands)
        self.tracker = Tracker(self.store, DoRunner(self.writer))
        self.faults = FaultPlan(config.fault_rate, config.seed, config.fault_kinds)
        self.requests = RequestLog(config.request_log)
        self._serialised: dict[str, threading.Lock] = {
            name: threading.Lock()
            for name, spec in self.specs.objects.items()
            if spec.write.serialised_inserts
        }
        self._request = threading.local()  # per request: was the latency already applied?
        user, key = self.specs.connection.auth_user, config.api_key
        self._expected_auth = base64.b64encode(f"{user}:{key}".encode()).decode()

    def authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            raise SandboxApiError(401, "Please, log in")
        token = header[len("Basic ") :].strip()
        try:
            base64.b64decode(token, validate=True)
        except (binascii.Error, ValueError):
            raise SandboxApiError(401, "Please, log in") from None
        if token != self._expected_auth:
            raise SandboxApiError(401, "Invalid API key")
        return True

    def begin_request(self) -> None:
        self._request.delayed = False

    def delay(self) -> None:
        """Apply --latency-ms once per request, wherever the request's time is best spent."""
        if self.config.latency_ms and not getattr(self._request, "delayed", False):
            self._request.delayed = True
            time.sleep(self.config.latency_ms / 1000)

    def handle(
        self, method: str, raw_path: str, body: bytes, content_type: str | None = None
    ) -> tuple[int, str, str]:
        """Status, content type and body text for one authorised request."""
        q = parse_path(raw_path)
        spec = self.specs.objects.get(q.object)
        if spec is None or spec.kind == "recommendations":  # a stream, not a REST object
            raise bad_request(f"Unknown object {q.object}")
        if method not in spec.methods:
            raise bad_request(f"Method {method} is not allowed on {spec.name}")
        if spec.kind == "account":
            return 200, "application/json", _json(account_info(self.store))
        if spec.kind == "html":
            return 200, "text/html; charset=utf-8", tracker_code_html(self.store)
        if spec.kind == "tracker":
            return self._tracker(body)
        if method == "GET":
            self.delay()
            return 200, "application/json", _json(self.store.read(spec, q))
        payload = request_body(body, content_type)
        if spec.kind == "commands":
            return self._do(payload)
        if method == "POST":
            return self._post(spec, payload)
        if not isinstance(payload, dict) and method == "PUT":
            raise bad_request(f"The body of PUT {spec.name} must be a JSON object")
        with self.store.writing() as conn:
            if method == "PUT":
                count = self.writer.update(conn, spec, q, payload)
            else:
                count = self.writer.delete(conn, spec, q)
        self.delay()
        return 200, "application/json", _json(count)

    def _post(self, spec: ObjectSpec, payload: Any) -> tuple[int, str, str]:
        if not isinstance(payload, dict):
            raise bad_request(f"The body of POST {spec.name} must be a JSON object")
        lock = self._serialised.get(spec.name)
        if lock is None:
            with self.store.writing() as conn:
                new_id = self.writer.insert(conn, spec, payload)
            self.delay()
            return 200, "application/json", _json(new_id)
        rule = spec.write.serialised_inserts
        assert rule is not None
        if not lock.acquire(timeout=rule.wait_seconds):
            self._request.delayed = True  # the wait for the lock was this answer's latency
            raise bad_request(rule.error)
        try:
            self.delay()  # the insert itself takes the request's time while others wait
            with self.store.writing() as conn:
                new_id = self.writer.insert(conn, spec, payload)
        finally:
            lock.release()
        return 200, "application/json", _json(new_id)

    def _tracker(self, body: bytes) -> tuple[int, str, str]:
        try:  # tracker failures are 500s with the message as text (api §7.6)
            payload = request_body(body, "application/json")
        except SandboxApiError as exc:
            raise failure(exc.text) from None
        answer = self.tracker.handle(payload)
        self.delay()
        return 200, "application/json", _json(answer)

    def _do(self, batch: Any) -> tuple[int, str, str]:
        with self.store.writing() as conn:
            failure_text = self.do.run(conn, batch)  # commands before a failing one stay
        self.delay()
        if failure_text is not None:
            raise bad_request(failure_text)
        return 200, "text/plain", ""


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
