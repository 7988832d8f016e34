"""The in-memory store (the default)."""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from typing import Any

from mockserver.clock import ClockState
from mockserver.engine.faults import FAULT_DRAWS
from mockserver.engine.records import Account, Clip, Delivery, DeliveryState, Entry, FaultRule, Persona, Task, Watch

#: Tasks stored between two ``gc.freeze()`` calls.
FREEZE_EVERY = 5_000


class MemoryStore:
    """State in dicts. Every call comes from one event loop and none awaits, so each is atomic."""

    def __init__(self, journal_size: int = 10_000, journal_bytes: int = 16 << 20) -> None:
        self._journal_size = journal_size
        self._journal_bytes_cap = journal_bytes
        self._journal_bytes = 0
        self._since_freeze = 0
        self._tasks: dict[str, Task] = {}
        self._open: dict[str, dict[str, None]] = {}
        self._unsettled: dict[str, dict[str, None]] = {}
        self._accounts: dict[str, Account] = {}
        self._entries: list[Entry] = []
        self._entries_by_key: dict[str, list[Entry]] = {}
        self._refunds: dict[str, Entry] = {}
        self._journal: deque[dict[str, Any]] = deque()
        self._journal_seq = 0
        self._clips: dict[str, Clip] = {}
        self._clips_by_key: dict[str, list[Clip]] = {}
        self._refs: dict[str, str] = {}
        self._personas: dict[str, Persona] = {}
        self._clock: ClockState | None = None
        self._sequences: dict[str, int] = {}
        self._windows: dict[str, list[float]] = {}
        self._faults: list[FaultRule] = []
        self._watches: dict[str, Watch] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._initialized = False

    def transaction(self) -> AbstractContextManager[None]:
        """No-op: memory operations are atomic already."""
        return nullcontext()

    def request(self) -> AbstractContextManager[None]:
        """No-op: nothing to commit."""
        return nullcontext()

    def settled(self) -> None:
        """Nothing is ever uncommitted in memory."""
        return None

    def writable(self) -> None:
        """Nothing to wait for before writing."""
        return None

    def settle_now(self) -> None:
        """No-op: nothing to commit."""

    def put_task(self, task: Task) -> None:
        """Insert or replace a task."""
        self._tasks[task.id] = task
        self._since_freeze += 1
        if self._since_freeze >= FREEZE_EVERY:
            # A growing store makes the cyclic GC walk every stored task again and again (p99 climbed
            # past 20 ms): what is stored holds no cycles, so move it out of the GC's sight. Freed
            # objects are still reclaimed by reference counting; gc.freeze() is O(1).
            self._since_freeze = 0
            gc.freeze()
        self._open.setdefault(task.api_key, {})[task.id] = None
        if task.failure is not None and any(task.charged) and task.id not in self._refunds:
            self._unsettled.setdefault(task.api_key, {})[task.id] = None

    def get_task(self, task_id: str) -> Task | None:
        """A task by id, or None."""
        return self._tasks.get(task_id)

    def task_count(self) -> int:
        """How many tasks are stored."""
        return len(self._tasks)

    def forget_tasks(self, created_before: float, limit: int) -> int:
        """Delete up to ``limit`` tasks created before the instant (never one owed a refund); how many went."""
        gone: list[Task] = []
        for task in self._tasks.values():  # insertion order is creation order: stop at the first young one
            if task.created_at >= created_before or len(gone) >= limit:
                break
            if task.id not in self._unsettled.get(task.api_key, ()):
                gone.append(task)
        for task in gone:
            del self._tasks[task.id]
            self._open.get(task.api_key, {}).pop(task.id, None)
            self._watches.pop(task.id, None)
        return len(gone)

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        """All tasks, or a key's, oldest first."""
        return (t for t in self._tasks.values() if api_key is None or t.api_key == api_key)

    def open_task_ids(self, api_key: str) -> list[str]:
        """Ids of a key's tasks that may be unfinished."""
        return list(self._open.get(api_key, ()))

    def close_tasks(self, api_key: str, task_ids: list[str]) -> None:
        """Forget finished tasks from the open index."""
        open_ids = self._open.get(api_key)
        if open_ids is not None:
            for task_id in task_ids:
                open_ids.pop(task_id, None)

    def unsettled_task_ids(self, api_key: str) -> list[str]:
        """A key's charged tasks with a planned failure and no refund yet."""
        return list(self._unsettled.get(api_key, ()))

    def put_clip(self, clip: Clip) -> None:
        """Register a clip."""
        if clip.clip_id not in self._clips:
            self._clips_by_key.setdefault(clip.api_key, []).append(clip)
        self._clips[clip.clip_id] = clip

    def clips_of(self, api_key: str, limit: int, offset: int = 0) -> list[Clip]:
        """A key's clips, newest first."""
        # newest first; clips made at the same instant latest-registered first (as the SQLite store orders them)
        mine = sorted(reversed(self._clips_by_key.get(api_key, [])), key=lambda clip: clip.created_at, reverse=True)
        return [self._clips[clip.clip_id] for clip in mine[offset : offset + limit]]

    def put_ref(self, name: str, value: str) -> None:
        """Remember ``value`` under ``name``."""
        self._refs[name] = value

    def get_ref(self, name: str) -> str | None:
        """The value remembered under ``name``, or None."""
        return self._refs.get(name)

    def get_clip(self, clip_id: str) -> Clip | None:
        """A clip by id, or None."""
        return self._clips.get(clip_id)

    def put_persona(self, persona: Persona) -> None:
        """Store a persona."""
        self._personas[persona.persona_id] = persona

    def get_persona(self, persona_id: str) -> Persona | None:
        """A persona by id, or None."""
        return self._personas.get(persona_id)

    def get_account(self, api_key: str) -> Account | None:
        """An account by key, or None."""
        return self._accounts.get(api_key)

    def put_account(self, account: Account) -> None:
        """Insert or replace an account."""
        self._accounts[account.api_key] = account

    def accounts(self) -> Iterator[Account]:
        """Every account."""
        return iter(list(self._accounts.values()))

    def add_entry(self, entry: Entry) -> Entry:
        """Append a ledger entry with the next sequence number."""
        stored = entry.numbered(len(self._entries) + 1)
        self._entries.append(stored)
        self._entries_by_key.setdefault(stored.api_key, []).append(stored)
        if stored.reason == "refund" and stored.task_id is not None:
            self._refunds[stored.task_id] = stored
            unsettled = self._unsettled.get(stored.api_key)
            if unsettled is not None:
                unsettled.pop(stored.task_id, None)
        return stored

    def entries(self, api_key: str | None = None) -> list[Entry]:
        """Ledger entries, oldest first."""
        return list(self._entries if api_key is None else self._entries_by_key.get(api_key, ()))

    def refund_of(self, task_id: str) -> Entry | None:
        """The refund entry of a task, if any."""
        return self._refunds.get(task_id)

    def journal(self, record: dict[str, Any]) -> None:
        """Record one API request."""
        self._journal_seq += 1
        record["seq"] = self._journal_seq
        self._journal.append(record)
        self._journal_bytes += len(record.get("detail") or b"")
        journal = self._journal
        while journal and (len(journal) > self._journal_size or self._journal_bytes > self._journal_bytes_cap):
            self._journal_bytes -= len(journal.popleft().get("detail") or b"")

    def journal_entries(
        self, api_key: str | None = None, limit: int | None = None, after: int | None = None
    ) -> list[dict[str, Any]]:
        """Recorded requests, oldest first: the last ``limit``, or with ``after`` the first ``limit`` past it."""
        rows = [
            r
            for r in self._journal
            if (api_key is None or r.get("api_key") == api_key) and (after is None or r["seq"] > after)
        ]
        if after is not None:
            return rows[:limit] if limit else rows
        return rows[-limit:] if limit else rows

    def clock_state(self) -> ClockState | None:
        """The virtual clock's state."""
        return self._clock

    def put_clock_state(self, state: ClockState) -> None:
        """Replace the virtual clock's state."""
        self._clock = state

    def next_sequence(self, name: str) -> int:
        """The next number of a sequence."""
        value = self._sequences[name] = self._sequences.get(name, 0) + 1
        return value

    def qps_window(self, api_key: str) -> list[float]:
        """A key's QPS window."""
        return self._windows.get(api_key, [])

    def put_qps_window(self, api_key: str, window: list[float]) -> None:
        """Replace a key's QPS window."""
        self._windows[api_key] = window

    def add_fault(self, rule: FaultRule) -> FaultRule:
        """Store a rule with the next id."""
        stored = replace(rule, id=len(self._faults) + 1)
        self._faults.append(stored)
        return stored

    def fault_rules(self) -> list[FaultRule]:
        """Every fault rule."""
        return list(self._faults)

    def hit_fault(self, rule_id: int) -> None:
        """Count a hit of a rule."""
        self._faults[rule_id - 1].hits += 1

    def clear_faults(self) -> None:
        """Forget every rule and restart the draws."""
        self._faults.clear()
        self._sequences.pop(FAULT_DRAWS, None)

    def put_watch(self, watch: Watch) -> None:
        """Insert or replace a watch."""
        self._watches[watch.task_id] = watch

    def watches(self) -> list[Watch]:
        """Every watch."""
        return list(self._watches.values())

    def drop_watch(self, task_id: str) -> None:
        """Forget a watch."""
        self._watches.pop(task_id, None)

    def put_delivery(self, delivery: Delivery) -> None:
        """Insert or replace a delivery."""
        self._deliveries[delivery.id] = delivery

    def deliveries(self, task_id: str | None = None, state: DeliveryState | None = None) -> list[Delivery]:
        """Deliveries, oldest first."""
        return [
            d
            for d in self._deliveries.values()
            if (task_id is None or d.task_id == task_id) and (state is None or d.state == state)
        ]

    def due_deliveries(self, now: float) -> list[Delivery]:
        """Pending deliveries due by ``now``."""
        return [d for d in self._deliveries.values() if d.state == "pending" and d.next_at <= now]

    def initialized(self) -> bool:
        """Whether the start-up state has been applied."""
        return self._initialized

    def mark_initialized(self) -> None:
        """Record that the start-up state has been applied."""
        self._initialized = True

    def recover(self) -> None:
        """Nothing survives a crash in memory."""

    def clear(self) -> None:
        """Forget everything."""
        self.__init__(self._journal_size, self._journal_bytes_cap)  # type: ignore[misc]

    def close(self) -> None:
        """Nothing to release."""
