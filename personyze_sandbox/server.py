"""The sandbox's HTTP layer: framing checked as a strict server checks it, latency and faults
injected, and every request answered in plain text when it fails.

Malformed HTTP (a Content-Length that is not a number of bytes or is beyond the limit, a body
that never arrives, Transfer-Encoding, a bad or too long request line, bytes outside ASCII in the
path) gets a 400 (a 408 for the body that never arrives) and the connection is closed, never a
silent close or a 500. An unexpected failure is a plain-text 500 and its traceback goes to the
log, never to the client.
"""

from __future__ import annotations

import logging
import re
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from connectors.api.query import QuerySyntaxError
from personyze_sandbox.injection import LOST, FaultPlan
from personyze_sandbox.routing import Sandbox, SandboxConfig
from personyze_sandbox.schema import SandboxApiError, bad_request

__all__ = ["FaultPlan", "Handler", "Sandbox", "SandboxConfig", "SandboxHTTPServer"]

log = logging.getLogger("personyze.sandbox")

MAX_BODY_BYTES = 64 * 1024 * 1024
LINGER_SECONDS = 1.0  # read what the client still sends before closing, so it gets the answer
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]*")
_HTTP_ERRORS = {  # http.server's own refusals, all answered 400 with these texts
    414: "The request line is too long",
    431: "A request header is too long, or there are too many headers",
}


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

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            self.send_error(400, "HTTP/0.9 requests are not accepted")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's refusals (bad syntax, version, method, line lengths) as plain text."""
        if code == 501:
            text = f"Method {self.command} is not allowed"
        else:
            text = _HTTP_ERRORS.get(code) or message or "Bad request"
        self.log_error("refused: %d %s", code, text)
        if self.request_version in ("HTTP/0.9", ""):
            self.request_version = "HTTP/1.1"  # so that the answer has a status line
        self._refuse(400, text)

    def _serve(self, method: str) -> None:
        sandbox = self.server.sandbox
        try:
            body = self._body()
        except SandboxApiError as exc:
            sandbox.requests.write(method, self.path, str(exc.status))
            self._refuse(exc.status, exc.text)
            return
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
        status, ctype, text = self._answer(method, body)
        sandbox.delay()  # every answer, errors and account/tracker_code included
        if fault == LOST:  # applied (or refused), and the client never hears of it
            sandbox.requests.write(method, self.path, f"fault:{LOST}:{status}")
            self._drop()
            return
        sandbox.requests.write(method, self.path, str(status))
        self._send(status, ctype, text)

    def _answer(self, method: str, body: bytes) -> tuple[int, str, str]:
        sandbox = self.server.sandbox
        try:
            if not _PRINTABLE_ASCII.fullmatch(self.path):
                raise bad_request("The request path must be ASCII: percent-encode any other byte")
            if not self.path.startswith("/rest/"):
                raise SandboxApiError(404, "Not found")
            sandbox.authorised(self.headers.get("Authorization"))
            path = self.path[len("/rest/") :]
            return sandbox.handle(method, path, body, self.headers.get("Content-Type"))
        except QuerySyntaxError as exc:
            return 400, "text/plain", str(exc)
        except SandboxApiError as exc:
            return exc.status, "text/plain", exc.text
        except OverflowError:  # e.g. an integer beyond SQLite's 64 bits in the path
            return 400, "text/plain", "A number in the request is out of range"
        except Exception:  # a sandbox bug: answer it instead of dropping the connection
            log.exception("%s %s failed", method, self.path)
            return 500, "text/plain", "Internal server error"

    def _body(self) -> bytes:
        """The request body, exactly Content-Length bytes of it, or a SandboxApiError."""
        if "Transfer-Encoding" in self.headers:
            raise bad_request(
                "Transfer-Encoding is not accepted: send the body with a Content-Length"
            )
        given = [v.strip() for v in self.headers.get_all("Content-Length") or []]
        if not given:
            return b""
        if len(set(given)) > 1:
            raise bad_request("Content-Length is given more than once with different values")
        if not given[0].isdigit() or not given[0].isascii():
            raise bad_request(f"Content-Length must be a number of bytes, not {given[0]!r}")
        length = int(given[0])
        if length > MAX_BODY_BYTES:
            raise bad_request(
                f"Content-Length {length} is beyond the sandbox's limit of {MAX_BODY_BYTES} bytes"
            )
        timeout_ms = self.server.sandbox.config.body_timeout_ms
        deadline = time.monotonic() + timeout_ms / 1000
        data = bytearray()
        try:
            while len(data) < length:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.connection.settimeout(left)
                chunk = self.rfile.read1(length - len(data))
                if not chunk:
                    raise bad_request(
                        f"The request body ended after {len(data)} of {length} bytes "
                        "(Content-Length)"
                    )
                data += chunk
        except TimeoutError:
            raise SandboxApiError(
                408,
                f"The request body did not arrive within {timeout_ms / 1000:g} s: "
                f"{len(data)} of {length} bytes (Content-Length)",
            ) from None
        finally:
            self.connection.settimeout(None)
        return bytes(data)

    def _refuse(self, status: int, text: str) -> None:
        """Answer a request whose framing cannot be trusted, then close the connection."""
        self.close_connection = True
        self._send(status, "text/plain", text)
        self._linger()

    def _send(self, status: int, ctype: str, text: str) -> None:
        data = text.encode("utf-8", errors="backslashreplace")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _linger(self) -> None:
        """Drain what the client is still sending: closing a socket with unread input resets
        the connection, and the client may lose the answer it has not read yet."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_SECONDS)
            deadline = time.monotonic() + LINGER_SECONDS
            while time.monotonic() < deadline and self.connection.recv(65536):
                pass
        except OSError:
            pass

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

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed outside a request's answer: logged, not printed."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            log.debug("connection from %s ended: %s", client_address, sys.exc_info()[1])
            return
        log.exception("connection from %s failed", client_address)
