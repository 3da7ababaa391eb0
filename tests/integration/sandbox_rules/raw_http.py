"""Requests no well-behaved client sends, written byte for byte on a real socket, and the one
answer read back with http.client's parser (a closed connection fails the test loudly)."""

from __future__ import annotations

import base64
import http.client
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from personyze_sandbox.process import RunningSandbox


@dataclass(frozen=True)
class RawAnswer:
    status: int
    content_type: str
    connection: str
    text: str


def request_bytes(
    sb: RunningSandbox,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    content_length: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A request with the sandbox's credentials; Content-Length is the body's unless given
    (an empty string leaves the header out)."""
    token = base64.b64encode(f"api:{sb.api_key}".encode()).decode()
    lines = [f"Host: {urlsplit(sb.base_url).netloc}", f"Authorization: Basic {token}"]
    length = str(len(body)) if content_length is None else content_length
    if length:
        lines.append(f"Content-Length: {length}")
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{h}\r\n" for h in lines) + "\r\n"
    return head.encode("latin-1") + body


def exchange(sb: RunningSandbox, data: bytes, *, timeout: float = 20) -> RawAnswer:
    """Send ``data`` on a new connection (kept open for writing) and read one answer."""
    parts = urlsplit(sb.base_url)
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        text = answer.read().decode("utf-8")
    return RawAnswer(
        answer.status,
        answer.getheader("Content-Type", ""),
        answer.getheader("Connection", ""),
        text,
    )
