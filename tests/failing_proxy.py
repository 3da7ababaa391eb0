"""A loopback HTTP proxy in front of a sandbox that answers the requests of chosen objects with a
fixed error and forwards everything else unchanged: the way to make one endpoint fail for good
(a tracker refusal, a REST object that keeps answering 500) while the rest of the API answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

# How tracker-v1 refuses a request: HTTP 500 with the reason as plain text (api §7.6).
TRACKER_REFUSAL = "Command 1: this account does not allow tracker requests from this key"


@contextmanager
def failing_proxy(base_url: str, failures: Mapping[str, tuple[int, str]]) -> Iterator[str]:
    """The base_url of a proxy to ``base_url``; a request whose path starts with a key of
    ``failures`` (an object name such as ``tracker-v1`` or ``articles``) gets that status and
    plain-text body."""
    upstream = httpx.Client(timeout=60)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            rest = self.path.split("/rest", 1)[1]
            obj = rest.lstrip("/").split("/", 1)[0]
            if obj in failures:
                status, text = failures[obj]
                ctype, data = "text/plain", text.encode()
            else:
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("authorization", "content-type", "accept")
                }
                answer = upstream.request(
                    self.command, base_url + rest, content=body, headers=headers
                )
                status, data = answer.status_code, answer.content
                ctype = answer.headers.get("Content-Type", "text/plain")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/rest"
    finally:
        server.shutdown()
        server.server_close()
        upstream.close()
