"""The PostgreSQL connection of a store: the schema, fleet-wide serialized transactions, the journal.

Consistency design (why, in the package docstring of :mod:`mockserver.store.postgres`): every write
transaction starts with ``pg_advisory_xact_lock(WRITE_LOCK)``, so the read-modify-write units of every
mock process on every host run one at a time, exactly as SQLite's ``BEGIN IMMEDIATE`` does on one file.
Reads outside a transaction (autocommit) see the last committed state.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

import psycopg
from psycopg.abc import Buffer
from psycopg.types.string import StrDumperUnknown

from mockserver.errors import ConfigError
from mockserver.store.postgres.schema import (
    ADD_JOURNAL,
    JOURNAL_COLUMNS,
    JOURNAL_OVER_BYTES,
    JOURNAL_TRIM_EVERY,
    SCHEMA,
    SCHEMA_LOCK,
    SCHEMA_VERSION,
    WRITE_LOCK,
)
from mockserver.store.transactions import REQUEST, HeldTransactions


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


#: BEGIN and the fleet's write lock, as one simple-protocol query.
BEGIN_LOCKED = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})".encode()


class NulFreeStr(StrDumperUnknown):
    """PostgreSQL text cannot hold NUL: a string with one is stored and looked up with U+FFFD in its place
    (consistently, so an id with a NUL finds nothing, as on the other stores, instead of a driver error)."""

    def dump(self, obj: str) -> Buffer | None:
        """The string, NUL-free."""
        return super().dump(obj.replace("\x00", "\ufffd") if "\x00" in obj else obj)


class Connection(HeldTransactions):
    """One connection to the database per store (per process), with nested, serialized transactions."""

    def __init__(
        self, url: str, journal_size: int = 10_000, *, journal_bytes: int = 16 << 20, connect_timeout: float = 10.0
    ) -> None:
        super().__init__()
        self.url = url
        #: Other processes share the state, always: nothing is cached (the store protocol's ``shared``).
        self.shared = True
        self._journal_size = journal_size
        self._journal_bytes = journal_bytes
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(connect_timeout)))
        except psycopg.Error as exc:
            raise ConfigError(f"state {shown(url)}: cannot connect to PostgreSQL ({exc})".strip()) from None
        self._conn.adapters.register_dumper(str, NulFreeStr)
        # As the SQLite store's synchronous=NORMAL: a commit is answered once it is in the server's WAL
        # buffers, not on disk. A mock process killed at any moment loses nothing it answered; only a crash
        # of the PostgreSQL server itself may lose the last fraction of a second, never consistency.
        self._conn.execute("SET synchronous_commit = off")
        # a store dropped without close() (a test server never stopped) still ends its session
        weakref.finalize(self, self._conn.close)
        try:
            self._prepare()
        except BaseException:
            self._conn.close()
            raise

    def _prepare(self) -> None:
        """Create the tables on first use (one instance of a fleet does it), or check their version."""
        conn = self._conn
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                if conn.execute("SELECT to_regclass('meta')").fetchone() == (None,):
                    with conn.transaction():
                        for statement in filter(str.strip, SCHEMA.split(";")):
                            conn.execute(statement.encode())
                        conn.execute(
                            "INSERT INTO meta (name, value) VALUES ('schema_version', %s)", (str(SCHEMA_VERSION),)
                        )
                row = conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
        except psycopg.Error as exc:
            raise ConfigError(f"state {shown(self.url)}: not a usable musicapi-mock database ({exc})") from None
        if row is None or row[0] != str(SCHEMA_VERSION):
            found = "none" if row is None else row[0]
            raise ConfigError(
                f"state {shown(self.url)}: written by another version of musicapi-mock "
                f"(schema {found}, this one reads {SCHEMA_VERSION})"
            )

    def _forget_caches(self) -> None:
        """Nothing is cached: several processes write."""

    def _begin(self) -> None:
        """BEGIN, then the fleet's write lock (held until COMMIT or ROLLBACK)."""
        conn = self._conn
        try:
            conn.execute(BEGIN_LOCKED)  # one round trip for both
        except BaseException:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
            raise

    def _end(self, commit: bool) -> None:
        """COMMIT (or ROLLBACK) the outermost transaction; the advisory lock goes with it."""
        conn = self._conn
        try:
            conn.execute("COMMIT" if commit else "ROLLBACK")
        except BaseException:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
            raise

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> psycopg.Cursor[Any]:
        """One statement that writes, in the caller's transaction or in one of its own."""
        with self._transaction:
            return self._conn.execute(sql.encode(), params)

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query."""
        return self._conn.execute(sql.encode(), params).fetchall()

    def _one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        """The first row of one query, or None."""
        row: tuple[Any, ...] | None = self._conn.execute(sql.encode(), params).fetchone()
        return row

    def journal(self, record: dict[str, Any]) -> None:
        """Record one API request: with the request's own transaction when it holds one (one commit per
        create), else on its own, outside the fleet's write lock (a journal row needs only its sequence
        number, so polls never queue behind creates for it)."""
        row = tuple(record.get(name) for name in JOURNAL_COLUMNS)
        with self._lock:
            if self._depth or (self._held is not None and self._held is REQUEST.get()):
                with self._transaction:
                    self._insert_journal(row)
                return
            self._release_held()  # another request's held commit goes first
            self._insert_journal(row)

    def _insert_journal(self, row: tuple[Any, ...]) -> None:
        """Insert one journal row, trimming the journal to its size now and then."""
        seq = self._conn.execute(ADD_JOURNAL.encode(), row).fetchone()
        assert seq is not None
        if seq[0] % JOURNAL_TRIM_EVERY == 0:
            self._conn.execute(b"DELETE FROM journal WHERE seq <= %s", (seq[0] - self._journal_size,))
            over = self._conn.execute(JOURNAL_OVER_BYTES.encode(), (self._journal_bytes,)).fetchone()
            if over is not None:
                self._conn.execute(b"DELETE FROM journal WHERE seq <= %s", over)

    def flush(self) -> None:
        """Nothing is buffered."""
