"""The sandbox HTTP server: auth, routing, latency and fault injection around the store."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from connectors.api.query import QuerySyntaxError, parse_path
from connectors.spec import ObjectSpec, Specs, default_specs
from personyze_sandbox.account import account_info, tracker_code_html
from personyze_sandbox.commands import DoRunner
from personyze_sandbox.injection import FaultPlan, RequestLog
from personyze_sandbox.rules import Behaviour, ReadRules
from personyze_sandbox.schema import SandboxApiError, bad_request
from personyze_sandbox.store import Store
from personyze_sandbox.tracker import Tracker
from personyze_sandbox.writes import Writer

log = logging.getLogger("personyze.sandbox")


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
        self.faults = FaultPlan(config.fault_rate, config.seed)
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

    def handle(self, method: str, raw_path: str, body: bytes) -> tuple[int, str, str]:
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
        if spec.kind == "commands":
            return self._do(body)
        if method == "GET":
            self.delay()
            return 200, "application/json", _json(self.store.read(spec, q))
        payload = _body(body)
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
            payload = json.loads(body.decode("utf-8", errors="replace") or "null")
        except json.JSONDecodeError:
            raise SandboxApiError(500, "The request body is not valid JSON") from None
        answer = self.tracker.handle(payload)
        self.delay()
        return 200, "application/json", _json(answer)

    def _do(self, body: bytes) -> tuple[int, str, str]:
        batch = _body(body)
        with self.store.write_lock:
            conn = self.store.conn()
            try:
                failure = self.do.run(conn, batch)
            except BaseException:
                conn.rollback()  # never leave the write transaction open (it locks the file)
                raise
            conn.commit()  # commands before a failing one stay applied
        self.delay()
        if failure is not None:
            raise bad_request(failure)
        return 200, "text/plain", ""


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _body(body: bytes) -> Any:
    """JSON whatever the content type says; form encoding as the legacy fallback (api §2.2)."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pairs = parse_qsl(text, keep_blank_values=True)
        if pairs and all(k for k, _ in pairs):
            return dict(pairs)
        raise bad_request("The request body is not valid JSON") from None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out as separate writes; without this each answer waits ~40 ms for
    # the client's delayed ACK
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self, method: str) -> None:
        sandbox = self.server.sandbox
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = sandbox.faults.next()
        if fault in ("drop", "500", "503"):
            sandbox.requests.write(method, self.path, f"fault:{fault}")
        if fault == "drop":
            self._drop()
            return
        if fault in ("500", "503"):
            self._send(
                int(fault),
                "text/plain",
                "Service temporarily unavailable" if fault == "503" else "Internal server error",
            )
            return
        if fault == "slow":
            time.sleep(sandbox.config.slow_ms / 1000)
        sandbox.begin_request()
        try:
            if not self.path.startswith("/rest/"):
                raise SandboxApiError(404, "Not found")
            sandbox.authorised(self.headers.get("Authorization"))
            status, ctype, text = sandbox.handle(method, self.path[len("/rest/") :], body)
        except QuerySyntaxError as exc:
            status, ctype, text = 400, "text/plain", str(exc)
        except SandboxApiError as exc:
            status, ctype, text = exc.status, "text/plain", exc.text
        except OverflowError:  # e.g. an integer beyond SQLite's 64 bits in a body or path
            status, ctype, text = 400, "text/plain", "A number in the request is out of range"
        except Exception:  # a sandbox bug: answer it instead of dropping the connection
            log.exception("%s %s failed", method, self.path)
            status, ctype, text = 500, "text/plain", "Internal server error"
        sandbox.delay()  # every answer, errors and account/tracker_code included
        sandbox.requests.write(method, self.path, str(status))
        self._send(status, ctype, text)

    def _send(self, status: int, ctype: str, text: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        """Close the connection without an answer, as a reset or a dying proxy would."""
        self.close_connection = True
        try:
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__((sandbox.config.host, sandbox.config.port), Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{host_text}:{port}/rest"
