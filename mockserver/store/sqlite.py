"""The durable store: the whole state in one SQLite file (stdlib ``sqlite3``), shared by worker processes.

``musicapi-mock serve --state FILE`` keeps tasks, accounts, the ledger, clips, personas, the request
journal, fault rules, webhook watches and deliveries, the virtual clock, the id and draw sequences and
the QPS windows here, so the state survives restarts and several worker processes agree on it.

Durability and isolation:

* **WAL mode**: readers never block the writer nor each other; a reader outside a transaction sees
  the last committed state. ``synchronous=NORMAL``: a commit is appended to the write-ahead log
  without waiting for the disk, so it survives the *process* being killed (``SIGKILL``, a crash): the
  log is in the operating system's page cache, and the next open replays it. A power cut or kernel
  crash may lose the last commits — never consistency: each transaction is there whole or not at
  all. ``FULL`` would also survive power loss, at an fsync per commit (several times slower here),
  which a mock does not need.
* **Transactions** are ``BEGIN IMMEDIATE``: the write lock is taken at the start, so a
  read-modify-write unit (a create: settle refunds, check the balance and the queue, debit, store the
  task) never interleaves with another worker's, and never deadlocks upgrading a read lock. They
  nest; the outermost commits. A :class:`~mockserver.errors.MockError` is a domain outcome and
  commits what was written before it (as in memory); any other exception rolls back. A transaction
  never spans an ``await``: the event loop runs one of them at a time per process.
* Workers take turns to write through a lock file (``FILE-lock``, ``flock``): a blocked worker wakes
  the moment the lock is free, where SQLite's busy handler would sleep a millisecond or more. Busy is
  waited for, never reported as an error.
* **One commit per request**: inside :meth:`SqliteStore.request` a committed transaction is held open
  until the request's journal record has joined it (or the request pauses, or another request needs
  the database); the answer is sent only after the commit.

Two modes, chosen by whoever opens the file:

* **exclusive** (``shared=False``, ``serve --state FILE`` with one worker): the connection locks the
  file for itself (``locking_mode=EXCLUSIVE``: no shared-memory index, fewer system calls per commit;
  a second server on the same file is refused at once). Nothing else writes, so the clock state, the
  fault rules and the accounts are cached in memory, sequence numbers are reserved in the file a
  block at a time, and journal records are written in batches — with the next transaction, before
  the journal is read, or at the next turn of the event loop, whichever is first (a ``SIGKILL`` may
  lose the journal records of the last moment, never a task or a ledger entry).
* **shared** (``shared=True``, ``serve --state FILE --workers N``): every worker has its own
  connection, nothing is cached, each read sees what any worker committed, and a journal record is
  written before its request answers.

One connection per store (per process); it may be used from several threads (the test helpers run the
server in a thread): transactions and writes are serialized by a re-entrant lock.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, cast

import orjson

from mockserver.clock import ClockState
from mockserver.config import ConfigError
from mockserver.errors import MockError
from mockserver.ledger import Account, Entry, Reason
from mockserver.scenarios import FAULT_DRAWS, FaultRule
from mockserver.tasks import Clip, Failure, Persona, Task
from mockserver.webhooks import Attempt, Delivery, Watch

#: Bumped when the tables change incompatibly; a file of another version is refused.
SCHEMA_VERSION = 1
#: The journal is trimmed to its size every this many records.
JOURNAL_TRIM_EVERY = 256

SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE clock (id INTEGER PRIMARY KEY CHECK (id = 0), offset REAL NOT NULL, frozen_at REAL NOT NULL);
CREATE TABLE tasks (
    id TEXT PRIMARY KEY, family TEXT NOT NULL, api_key TEXT NOT NULL, created_at REAL NOT NULL,
    started_at REAL NOT NULL, ends_at REAL NOT NULL, result BLOB NOT NULL,
    failure_error TEXT, failure_at REAL, failure_progress INTEGER, operation TEXT NOT NULL,
    charged_credits INTEGER NOT NULL, charged_extra INTEGER NOT NULL,
    open INTEGER NOT NULL, unsettled INTEGER NOT NULL);
CREATE INDEX tasks_by_key ON tasks (api_key, open);
CREATE INDEX tasks_unsettled ON tasks (api_key) WHERE unsettled = 1;
CREATE TABLE clips (
    clip_id TEXT PRIMARY KEY, api_key TEXT NOT NULL, created_at REAL NOT NULL, duration REAL NOT NULL,
    kind TEXT NOT NULL, task_id TEXT, idx INTEGER NOT NULL, extends TEXT, continue_at REAL NOT NULL);
CREATE TABLE personas (
    persona_id TEXT PRIMARY KEY, api_key TEXT NOT NULL, name TEXT NOT NULL, clip_id TEXT NOT NULL,
    created_at REAL NOT NULL);
CREATE TABLE accounts (
    api_key TEXT PRIMARY KEY, credits INTEGER NOT NULL, extra_credits INTEGER NOT NULL, qps REAL,
    queue_capacity INTEGER, expires_at REAL, usage_limit INTEGER, usage INTEGER NOT NULL,
    invalid_signature INTEGER NOT NULL);
CREATE TABLE ledger (
    seq INTEGER PRIMARY KEY, api_key TEXT NOT NULL, reason TEXT NOT NULL, credits INTEGER NOT NULL,
    extra_credits INTEGER NOT NULL, instant REAL NOT NULL, task_id TEXT, operation TEXT, error_id TEXT);
CREATE INDEX ledger_by_key ON ledger (api_key);
CREATE UNIQUE INDEX ledger_refund ON ledger (task_id) WHERE reason = 'refund';
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY, instant REAL NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
    operation TEXT, status INTEGER NOT NULL, api_key TEXT, error_id TEXT);
CREATE TABLE qps (api_key TEXT PRIMARY KEY, window TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE faults (
    id INTEGER PRIMARY KEY, operation TEXT NOT NULL, error_id TEXT NOT NULL, times INTEGER,
    probability REAL, api_key TEXT, at_progress INTEGER, hits INTEGER NOT NULL);
CREATE TABLE watches (
    task_id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL, platform TEXT NOT NULL,
    base_url TEXT NOT NULL, sent TEXT NOT NULL);
CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, task_id TEXT NOT NULL, platform TEXT NOT NULL,
    event TEXT NOT NULL, url TEXT NOT NULL, body BLOB NOT NULL, due REAL NOT NULL, secret TEXT NOT NULL,
    state TEXT NOT NULL, next_at REAL NOT NULL, attempts TEXT NOT NULL);
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'pending';
"""
TABLES = (
    "meta",
    "sequences",
    "clock",
    "tasks",
    "clips",
    "personas",
    "accounts",
    "ledger",
    "journal",
    "qps",
    "faults",
    "watches",
    "deliveries",
)

_TASK_COLUMNS = (
    "id, family, api_key, created_at, started_at, ends_at, result, failure_error, failure_at, "
    "failure_progress, operation, charged_credits, charged_extra"
)
_PUT_TASK = (
    f"INSERT INTO tasks ({_TASK_COLUMNS}, open, unsettled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) "
    "ON CONFLICT (id) DO UPDATE SET family = excluded.family, api_key = excluded.api_key, "
    "created_at = excluded.created_at, started_at = excluded.started_at, ends_at = excluded.ends_at, "
    "result = excluded.result, failure_error = excluded.failure_error, failure_at = excluded.failure_at, "
    "failure_progress = excluded.failure_progress, operation = excluded.operation, "
    "charged_credits = excluded.charged_credits, charged_extra = excluded.charged_extra, open = 1, "
    "unsettled = excluded.unsettled"
)
_GET_TASK = f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ?"
_ACCOUNT_COLUMNS = (
    "api_key, credits, extra_credits, qps, queue_capacity, expires_at, usage_limit, usage, invalid_signature"
)
_PUT_ACCOUNT = (
    f"INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (api_key) DO UPDATE SET credits = excluded.credits, extra_credits = excluded.extra_credits, "
    "qps = excluded.qps, queue_capacity = excluded.queue_capacity, expires_at = excluded.expires_at, "
    "usage_limit = excluded.usage_limit, usage = excluded.usage, invalid_signature = excluded.invalid_signature"
)
_ENTRY_COLUMNS = "seq, api_key, reason, credits, extra_credits, instant, task_id, operation, error_id"
_ADD_ENTRY = (
    "INSERT INTO ledger (api_key, reason, credits, extra_credits, instant, task_id, operation, error_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_JOURNAL_COLUMNS = ("instant", "method", "path", "operation", "status", "api_key", "error_id")
_ADD_JOURNAL = f"INSERT INTO journal ({', '.join(_JOURNAL_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_NEXT = (
    "INSERT INTO sequences (name, value) VALUES (?, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value"
)
_RESERVE = "INSERT INTO sequences (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value"
#: The API request the running code serves (see :meth:`SqliteStore.request`): an identity, or None.
_REQUEST: ContextVar[object | None] = ContextVar("musicapi_mock_request", default=None)
#: Exclusive mode: sequence numbers reserved in the file at a time.
SEQUENCE_BLOCK = 1000
_DELIVERY_COLUMNS = "id, task_id, platform, event, url, body, due, secret, state, next_at, attempts"
_PUT_DELIVERY = (
    f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET state = excluded.state, next_at = excluded.next_at, "
    "attempts = excluded.attempts"
)


def _task(row: tuple[Any, ...]) -> Task:
    (
        task_id,
        family,
        api_key,
        created_at,
        started_at,
        ends_at,
        result,
        failure_error,
        failure_at,
        failure_progress,
        operation,
        charged_credits,
        charged_extra,
    ) = row
    failure = None if failure_error is None else Failure(failure_error, failure_at, failure_progress)
    return Task(
        task_id,
        family,
        api_key,
        created_at,
        started_at,
        ends_at,
        orjson.loads(result),
        failure,
        operation,
        (charged_credits, charged_extra),
    )


def _account(row: tuple[Any, ...]) -> Account:
    api_key, credits, extra, qps, capacity, expires_at, usage_limit, usage, invalid = row
    return Account(api_key, credits, extra, qps, capacity, expires_at, usage_limit, usage, bool(invalid))


def _entry(row: tuple[Any, ...]) -> Entry:
    seq, api_key, reason, credits, extra, instant, task_id, operation, error_id = row
    return Entry(seq, api_key, cast(Reason, reason), credits, extra, instant, task_id, operation, error_id)


def _delivery(row: tuple[Any, ...]) -> Delivery:
    delivery_id, task_id, platform, event, url, body, due, secret, state, next_at, attempts = row
    return Delivery(
        delivery_id,
        task_id,
        platform,
        event,
        url,
        body,
        due,
        secret,
        state,
        next_at,
        [Attempt(*attempt) for attempt in orjson.loads(attempts)],
    )


def _fault(row: tuple[Any, ...]) -> FaultRule:
    return FaultRule(*row)


class _Transaction:
    """``with store.transaction():`` — BEGIN IMMEDIATE … COMMIT (outermost only), serialized per store."""

    __slots__ = ("_store",)

    def __init__(self, store: SqliteStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        store = self._store
        store._lock.acquire()
        if store._depth == 0:
            try:
                if store._held is None:
                    store._begin()
                elif store._held is not _REQUEST.get():  # another request's: commit it, then start afresh
                    store._release_held()
                    store._begin()
                else:  # this request's own held transaction: carry on in it
                    store._held = None
            except BaseException:
                store._lock.release()
                raise
        store._depth += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        store = self._store
        try:
            store._depth -= 1
            if store._depth == 0:
                commit = exc_type is None or issubclass(exc_type, MockError)
                request = _REQUEST.get()
                if commit and request is not None:
                    store._hold(request)
                else:
                    store._end(commit)
        finally:
            store._lock.release()


class SqliteStore:
    """The state in a SQLite file (see the module docstring for durability and isolation)."""

    durable = True

    def __init__(self, path: str, journal_size: int = 10_000, *, shared: bool = False, timeout: float = 30.0) -> None:
        self.path = path
        #: Whether other processes use the file at the same time (``--workers``); see the module docstring.
        self.shared = shared
        self._journal_size = journal_size
        self._lock = threading.RLock()
        self._depth = 0
        self._transaction = _Transaction(self)
        #: Exclusive mode: caches of what only this process writes (None: not loaded).
        self._clock: ClockState | None = None
        self._faults: list[FaultRule] | None = None
        self._accounts: dict[str, Account] = {}
        #: Exclusive mode: sequence numbers handed out from blocks reserved in the file: (next, limit).
        self._blocks: dict[str, tuple[int, int]] = {}
        #: Exclusive mode: journal records not written yet, and those written in the open transaction.
        self._journal_buffer: list[tuple[Any, ...]] = []
        self._journal_inflight: list[tuple[Any, ...]] = []
        self._flush_scheduled = False
        #: The request whose committed transaction is held open (see :meth:`request`), or None.
        self._held: object | None = None
        #: Shared mode: a lock file (``FILE-lock``) serializing the workers' write transactions. SQLite's
        #: own busy handler sleeps a millisecond or more between tries; a blocked ``flock`` wakes at once.
        self._writers: int | None = None
        if shared:
            try:
                self._writers = os.open(f"{path}-lock", os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ConfigError(f"state file {path}: cannot create its lock file ({exc})") from None
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

    def _close_writers(self) -> None:
        if self._writers is not None:
            os.close(self._writers)
            self._writers = None

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
            elif version != SCHEMA_VERSION:
                raise ConfigError(
                    f"state file {self.path}: written by another version of musicapi-mock "
                    f"(schema {version}, this one reads {SCHEMA_VERSION})"
                )

    def _begin(self) -> None:
        """Start the outermost transaction: the workers' lock first, then SQLite's write lock."""
        if self._writers is not None:
            fcntl.flock(self._writers, fcntl.LOCK_EX)
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
        if self._writers is not None:
            fcntl.flock(self._writers, fcntl.LOCK_UN)

    @contextmanager
    def request(self) -> Iterator[None]:
        """One API request (around its handler and its journal record).

        A transaction it commits is *held* open instead, so that what follows in the same stretch of
        synchronous code — the request's journal record — commits with it: one commit per create
        rather than two. The hold ends when the request ends (before its answer is sent), when the
        request pauses (``await``: the event loop's next turn), or when another request needs the
        database, whichever comes first. A request never answers before its writes are committed.
        """
        token = _REQUEST.set(object())
        try:
            yield
        finally:
            _REQUEST.reset(token)
            if self._held is not None:
                with self._lock:
                    self._release_held()

    def _hold(self, request: object) -> None:
        """Keep the transaction open for ``request``; commit it at the event loop's next turn at the latest."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._end(commit=True)
            return
        self._held = request
        loop.call_soon(self._release_held_soon)

    def _release_held_soon(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._release_held()

    def _release_held(self) -> None:
        """Commit the held transaction, if any."""
        if self._held is not None:
            self._held = None
            self._end(commit=True)

    def _forget_caches(self) -> None:
        self._clock = None
        self._faults = None
        self._accounts.clear()
        self._blocks.clear()

    def _rolled_back(self) -> None:
        """Forget caches a rolled-back transaction may have changed; keep its journal records for later."""
        self._forget_caches()
        if self._journal_inflight:
            self._journal_buffer[:0] = self._journal_inflight
            self._journal_inflight.clear()

    def transaction(self) -> _Transaction:
        """A unit of work (BEGIN IMMEDIATE … COMMIT); nested ones join the outermost."""
        return self._transaction

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """One statement that writes, in the caller's transaction or in one of its own."""
        with self._transaction:
            return self._conn.execute(sql, params)

    # --- tasks, clips, personas ---------------------------------------------------------------------

    def put_task(self, task: Task) -> None:
        """Insert or replace a task (its result as one compact JSON blob)."""
        failure = task.failure
        charged = task.charged
        unsettled = failure is not None and any(charged) and self.refund_of(task.id) is None
        self._write(
            _PUT_TASK,
            (
                task.id,
                task.family,
                task.api_key,
                task.created_at,
                task.started_at,
                task.ends_at,
                orjson.dumps(task.result),
                None if failure is None else failure.error_id,
                None if failure is None else failure.at,
                None if failure is None else failure.progress,
                task.operation,
                charged[0],
                charged[1],
                int(unsettled),
            ),
        )

    def get_task(self, task_id: str) -> Task | None:
        """A task by id, or None."""
        row = self._conn.execute(_GET_TASK, (task_id,)).fetchone()
        return None if row is None else _task(row)

    def task_count(self) -> int:
        """How many tasks are stored."""
        count: int = self._conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
        return count

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        """All tasks, or a key's, oldest first."""
        if api_key is None:
            rows = self._conn.execute(f"SELECT {_TASK_COLUMNS} FROM tasks ORDER BY rowid").fetchall()
        else:
            rows = self._conn.execute(
                f"SELECT {_TASK_COLUMNS} FROM tasks WHERE api_key = ? ORDER BY rowid", (api_key,)
            ).fetchall()
        return map(_task, rows)

    def open_task_ids(self, api_key: str) -> list[str]:
        """Ids of a key's tasks that may be unfinished."""
        rows = self._conn.execute("SELECT id FROM tasks WHERE api_key = ? AND open = 1 ORDER BY rowid", (api_key,))
        return [row[0] for row in rows]

    def close_tasks(self, api_key: str, task_ids: list[str]) -> None:
        """Forget finished tasks from the open index."""
        if task_ids:
            with self._transaction:
                self._conn.executemany("UPDATE tasks SET open = 0 WHERE id = ?", [(t,) for t in task_ids])

    def unsettled_task_ids(self, api_key: str) -> list[str]:
        """A key's charged tasks with a planned failure and no refund yet."""
        rows = self._conn.execute("SELECT id FROM tasks WHERE api_key = ? AND unsettled = 1 ORDER BY rowid", (api_key,))
        return [row[0] for row in rows]

    def put_clip(self, clip: Clip) -> None:
        """Register a clip."""
        self._write(
            "INSERT OR REPLACE INTO clips VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                clip.clip_id,
                clip.api_key,
                clip.created_at,
                clip.duration,
                clip.kind,
                clip.task_id,
                clip.index,
                clip.extends,
                clip.continue_at,
            ),
        )

    def get_clip(self, clip_id: str) -> Clip | None:
        """A clip by id, or None."""
        row = self._conn.execute("SELECT * FROM clips WHERE clip_id = ?", (clip_id,)).fetchone()
        return None if row is None else Clip(*row)

    def put_persona(self, persona: Persona) -> None:
        """Store a persona."""
        self._write(
            "INSERT OR REPLACE INTO personas VALUES (?, ?, ?, ?, ?)",
            (persona.persona_id, persona.api_key, persona.name, persona.clip_id, persona.created_at),
        )

    def get_persona(self, persona_id: str) -> Persona | None:
        """A persona by id, or None."""
        row = self._conn.execute("SELECT * FROM personas WHERE persona_id = ?", (persona_id,)).fetchone()
        return None if row is None else Persona(*row)

    # --- accounts and the ledger --------------------------------------------------------------------

    def get_account(self, api_key: str) -> Account | None:
        """An account by key, or None."""
        cached = self._accounts.get(api_key)
        if cached is not None:
            return cached
        row = self._conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE api_key = ?", (api_key,)).fetchone()
        if row is None:
            return None
        account = _account(row)
        if not self.shared:
            self._accounts[api_key] = account
        return account

    def put_account(self, account: Account) -> None:
        """Insert or replace an account (keeping its place in :meth:`accounts`)."""
        self._write(
            _PUT_ACCOUNT,
            (
                account.api_key,
                account.credits,
                account.extra_credits,
                account.qps,
                account.queue_capacity,
                account.expires_at,
                account.usage_limit,
                account.usage,
                int(account.invalid_signature),
            ),
        )
        if not self.shared:
            self._accounts[account.api_key] = account

    def accounts(self) -> Iterator[Account]:
        """Every account, in the order they were opened."""
        return map(_account, self._conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY rowid").fetchall())

    def add_entry(self, entry: Entry) -> Entry:
        """Append a ledger entry; its ``seq`` is its row number. A second refund of a task is refused."""
        with self._transaction:
            cursor = self._conn.execute(
                _ADD_ENTRY,
                (
                    entry.api_key,
                    entry.reason,
                    entry.credits,
                    entry.extra_credits,
                    entry.instant,
                    entry.task_id,
                    entry.operation,
                    entry.error_id,
                ),
            )
            if entry.reason == "refund" and entry.task_id is not None:
                self._conn.execute("UPDATE tasks SET unsettled = 0 WHERE id = ?", (entry.task_id,))
        seq = cursor.lastrowid
        assert seq is not None
        return Entry(
            seq,
            entry.api_key,
            entry.reason,
            entry.credits,
            entry.extra_credits,
            entry.instant,
            entry.task_id,
            entry.operation,
            entry.error_id,
        )

    def entries(self, api_key: str | None = None) -> list[Entry]:
        """Ledger entries, oldest first."""
        if api_key is None:
            rows = self._conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM ledger ORDER BY seq").fetchall()
        else:
            rows = self._conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM ledger WHERE api_key = ? ORDER BY seq", (api_key,)
            ).fetchall()
        return [_entry(row) for row in rows]

    def refund_of(self, task_id: str) -> Entry | None:
        """The refund entry of a task, if any."""
        row = self._conn.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM ledger WHERE task_id = ? AND reason = 'refund'", (task_id,)
        ).fetchone()
        return None if row is None else _entry(row)

    # --- the request journal --------------------------------------------------------------------------

    def journal(self, record: dict[str, Any]) -> None:
        """Record one API request: at once when shared, else batched (see the module docstring)."""
        row = tuple(record[name] for name in _JOURNAL_COLUMNS)
        if self.shared or (self._held is not None and self._held is _REQUEST.get()):  # at once, or with the
            # transaction this request holds open
            with self._transaction:
                self._insert_journal([row])
            return
        self._journal_buffer.append(row)
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
            with self.transaction():  # entering writes them
                pass

    def _write_journal(self) -> None:
        """Inside a transaction: insert the buffered journal records."""
        if self._journal_buffer:
            rows, self._journal_buffer = self._journal_buffer, []
            self._journal_inflight.extend(rows)
            self._insert_journal(rows)

    def _insert_journal(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert journal rows, trimming the journal to its size now and then."""
        conn = self._conn
        first = last = None
        for row in rows:
            last = conn.execute(_ADD_JOURNAL, row).lastrowid
            first = first or last
        assert first is not None and last is not None
        if (first - 1) // JOURNAL_TRIM_EVERY != last // JOURNAL_TRIM_EVERY:
            conn.execute("DELETE FROM journal WHERE seq <= ?", (last - self._journal_size,))

    def journal_entries(self, api_key: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Recorded requests, oldest first: the last ``limit`` of the last ``journal_size``."""
        self.flush()
        sql = (
            f"SELECT {', '.join(_JOURNAL_COLUMNS)}, seq FROM journal "
            "WHERE seq > (SELECT coalesce(max(seq), 0) FROM journal) - ?"
        )
        params: tuple[Any, ...] = (self._journal_size,)
        if api_key is not None:
            sql += " AND api_key = ?"
            params += (api_key,)
        sql += " ORDER BY seq DESC"
        if limit:
            sql += " LIMIT ?"
            params += (limit,)
        names = (*_JOURNAL_COLUMNS, "seq")
        rows = self._conn.execute(sql, params).fetchall()
        return [dict(zip(names, row, strict=True)) for row in reversed(rows)]

    # --- shared runtime state: clock, sequences, QPS windows ----------------------------------------

    def clock_state(self) -> ClockState | None:
        """The virtual clock's state, or None."""
        if self._clock is not None:
            return self._clock
        row = self._conn.execute("SELECT offset, frozen_at FROM clock WHERE id = 0").fetchone()
        state = None if row is None else ClockState(row[0], row[1])
        if not self.shared:
            self._clock = state
        return state

    def put_clock_state(self, state: ClockState) -> None:
        """Replace the virtual clock's state."""
        self._write(
            "INSERT OR REPLACE INTO clock (id, offset, frozen_at) VALUES (0, ?, ?)", (state.offset, state.frozen_at)
        )
        if not self.shared:
            self._clock = state

    def next_sequence(self, name: str) -> int:
        """The next number of a sequence: one atomic statement when shared; in exclusive mode from a block
        of :data:`SEQUENCE_BLOCK` numbers reserved in the file at once (after a restart the sequence
        carries on past the block, skipping what was not used, never repeating a number)."""
        if self.shared:
            with self._transaction:
                rows = self._conn.execute(_NEXT, (name,)).fetchall()
            value: int = rows[0][0]
            return value
        with self._transaction:
            block = self._blocks.get(name)
            if block is None or block[0] > block[1]:
                row = self._conn.execute("SELECT value FROM sequences WHERE name = ?", (name,)).fetchone()
                start = (row[0] if row else 0) + 1
                self._conn.execute(_RESERVE, (name, start + SEQUENCE_BLOCK - 1))
                block = (start, start + SEQUENCE_BLOCK - 1)
            self._blocks[name] = (block[0] + 1, block[1])
        return block[0]

    def qps_window(self, api_key: str) -> list[float]:
        """A key's QPS window."""
        row = self._conn.execute("SELECT window FROM qps WHERE api_key = ?", (api_key,)).fetchone()
        return [] if row is None else list(orjson.loads(row[0]))

    def put_qps_window(self, api_key: str, window: list[float]) -> None:
        """Replace a key's QPS window."""
        self._write("INSERT OR REPLACE INTO qps (api_key, window) VALUES (?, ?)", (api_key, orjson.dumps(window)))

    # --- fault rules ------------------------------------------------------------------------------------

    def add_fault(self, rule: FaultRule) -> FaultRule:
        """Store a rule; its id is its row number (1, 2, … since the last clear)."""
        cursor = self._write(
            "INSERT INTO faults (operation, error_id, times, probability, api_key, at_progress, hits) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rule.operation, rule.error_id, rule.times, rule.probability, rule.api_key, rule.at_progress, rule.hits),
        )
        assert cursor.lastrowid is not None
        self._faults = None
        return FaultRule(
            cursor.lastrowid,
            rule.operation,
            rule.error_id,
            rule.times,
            rule.probability,
            rule.api_key,
            rule.at_progress,
            rule.hits,
        )

    def fault_rules(self) -> list[FaultRule]:
        """Every fault rule, oldest first."""
        if self._faults is not None:
            return list(self._faults)
        rows = self._conn.execute(
            "SELECT id, operation, error_id, times, probability, api_key, at_progress, hits FROM faults ORDER BY id"
        ).fetchall()
        rules = [_fault(row) for row in rows]
        if not self.shared:
            self._faults = rules
        return list(rules)

    def hit_fault(self, rule_id: int) -> None:
        """Count a hit of a rule."""
        self._write("UPDATE faults SET hits = hits + 1 WHERE id = ?", (rule_id,))
        self._faults = None

    def clear_faults(self) -> None:
        """Forget every rule and restart the draws."""
        with self.transaction():
            self._conn.execute("DELETE FROM faults")
            self._conn.execute("DELETE FROM sequences WHERE name = ?", (FAULT_DRAWS,))
            self._faults = None
            self._blocks.pop(FAULT_DRAWS, None)

    # --- webhooks ---------------------------------------------------------------------------------------

    def put_watch(self, watch: Watch) -> None:
        """Insert or replace a task's watch."""
        self._write(
            "INSERT INTO watches (task_id, url, secret, platform, base_url, sent) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (task_id) DO UPDATE SET sent = excluded.sent",
            (watch.task_id, watch.url, watch.secret, watch.platform, watch.base_url, ",".join(sorted(watch.sent))),
        )

    def watches(self) -> list[Watch]:
        """Every watch, oldest first."""
        rows = self._conn.execute("SELECT task_id, url, secret, platform, base_url, sent FROM watches ORDER BY rowid")
        return [
            Watch(task_id, url, secret, platform, base_url, set(filter(None, sent.split(","))))
            for task_id, url, secret, platform, base_url, sent in rows
        ]

    def drop_watch(self, task_id: str) -> None:
        """Forget a task's watch."""
        self._write("DELETE FROM watches WHERE task_id = ?", (task_id,))

    def put_delivery(self, delivery: Delivery) -> None:
        """Insert a delivery, or update its state, next attempt and attempts."""
        attempts = orjson.dumps([[a.instant, a.status, a.error] for a in delivery.attempts])
        self._write(
            _PUT_DELIVERY,
            (
                delivery.id,
                delivery.task_id,
                delivery.platform,
                delivery.event,
                delivery.url,
                delivery.body,
                delivery.due,
                delivery.secret,
                delivery.state,
                delivery.next_at,
                attempts,
            ),
        )

    def deliveries(self, task_id: str | None = None, state: str | None = None) -> list[Delivery]:
        """Deliveries (all, a task's, or those in one state), oldest first."""
        sql = f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE 1"
        params: tuple[Any, ...] = ()
        if task_id is not None:
            sql += " AND task_id = ?"
            params += (task_id,)
        if state is not None:
            sql += " AND state = ?"
            params += (state,)
        return [_delivery(row) for row in self._conn.execute(sql + " ORDER BY seq", params).fetchall()]

    def due_deliveries(self, now: float) -> list[Delivery]:
        """Pending deliveries due by ``now``, oldest first."""
        rows = self._conn.execute(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE state = 'pending' AND next_at <= ? ORDER BY seq", (now,)
        ).fetchall()
        return [_delivery(row) for row in rows]

    # --- life cycle -------------------------------------------------------------------------------------

    def initialized(self) -> bool:
        """Whether the start-up state has been applied since the file was new or cleared."""
        return self._conn.execute("SELECT 1 FROM meta WHERE name = 'initialized'").fetchone() is not None

    def mark_initialized(self) -> None:
        """Record that the start-up state has been applied."""
        self._write("INSERT OR REPLACE INTO meta (name, value) VALUES ('initialized', 1)")

    def recover(self) -> None:
        """Deliveries claimed by a process that died before finishing them become pending again."""
        self._write("UPDATE deliveries SET state = 'pending' WHERE state = 'sending'")

    def clear(self) -> None:
        """Forget everything, in one transaction."""
        with self._lock:
            self._journal_buffer.clear()  # records of the state being forgotten
            with self.transaction():
                for table in TABLES:
                    self._conn.execute(f"DELETE FROM {table}")
                self._forget_caches()

    def close(self) -> None:
        """Write what is buffered and close the connection (idempotent)."""
        with self._lock:
            try:
                self._release_held()
                self.flush()
            except sqlite3.ProgrammingError:  # closed already
                pass
            self._conn.close()
            self._close_writers()
