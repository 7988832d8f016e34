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
* **Group commit**: inside :meth:`SqliteStore.request` a committed transaction is held open, and every
  request of the same turn of the event loop writes into it (its journal record too); it commits once,
  at the next turn, and each of those requests answers only after that commit
  (:meth:`~mockserver.store.transactions.HeldTransactions.settled`). Under load that is one commit for
  dozens of requests; a crash (not a domain error) in one of them rolls the group back, and the others
  answer ``request.internal`` rather than a success that was not saved.

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

import sqlite3
from collections.abc import Iterator
from typing import Any

from mockserver.clock import ClockState
from mockserver.engine.records import Account, Clip, Entry, FaultRule, Persona, Task
from mockserver.store.rows import (
    account_of,
    account_row,
    entry_of,
    entry_row,
    journal_query,
    journal_records,
    task_of,
    task_row,
)
from mockserver.store.sqlite.runtime import RuntimeState
from mockserver.store.sqlite.schema import (
    ACCOUNT_COLUMNS,
    ADD_ENTRY,
    ENTRY_COLUMNS,
    GET_TASK,
    PUT_ACCOUNT,
    PUT_TASK,
    TABLES,
    TASK_COLUMNS,
)


class SqliteStore(RuntimeState):
    """The state in a SQLite file (see the module docstring for durability and isolation)."""

    def __init__(
        self,
        path: str,
        journal_size: int = 10_000,
        *,
        shared: bool = False,
        timeout: float = 30.0,
        journal_bytes: int = 16 << 20,
    ) -> None:
        #: Exclusive mode: caches of what only this process writes (None: not loaded).
        self._clock: ClockState | None = None
        self._faults: list[FaultRule] | None = None
        self._accounts: dict[str, Account] = {}
        #: Exclusive mode: the ids of each key's tasks owed a refund, oldest first (a key's: loaded on first use).
        self._unsettled: dict[str, dict[str, None]] = {}
        #: Exclusive mode: sequence numbers handed out from blocks reserved in the file: (next, limit).
        self._blocks: dict[str, tuple[int, int]] = {}
        super().__init__(path, journal_size, shared=shared, timeout=timeout, journal_bytes=journal_bytes)

    def _forget_caches(self) -> None:
        self._clock = None
        self._faults = None
        self._accounts.clear()
        self._unsettled.clear()
        self._blocks.clear()

    # --- tasks, clips, personas ---------------------------------------------------------------------

    def put_task(self, task: Task) -> None:
        """Insert or replace a task (its result as one compact JSON blob)."""
        unsettled = task.failure is not None and any(task.charged) and self.refund_of(task.id) is None
        self._write(PUT_TASK, task_row(task, unsettled))
        owed = self._unsettled.get(task.api_key)
        if owed is not None:
            if unsettled:
                owed[task.id] = None
            else:
                owed.pop(task.id, None)

    def get_task(self, task_id: str) -> Task | None:
        """A task by id, or None."""
        row = self._conn.execute(GET_TASK, (task_id,)).fetchone()
        return None if row is None else task_of(row)

    def task_count(self) -> int:
        """How many tasks are stored."""
        count: int = self._conn.execute("SELECT count(*) FROM tasks").fetchone()[0]
        return count

    def forget_tasks(self, created_before: float, limit: int) -> int:
        """Delete up to ``limit`` tasks created before the instant (never one owed a refund); how many went."""
        rows = self._conn.execute(
            "SELECT id FROM tasks WHERE unsettled = 0 AND created_at < ? ORDER BY created_at LIMIT ?",
            (created_before, limit),
        ).fetchall()
        for (task_id,) in rows:
            self._write("DELETE FROM tasks WHERE id = ?", (task_id,))
            self._write("DELETE FROM watches WHERE task_id = ?", (task_id,))
        return len(rows)

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        """All tasks, or a key's, oldest first."""
        if api_key is None:
            rows = self._conn.execute(f"SELECT {TASK_COLUMNS} FROM tasks ORDER BY rowid").fetchall()
        else:
            rows = self._conn.execute(
                f"SELECT {TASK_COLUMNS} FROM tasks WHERE api_key = ? ORDER BY rowid", (api_key,)
            ).fetchall()
        return map(task_of, rows)

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
        owed = self._unsettled.get(api_key)
        if owed is None:
            rows = self._conn.execute(
                "SELECT id FROM tasks WHERE api_key = ? AND unsettled = 1 ORDER BY rowid", (api_key,)
            )
            owed = {row[0]: None for row in rows}
            if not self.shared:
                self._unsettled[api_key] = owed
        return list(owed)

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

    def clips_of(self, api_key: str, limit: int, offset: int = 0) -> list[Clip]:
        """A key's clips, newest first."""
        rows = self._conn.execute(
            "SELECT * FROM clips WHERE api_key = ? ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (api_key, limit, offset),
        ).fetchall()
        return [Clip(*row) for row in rows]

    def put_ref(self, name: str, value: str) -> None:
        """Remember ``value`` under ``name``."""
        self._write("INSERT OR REPLACE INTO refs VALUES (?, ?)", (name, value))

    def get_ref(self, name: str) -> str | None:
        """The value remembered under ``name``, or None."""
        row = self._conn.execute("SELECT value FROM refs WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

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
        row = self._conn.execute(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE api_key = ?", (api_key,)).fetchone()
        if row is None:
            return None
        account = account_of(row)
        if not self.shared:
            self._accounts[api_key] = account
        return account

    def put_account(self, account: Account) -> None:
        """Insert or replace an account (keeping its place in :meth:`accounts`)."""
        self._write(PUT_ACCOUNT, account_row(account))
        if not self.shared:
            self._accounts[account.api_key] = account

    def accounts(self) -> Iterator[Account]:
        """Every account, in the order they were opened."""
        return map(account_of, self._conn.execute(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY rowid").fetchall())

    def add_entry(self, entry: Entry) -> Entry:
        """Append a ledger entry; its ``seq`` is its row number. A second refund of a task is refused."""
        with self._transaction:
            cursor = self._conn.execute(ADD_ENTRY, entry_row(entry))
            if entry.reason == "refund" and entry.task_id is not None:
                self._conn.execute("UPDATE tasks SET unsettled = 0 WHERE id = ?", (entry.task_id,))
                self._unsettled.get(entry.api_key, {}).pop(entry.task_id, None)
        seq = cursor.lastrowid
        assert seq is not None
        return entry.numbered(seq)

    def entries(self, api_key: str | None = None) -> list[Entry]:
        """Ledger entries, oldest first."""
        if api_key is None:
            rows = self._conn.execute(f"SELECT {ENTRY_COLUMNS} FROM ledger ORDER BY seq").fetchall()
        else:
            rows = self._conn.execute(
                f"SELECT {ENTRY_COLUMNS} FROM ledger WHERE api_key = ? ORDER BY seq", (api_key,)
            ).fetchall()
        return [entry_of(row) for row in rows]

    def refund_of(self, task_id: str) -> Entry | None:
        """The refund entry of a task, if any."""
        row = self._conn.execute(
            f"SELECT {ENTRY_COLUMNS} FROM ledger WHERE task_id = ? AND reason = 'refund'", (task_id,)
        ).fetchone()
        return None if row is None else entry_of(row)

    # --- the request journal --------------------------------------------------------------------------

    def journal_entries(
        self, api_key: str | None = None, limit: int | None = None, after: int | None = None
    ) -> list[dict[str, Any]]:
        """Recorded requests, oldest first, of the last ``journal_size``: the last ``limit``, or with
        ``after`` the first ``limit`` whose ``seq`` is greater."""
        self.flush()
        sql, params = journal_query("?", self._journal_size, api_key, limit, after)
        return journal_records(self._conn.execute(sql, params).fetchall(), after)

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
