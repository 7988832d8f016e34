"""The fleet store: the whole state in one PostgreSQL database, shared by any number of mock processes on
any number of hosts (``musicapi-mock serve --state postgresql://USER@HOST:PORT/DB``; ``pip install
'musicapi-mock[postgres]'``).

The same protocol and the same invariants as the SQLite store, for the same reason: every
read-modify-write of the engine (a create: settle refunds, check the balance, the queue and the QPS
window, debit, store the task) is one transaction, and a create is answered only after it commits.

Consistency: the write transactions of the whole fleet are serialized by one transaction-scoped advisory
lock (``pg_advisory_xact_lock``), taken right after ``BEGIN`` at READ COMMITTED. Each statement then sees
every commit made before the lock was granted, so a transaction behaves as if it ran alone — the
isolation SQLite's ``BEGIN IMMEDIATE`` gives on one file, which the store protocol is written for.
SERIALIZABLE with retries was the alternative; it cannot be used here, because a transaction interleaves
the engine's Python work with its statements (a retry would have to rerun the engine, and a
:class:`~mockserver.errors.MockError` commits what was written before it), and per-key row locks would need
every caller to name its key up front (clock advances, resets and fault-rule counts are not per key).
The price: one write transaction at a time across the fleet, so write throughput is bounded by one
transaction's round trips (README: "where it stops scaling"). Reads (polls) run outside transactions
and scale with the instances.

Nothing is cached in a process: the clock, the fault rules, accounts and sequences are read from the
database on each use. A create's journal record commits with the create's own transaction (the held
commit of :mod:`mockserver.store.transactions`): one commit per create; a poll's is one insert outside
the write lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mockserver.engine.records import Account, Clip, Entry, Persona, Task
from mockserver.store.postgres.connection import shown
from mockserver.store.postgres.runtime import RuntimeState
from mockserver.store.postgres.schema import (
    ACCOUNT_COLUMNS,
    ADD_ENTRY,
    ENTRY_COLUMNS,
    GET_TASK,
    PUT_ACCOUNT,
    PUT_TASK,
    TABLES,
    TASK_COLUMNS,
)
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

__all__ = ["PostgresStore", "shown"]


def _task(row: tuple[Any, ...]) -> Task:
    return task_of((*row[:6], bytes(row[6]), *row[7:]))


class PostgresStore(RuntimeState):
    """The state in a PostgreSQL database (see the package docstring for consistency)."""

    # --- tasks, clips, personas ---------------------------------------------------------------------

    def put_task(self, task: Task) -> None:
        """Insert or replace a task (its result as one compact JSON blob)."""
        with self._transaction:
            unsettled = task.failure is not None and any(task.charged) and self.refund_of(task.id) is None
            self._conn.execute(PUT_TASK.encode(), task_row(task, unsettled))

    def get_task(self, task_id: str) -> Task | None:
        """A task by id, or None."""
        row = self._one(GET_TASK, (task_id,))
        return None if row is None else _task(row)

    def task_count(self) -> int:
        """How many tasks are stored."""
        row = self._one("SELECT count(*) FROM tasks")
        return 0 if row is None else int(row[0])

    def forget_tasks(self, created_before: float, limit: int) -> int:
        """Delete up to ``limit`` tasks created before the instant (never one owed a refund); how many went."""
        with self._transaction:
            rows = self._read(
                "SELECT id FROM tasks WHERE unsettled = 0 AND created_at < %s ORDER BY created_at LIMIT %s",
                (created_before, limit),
            )
            ids = [row[0] for row in rows]
            if ids:
                self._conn.execute("DELETE FROM tasks WHERE id = ANY(%s)", (ids,))
                self._conn.execute("DELETE FROM watches WHERE task_id = ANY(%s)", (ids,))
        return len(ids)

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        """All tasks, or a key's, oldest first."""
        if api_key is None:
            rows = self._read(f"SELECT {TASK_COLUMNS} FROM tasks ORDER BY pos")
        else:
            rows = self._read(f"SELECT {TASK_COLUMNS} FROM tasks WHERE api_key = %s ORDER BY pos", (api_key,))
        return map(_task, rows)

    def open_task_ids(self, api_key: str) -> list[str]:
        """Ids of a key's tasks that may be unfinished."""
        rows = self._read("SELECT id FROM tasks WHERE api_key = %s AND open = 1 ORDER BY pos", (api_key,))
        return [row[0] for row in rows]

    def close_tasks(self, api_key: str, task_ids: list[str]) -> None:
        """Forget finished tasks from the open index."""
        if task_ids:
            self._write("UPDATE tasks SET open = 0 WHERE id = ANY(%s)", (task_ids,))

    def unsettled_task_ids(self, api_key: str) -> list[str]:
        """A key's charged tasks with a planned failure and no refund yet."""
        rows = self._read("SELECT id FROM tasks WHERE api_key = %s AND unsettled = 1 ORDER BY pos", (api_key,))
        return [row[0] for row in rows]

    def put_clip(self, clip: Clip) -> None:
        """Register a clip."""
        self._write(
            "INSERT INTO clips (clip_id, api_key, created_at, duration, kind, task_id, idx, extends, continue_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (clip_id) DO UPDATE SET "
            "api_key = excluded.api_key, created_at = excluded.created_at, duration = excluded.duration, "
            "kind = excluded.kind, task_id = excluded.task_id, idx = excluded.idx, extends = excluded.extends, "
            "continue_at = excluded.continue_at",
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

    _CLIP = "clip_id, api_key, created_at, duration, kind, task_id, idx, extends, continue_at"

    def get_clip(self, clip_id: str) -> Clip | None:
        """A clip by id, or None."""
        row = self._one(f"SELECT {self._CLIP} FROM clips WHERE clip_id = %s", (clip_id,))
        return None if row is None else Clip(*row)

    def clips_of(self, api_key: str, limit: int, offset: int = 0) -> list[Clip]:
        """A key's clips, newest first."""
        rows = self._read(
            f"SELECT {self._CLIP} FROM clips WHERE api_key = %s ORDER BY created_at DESC, pos DESC LIMIT %s OFFSET %s",
            (api_key, limit, offset),
        )
        return [Clip(*row) for row in rows]

    def put_ref(self, name: str, value: str) -> None:
        """Remember ``value`` under ``name``."""
        self._write(
            "INSERT INTO refs (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def get_ref(self, name: str) -> str | None:
        """The value remembered under ``name``, or None."""
        row = self._one("SELECT value FROM refs WHERE name = %s", (name,))
        return None if row is None else str(row[0])

    def put_persona(self, persona: Persona) -> None:
        """Store a persona."""
        self._write(
            "INSERT INTO personas (persona_id, api_key, name, clip_id, created_at) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (persona_id) DO UPDATE SET api_key = excluded.api_key, name = excluded.name, "
            "clip_id = excluded.clip_id, created_at = excluded.created_at",
            (persona.persona_id, persona.api_key, persona.name, persona.clip_id, persona.created_at),
        )

    def get_persona(self, persona_id: str) -> Persona | None:
        """A persona by id, or None."""
        row = self._one(
            "SELECT persona_id, api_key, name, clip_id, created_at FROM personas WHERE persona_id = %s", (persona_id,)
        )
        return None if row is None else Persona(*row)

    # --- accounts and the ledger --------------------------------------------------------------------

    def get_account(self, api_key: str) -> Account | None:
        """An account by key, or None."""
        row = self._one(f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE api_key = %s", (api_key,))
        return None if row is None else account_of(row)

    def put_account(self, account: Account) -> None:
        """Insert or replace an account (keeping its place in :meth:`accounts`)."""
        self._write(PUT_ACCOUNT, account_row(account))

    def accounts(self) -> Iterator[Account]:
        """Every account, in the order they were opened."""
        return map(account_of, self._read(f"SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY pos"))

    def add_entry(self, entry: Entry) -> Entry:
        """Append a ledger entry; its ``seq`` is 1, 2, … A second refund of a task is refused (unique index)."""
        with self._transaction:
            row = self._conn.execute(ADD_ENTRY.encode(), entry_row(entry)).fetchone()
            if entry.reason == "refund" and entry.task_id is not None:
                self._conn.execute("UPDATE tasks SET unsettled = 0 WHERE id = %s", (entry.task_id,))
        assert row is not None
        return entry.numbered(int(row[0]))

    def entries(self, api_key: str | None = None) -> list[Entry]:
        """Ledger entries, oldest first."""
        if api_key is None:
            rows = self._read(f"SELECT {ENTRY_COLUMNS} FROM ledger ORDER BY seq")
        else:
            rows = self._read(f"SELECT {ENTRY_COLUMNS} FROM ledger WHERE api_key = %s ORDER BY seq", (api_key,))
        return [entry_of(row) for row in rows]

    def refund_of(self, task_id: str) -> Entry | None:
        """The refund entry of a task, if any."""
        row = self._one(f"SELECT {ENTRY_COLUMNS} FROM ledger WHERE task_id = %s AND reason = 'refund'", (task_id,))
        return None if row is None else entry_of(row)

    # --- the request journal --------------------------------------------------------------------------

    def journal_entries(
        self, api_key: str | None = None, limit: int | None = None, after: int | None = None
    ) -> list[dict[str, Any]]:
        """Recorded requests, oldest first, of the last ``journal_size``: the last ``limit``, or with
        ``after`` the first ``limit`` whose ``seq`` is greater."""
        sql, params = journal_query("%s", self._journal_size, api_key, limit, after)
        return journal_records(self._read(sql, params), after)

    # --- life cycle -------------------------------------------------------------------------------------

    def initialized(self) -> bool:
        """Whether the start-up state has been applied since the database was new or cleared."""
        return self._one("SELECT 1 FROM meta WHERE name = 'initialized'") is not None

    def mark_initialized(self) -> None:
        """Record that the start-up state has been applied."""
        self._write("INSERT INTO meta (name, value) VALUES ('initialized', '1') ON CONFLICT (name) DO NOTHING")

    def recover(self) -> None:
        """Deliveries claimed by a process that died before finishing them become pending again."""
        self._write("UPDATE deliveries SET state = 'pending' WHERE state = 'sending'")

    def clear(self) -> None:
        """Forget everything (the schema version stays), in one transaction."""
        with self.transaction():
            for table in TABLES:
                if table == "meta":
                    self._conn.execute("DELETE FROM meta WHERE name <> 'schema_version'")
                else:
                    self._conn.execute(f"DELETE FROM {table}".encode())
            self._conn.execute("ALTER SEQUENCE journal_seq RESTART")

    def close(self) -> None:
        """Commit what is held and close the connection (idempotent)."""
        with self._lock:
            if self._conn.closed:
                return
            try:
                self._release_held()
            finally:
                self._conn.close()
