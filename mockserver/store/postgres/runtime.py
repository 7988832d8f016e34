"""The PostgreSQL store's shared runtime state: the clock, sequences, QPS windows, fault rules and webhooks.

Every instance of a fleet reads them from the database on each use: nothing is cached.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from mockserver.clock import ClockState
from mockserver.engine.faults import FAULT_DRAWS
from mockserver.engine.records import Delivery, DeliveryState, FaultRule, Watch
from mockserver.store.postgres.connection import Connection
from mockserver.store.postgres.schema import ADD_FAULT, DELIVERY_COLUMNS, NEXT, PUT_DELIVERY
from mockserver.store.rows import delivery_of, delivery_row, fault_of, fault_row


class RuntimeState(Connection):
    """Clock state, sequences, QPS windows, fault rules, webhook watches and deliveries."""

    def clock_state(self) -> ClockState | None:
        """The virtual clock's state, or None."""
        row = self._one("SELECT clock_offset, frozen_at FROM clock WHERE id = 0")
        return None if row is None else ClockState(row[0], row[1])

    def put_clock_state(self, state: ClockState) -> None:
        """Replace the virtual clock's state."""
        self._write(
            "INSERT INTO clock (id, clock_offset, frozen_at) VALUES (0, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET clock_offset = excluded.clock_offset, frozen_at = excluded.frozen_at",
            (state.offset, state.frozen_at),
        )

    def next_sequence(self, name: str) -> int:
        """The next number of a sequence (one atomic statement, shared by the fleet)."""
        with self._transaction:
            row = self._conn.execute(NEXT.encode(), (name,)).fetchone()
        assert row is not None
        return int(row[0])

    def qps_window(self, api_key: str) -> list[float]:
        """A key's QPS window."""
        row = self._one("SELECT win FROM qps WHERE api_key = %s", (api_key,))
        return [] if row is None else list(orjson.loads(row[0]))

    def put_qps_window(self, api_key: str, window: list[float]) -> None:
        """Replace a key's QPS window."""
        self._write(
            "INSERT INTO qps (api_key, win) VALUES (%s, %s) ON CONFLICT (api_key) DO UPDATE SET win = excluded.win",
            (api_key, orjson.dumps(window)),
        )

    # --- fault rules ------------------------------------------------------------------------------------

    def add_fault(self, rule: FaultRule) -> FaultRule:
        """Store a rule; its id is 1, 2, … since the last clear."""
        with self._transaction:
            row = self._conn.execute(ADD_FAULT.encode(), fault_row(rule)).fetchone()
        assert row is not None
        return replace(rule, id=int(row[0]))

    def fault_rules(self) -> list[FaultRule]:
        """Every fault rule, oldest first."""
        rows = self._read(
            "SELECT id, operation, error_id, times, probability, api_key, at_progress, hits FROM faults ORDER BY id"
        )
        return [fault_of(row) for row in rows]

    def hit_fault(self, rule_id: int) -> None:
        """Count a hit of a rule."""
        self._write("UPDATE faults SET hits = hits + 1 WHERE id = %s", (rule_id,))

    def clear_faults(self) -> None:
        """Forget every rule and restart the draws."""
        with self.transaction():
            self._conn.execute("DELETE FROM faults")
            self._conn.execute("DELETE FROM sequences WHERE name = %s", (FAULT_DRAWS,))

    # --- webhooks ---------------------------------------------------------------------------------------

    def put_watch(self, watch: Watch) -> None:
        """Insert or replace a task's watch."""
        self._write(
            "INSERT INTO watches (task_id, url, secret, platform, base_url, sent) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (task_id) DO UPDATE SET sent = excluded.sent",
            (watch.task_id, watch.url, watch.secret, watch.platform, watch.base_url, ",".join(sorted(watch.sent))),
        )

    def watches(self) -> list[Watch]:
        """Every watch, oldest first."""
        rows = self._read("SELECT task_id, url, secret, platform, base_url, sent FROM watches ORDER BY pos")
        return [
            Watch(task_id, url, secret, platform, base_url, set(filter(None, sent.split(","))))
            for task_id, url, secret, platform, base_url, sent in rows
        ]

    def drop_watch(self, task_id: str) -> None:
        """Forget a task's watch."""
        self._write("DELETE FROM watches WHERE task_id = %s", (task_id,))

    def put_delivery(self, delivery: Delivery) -> None:
        """Insert a delivery, or update its state, next attempt and attempts."""
        self._write(PUT_DELIVERY, delivery_row(delivery))

    def deliveries(self, task_id: str | None = None, state: DeliveryState | None = None) -> list[Delivery]:
        """Deliveries (all, a task's, or those in one state), oldest first."""
        sql = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE true"
        params: tuple[Any, ...] = ()
        if task_id is not None:
            sql += " AND task_id = %s"
            params += (task_id,)
        if state is not None:
            sql += " AND state = %s"
            params += (state,)
        return [delivery_of(self._bytes_body(row)) for row in self._read(sql + " ORDER BY seq", params)]

    def due_deliveries(self, now: float) -> list[Delivery]:
        """Pending deliveries due by ``now``, oldest first."""
        rows = self._read(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state = 'pending' AND next_at <= %s ORDER BY seq",
            (now,),
        )
        return [delivery_of(self._bytes_body(row)) for row in rows]

    @staticmethod
    def _bytes_body(row: tuple[Any, ...]) -> tuple[Any, ...]:
        """A delivery row with its body as ``bytes`` (BYTEA may come back as a memoryview)."""
        return (*row[:5], bytes(row[5]), *row[6:])
