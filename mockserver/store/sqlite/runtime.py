"""The SQLite store's shared runtime state: the clock, sequences, QPS windows, fault rules and webhooks.

A mixin of :class:`~mockserver.store.sqlite.SqliteStore` (same connection, same caches); see the package
docstring for the exclusive mode's caches and sequence blocks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from mockserver.clock import ClockState
from mockserver.engine.faults import FAULT_DRAWS
from mockserver.engine.records import Delivery, DeliveryState, FaultRule, Watch
from mockserver.store.rows import delivery_of, delivery_row, fault_of, fault_row
from mockserver.store.sqlite.locking import Connection
from mockserver.store.sqlite.schema import DELIVERY_COLUMNS, NEXT, PUT_DELIVERY, RESERVE

#: Exclusive mode: sequence numbers reserved in the file at a time.
SEQUENCE_BLOCK = 1000


class RuntimeState(Connection):
    """Clock state, sequences, QPS windows, fault rules, webhook watches and deliveries."""

    #: Exclusive mode: caches of what only this process writes (None: not loaded).
    _clock: ClockState | None
    _faults: list[FaultRule] | None
    #: Exclusive mode: sequence numbers handed out from blocks reserved in the file: (next, limit).
    _blocks: dict[str, tuple[int, int]]

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
                rows = self._conn.execute(NEXT, (name,)).fetchall()
            value: int = rows[0][0]
            return value
        with self._transaction:
            block = self._blocks.get(name)
            if block is None or block[0] > block[1]:
                row = self._conn.execute("SELECT value FROM sequences WHERE name = ?", (name,)).fetchone()
                start = (row[0] if row else 0) + 1
                self._conn.execute(RESERVE, (name, start + SEQUENCE_BLOCK - 1))
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
            fault_row(rule),
        )
        assert cursor.lastrowid is not None
        self._faults = None
        return replace(rule, id=cursor.lastrowid)

    def fault_rules(self) -> list[FaultRule]:
        """Every fault rule, oldest first."""
        if self._faults is not None:
            return list(self._faults)
        rows = self._conn.execute(
            "SELECT id, operation, error_id, times, probability, api_key, at_progress, hits FROM faults ORDER BY id"
        ).fetchall()
        rules = [fault_of(row) for row in rows]
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
        self._write(PUT_DELIVERY, delivery_row(delivery))

    def deliveries(self, task_id: str | None = None, state: DeliveryState | None = None) -> list[Delivery]:
        """Deliveries (all, a task's, or those in one state), oldest first."""
        sql = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE 1"
        params: tuple[Any, ...] = ()
        if task_id is not None:
            sql += " AND task_id = ?"
            params += (task_id,)
        if state is not None:
            sql += " AND state = ?"
            params += (state,)
        return [delivery_of(row) for row in self._conn.execute(sql + " ORDER BY seq", params).fetchall()]

    def due_deliveries(self, now: float) -> list[Delivery]:
        """Pending deliveries due by ``now``, oldest first."""
        rows = self._conn.execute(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state = 'pending' AND next_at <= ? ORDER BY seq", (now,)
        ).fetchall()
        return [delivery_of(row) for row in rows]
