"""The SQLite connection of a store: transactions, the held per-request commit, workers' lock, journal batching.

See the package docstring (:mod:`mockserver.store.sqlite`) for why each of these is as it is.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Awaitable
from typing import Any

from mockserver.errors import ConfigError
from mockserver.store.sqlite.schema import (
    ADD_JOURNAL,
    JOURNAL_BYTES,
    JOURNAL_COLUMNS,
    JOURNAL_OVER_BYTES,
    JOURNAL_TRIM_EVERY,
    MIGRATIONS,
    SCHEMA,
    SCHEMA_VERSION,
)
from mockserver.store.sqlite.writers import WriterLock
from mockserver.store.transactions import HeldTransactions

#: Where a journal row holds its detail (bytes, or None).
DETAIL = JOURNAL_COLUMNS.index("detail")


class Connection(HeldTransactions):
    """One connection to a state file, with nested, serialized transactions (the store's base class)."""

    group_commit = True

    def __init__(self, path: str, journal_size: int, *, shared: bool, timeout: float, journal_bytes: int) -> None:
        super().__init__()
        self.path = path
        #: Whether other processes use the file at the same time (``--workers``); see the package docstring.
        self.shared = shared
        self._journal_size = journal_size
        self._journal_bytes = journal_bytes
        #: Exclusive mode: journal records not written yet, and those written in the open transaction.
        self._journal_buffer: list[tuple[Any, ...]] = []
        self._journal_inflight: list[tuple[Any, ...]] = []
        self._flush_scheduled = False
        #: Exclusive mode: bytes of journal details in the file (None: not counted yet), so the byte cap
        #: is checked without summing the whole journal each time it is trimmed.
        self._journal_total: int | None = None
        #: Shared mode: a lock file (``FILE-lock``) serializing the workers' write transactions. SQLite's
        #: own busy handler sleeps a millisecond or more between tries; a blocked ``flock`` wakes at once.
        self._writers: int | None = None
        self._writer_lock: WriterLock | None = None
        if shared:
            try:
                self._writers = os.open(f"{path}-lock", os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ConfigError(f"state file {path}: cannot create its lock file ({exc})") from None
            self._writer_lock = WriterLock(self._writers, self._writes_idle)
        try:
            # a short wait while opening: a file locked by a running single-process server is refused quickly
            self._conn = sqlite3.connect(path, timeout=1.0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            self._close_writers()
            raise ConfigError(f"state file {path}: {exc}") from None
        try:
            self._open()
        except BaseException:
            self._conn.close()
            self._close_writers()
            raise
        self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

    def _forget_caches(self) -> None:
        """Drop what a subclass caches of the file (after a rollback)."""

    def _close_writers(self) -> None:
        if self._writers is not None:
            os.close(self._writers)
            self._writers = None
            self._writer_lock = None

    def _open(self) -> None:
        """Set the file's modes and create (or check) its tables; errors as :class:`ConfigError`."""
        try:
            self._prepare()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise ConfigError(
                    f"state file {self.path} is in use by another process (a running "
                    "musicapi-mock? several workers share one file with --workers N)"
                ) from None
            raise ConfigError(f"state file {self.path}: not a usable musicapi-mock state file ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"state file {self.path}: not a usable musicapi-mock state file ({exc})") from None

    def _prepare(self) -> None:
        conn = self._conn
        if not self.shared:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")  # before the first access: no shared-memory index
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise ConfigError(f"state file {self.path}: cannot use write-ahead logging (journal mode {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        with self._transaction:  # several workers open the file at once: one creates the tables
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise ConfigError(f"state file {self.path}: a SQLite database, but not a musicapi-mock one")
                for statement in filter(str.strip, SCHEMA.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version < SCHEMA_VERSION and all(v in MIGRATIONS for v in range(version, SCHEMA_VERSION)):
                for step in range(version, SCHEMA_VERSION):  # an older file: brought up to date in place
                    for statement in filter(str.strip, MIGRATIONS[step].split(";")):
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise ConfigError(
                    f"state file {self.path}: written by another version of musicapi-mock "
                    f"(schema {version}, this one reads {SCHEMA_VERSION})"
                )

    def _begin(self) -> None:
        """Start the outermost transaction: the workers' lock first, then SQLite's write lock."""
        if self._writer_lock is not None:
            self._writer_lock.acquire()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._write_journal()  # buffered journal records ride along with this commit
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._rolled_back()
            self._release_writers()
            raise

    def _end(self, commit: bool) -> None:
        """Commit (or roll back) the outermost transaction, then let the next writer in."""
        try:
            if commit:
                self._write_journal()  # the records of the requests this commit answers ride along
                self._conn.execute("COMMIT")
                self._journal_inflight.clear()
            else:
                self._conn.execute("ROLLBACK")
                self._rolled_back()
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            self._rolled_back()
            raise
        finally:
            self._release_writers()

    def _release_writers(self) -> None:
        if self._writer_lock is not None:
            self._writer_lock.release()

    def _writes_idle(self) -> bool:
        """No transaction open nor held (the workers' lock taken for a request may go back)."""
        return self._depth == 0 and self._held is None and not self._conn.in_transaction

    def writable(self) -> Awaitable[None] | None:
        """Shared mode: what a request awaits before its handler, so that waiting for the other workers'
        turn does not block the event loop (see :mod:`mockserver.store.sqlite.writers`); else None."""
        return None if self._writer_lock is None else self._writer_lock.wait()

    def _rolled_back(self) -> None:
        """Forget caches a rolled-back transaction may have changed; keep its journal records for later."""
        self._forget_caches()
        self._journal_total = None
        if self._journal_inflight:
            self._journal_buffer[:0] = self._journal_inflight
            self._journal_inflight.clear()

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """One statement that writes, in the caller's transaction or in one of its own."""
        with self._transaction:
            return self._conn.execute(sql, params)

    def journal(self, record: dict[str, Any]) -> None:
        """Record one API request: with the open transaction's commit if there is one; else at once when
        shared, batched in exclusive mode (see the module docstring)."""
        self._journal_buffer.append(tuple(record.get(name) for name in JOURNAL_COLUMNS))
        if self._held is not None:  # written just before the held transaction commits
            return
        if self.shared:  # before the request answers: in a transaction of its own (held for its turn)
            with self._transaction:
                pass
            return
        if not self._flush_scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (a script, a test): write now
                self.flush()
                return
            self._flush_scheduled = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Write the buffered journal records (one transaction)."""
        self._flush_scheduled = False
        if self._journal_buffer:
            with self.transaction():  # written here too when it joins a transaction already open (group commit)
                self._write_journal()

    def _write_journal(self) -> None:
        """Inside a transaction: insert the buffered journal records."""
        if self._journal_buffer:
            rows, self._journal_buffer = self._journal_buffer, []
            self._journal_inflight.extend(rows)
            self._insert_journal(rows)

    def _insert_journal(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert journal rows, trimming the journal to its size and byte cap now and then."""
        conn = self._conn
        conn.executemany(ADD_JOURNAL, rows)
        last: int = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
        first = last - len(rows) + 1  # one statement's rows take consecutive numbers
        total = self._journal_total
        if total is not None:
            total += sum(len(row[DETAIL]) for row in rows if row[DETAIL] is not None)
        if (first - 1) // JOURNAL_TRIM_EVERY != last // JOURNAL_TRIM_EVERY:
            if total is None and not self.shared:
                total = conn.execute(JOURNAL_BYTES).fetchone()[0]
            total = self._trim(f"seq <= {last - self._journal_size}", total)
            if total is None or total > self._journal_bytes:
                over = conn.execute(JOURNAL_OVER_BYTES, (self._journal_bytes,)).fetchone()
                if over is not None:
                    total = self._trim(f"seq <= {int(over[0])}", total)
        self._journal_total = None if self.shared else total

    def _trim(self, where: str, total: int | None) -> int | None:
        """Delete the journal rows ``where`` holds; the byte count less theirs."""
        if total is None:
            self._conn.execute(f"DELETE FROM journal WHERE {where}")
            return None
        gone = self._conn.execute(f"DELETE FROM journal WHERE {where} RETURNING coalesce(length(detail), 0)")
        return total - int(sum(size for (size,) in gone))
