"""A throwaway PostgreSQL server for tests and benchmarks: ``initdb`` and ``pg_ctl`` in a temporary
directory, listening on a free port of 127.0.0.1 only, stopped and deleted at exit.

Uses the server binaries of the machine (Debian's ``postgresql`` package keeps them in
``/usr/lib/postgresql/<version>/bin``; ``.ci/run`` installs it when missing). PostgreSQL refuses to run
as root, so as root the commands run as the ``postgres`` user the package creates (``runuser``).
``MUSICAPI_MOCK_TEST_STORE=postgresql`` gives every test server a fresh database of one such cluster.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from types import TracebackType

from mockserver.errors import ConfigError

#: Settings of a test cluster: durability off (the mock processes are what tests kill, not the server).
FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


def binary(name: str) -> str:
    """The path of a PostgreSQL server program (``initdb``, ``pg_ctl``), newest version first."""
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        raise ConfigError(f"no PostgreSQL {name} here: apt-get install postgresql (Debian)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PgCluster:
    """One PostgreSQL server in a temporary directory. ``with PgCluster() as pg: pg.create_database()``."""

    def __init__(self, *, fast: bool = True, max_connections: int = 400) -> None:
        self.fast = fast
        self.max_connections = max_connections
        self.port = 0
        self.directory: str | None = None
        self._template: str | None = None

    def _run(self, *command: str) -> None:
        prefix: list[str] = []
        if os.geteuid() == 0:
            prefix = ["runuser", "-u", "postgres", "--"]
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise ConfigError(f"{' '.join(command[:2])} failed: {(done.stderr or done.stdout).strip()[-800:]}")

    def start(self) -> PgCluster:
        """initdb, then start the server and wait until it accepts connections."""
        self.directory = tempfile.mkdtemp(prefix="musicapi-mock-pg-")
        data = os.path.join(self.directory, "data")
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        self._run(binary("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.port = _free_port()
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.directory}",
            f"-c max_connections={self.max_connections}",
        ]
        if self.fast:
            options += [f"{FAST[i]} {FAST[i + 1]}" for i in range(0, len(FAST), 2)]
        log = os.path.join(self.directory, "server.log")
        self._run(binary("pg_ctl"), "-D", data, "-l", log, "-w", "-t", "60", "-o", " ".join(options), "start")
        atexit.register(self.stop)
        return self

    def url(self, database: str = "postgres") -> str:
        """A connection URL of the cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement.encode())

    def create_database(self) -> str:
        """A new, empty database (made from a template that already holds the schema); its URL."""
        if self._template is None:
            from mockserver.store.postgres import PostgresStore

            self._template = f"mock_template_{uuid.uuid4().hex[:8]}"
            self._sql(f"CREATE DATABASE {self._template}")
            PostgresStore(self.url(self._template), 10).close()
        name = f"mock_{uuid.uuid4().hex[:12]}"
        self._sql(f"CREATE DATABASE {name} TEMPLATE {self._template}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database` (its connections are ended first)."""
        if not self.port or self.directory is None:
            return
        name = url.rsplit("/", 1)[-1]
        try:
            self._sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except Exception:  # the cluster is going away anyway; a leftover database is harmless
            pass

    def stop(self) -> None:
        """Stop the server and delete its directory (idempotent)."""
        if self.directory is None:
            return
        directory, self.directory = self.directory, None
        data = os.path.join(directory, "data")
        try:
            self._run(binary("pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
        except ConfigError:
            pass
        shutil.rmtree(directory, ignore_errors=True)

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
