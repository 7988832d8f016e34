"""The store protocols, owned by the engine: the store packages are adapters of them.

Every state change is one method, so a durable store can make it atomic. Everything several worker
processes must agree on lives behind them: tasks, accounts and the ledger, clips and personas, the
request journal, fault rules, webhook watches and deliveries, the virtual clock's state, the QPS
windows and the numbered sequences ids are drawn from. A read-modify-write is bracketed by
:meth:`Store.transaction`, and everything it depends on is read inside it.

Each engine part names only the aspect it needs (:class:`WindowStore` for the limiter, :class:`FaultStore`
for fault rules, …); :class:`Store` is all of them. The clock's and the id sequences' aspects belong to
:mod:`mockserver.clock` and :mod:`mockserver.ids`, which sit below the engine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from mockserver.clock import ClockStateStore
from mockserver.engine.records import Account, Clip, Delivery, DeliveryState, Entry, FaultRule, Persona, Task, Watch
from mockserver.ids import SequenceStore


class Transactional(Protocol):
    """A store that brackets read-modify-writes."""

    def transaction(self) -> AbstractContextManager[None]:
        """A unit of work: everything inside commits together, and no other writer runs meanwhile.

        Transactions nest (the outermost one commits). A :class:`~mockserver.errors.MockError` leaving
        it is a domain outcome and commits what was written (as in memory, where nothing rolls back);
        any other exception rolls a durable store back.
        """


class WindowStore(Transactional, Protocol):
    """Where the limiter keeps each key's accepted request instants (the mock's store implements this)."""

    def qps_window(self, api_key: str) -> list[float]:
        """The instants of a key's recently accepted requests, oldest first."""

    def put_qps_window(self, api_key: str, window: list[float]) -> None:
        """Replace a key's window."""


class FaultStore(Transactional, Protocol):
    """Where fault rules live (the mock's store implements this)."""

    def add_fault(self, rule: FaultRule) -> FaultRule:
        """Store a new rule, assigning its id (1, 2, … since the last clear); returns it."""

    def fault_rules(self) -> list[FaultRule]:
        """Every rule, oldest first."""

    def hit_fault(self, rule_id: int) -> None:
        """Count one more call failed by a rule."""

    def clear_faults(self) -> None:
        """Remove every rule and restart the draws."""

    def next_sequence(self, name: str) -> int:
        """The next number of a sequence (used for the seeded draws)."""


class WebhookStore(Transactional, Protocol):
    """Where watches and deliveries live (the mock's store implements this)."""

    def put_watch(self, watch: Watch) -> None:
        """Insert or replace the watch of a task."""

    def watches(self) -> list[Watch]:
        """Every watch, oldest first."""

    def drop_watch(self, task_id: str) -> None:
        """Forget a task's watch."""

    def put_delivery(self, delivery: Delivery) -> None:
        """Insert or replace a delivery (by id)."""

    def deliveries(self, task_id: str | None = None, state: DeliveryState | None = None) -> list[Delivery]:
        """Every delivery (or a task's, or those in one state), oldest first."""

    def due_deliveries(self, now: float) -> list[Delivery]:
        """Pending deliveries whose next attempt is due by ``now``, oldest first."""


class ClipReader(Protocol):
    """What a family's rules read to check the clips and personas a request names."""

    def get_clip(self, clip_id: str) -> Clip | None:
        """A clip by id, or None."""

    def get_task(self, task_id: str) -> Task | None:
        """A task by id, or None."""

    def get_persona(self, persona_id: str) -> Persona | None:
        """A persona by id, or None."""

    def get_ref(self, name: str) -> str | None:
        """The string remembered under ``name`` (see :meth:`Store.put_ref`), or None."""


class Store(ClockStateStore, SequenceStore, WindowStore, FaultStore, WebhookStore, ClipReader, Protocol):
    """Where tasks, accounts, the ledger, the request journal and the shared runtime state live."""

    def request(self) -> AbstractContextManager[None]:
        """Around one API request (its handler and its journal record).

        A durable store may hold the request's committed transaction open until the journal record is
        added, so that both commit together; it commits before the scope ends (a no-op in memory) —
        or, with group commit, at the event loop's next turn (see :meth:`settled`).
        """

    def settled(self) -> Awaitable[None] | None:
        """Right after :meth:`request`: what the request awaits before it answers (the commit of the
        transaction holding its work), or None when nothing is uncommitted."""

    def settle_now(self) -> None:
        """Commit at once what :meth:`settled` waits for."""

    def writable(self) -> Awaitable[None] | None:
        """Before a request's handler: what it awaits so that it may write without blocking the event
        loop (another process's turn to write), or None."""

    # --- tasks, clips, personas ---------------------------------------------------------------------

    def put_task(self, task: Task) -> None:
        """Insert or replace a task."""

    def task_count(self) -> int:
        """How many tasks are stored."""

    def forget_tasks(self, created_before: float, limit: int) -> int:
        """Delete up to ``limit`` tasks created before the instant (never one owed a refund); how many went."""

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        """All tasks, or a key's, oldest first."""

    def open_task_ids(self, api_key: str) -> list[str]:
        """Ids of a key's tasks that may still be unfinished (a superset; callers check)."""

    def close_tasks(self, api_key: str, task_ids: list[str]) -> None:
        """Drop finished tasks from :meth:`open_task_ids`."""

    def unsettled_task_ids(self, api_key: str) -> list[str]:
        """Ids of a key's charged tasks with a failure planned and no refund yet (a superset; callers check)."""

    def put_clip(self, clip: Clip) -> None:
        """Register a clip (generated, uploaded) for later reference by id."""

    def put_persona(self, persona: Persona) -> None:
        """Store a persona."""

    def clips_of(self, api_key: str, limit: int, offset: int = 0) -> list[Clip]:
        """A key's clips (generated and uploaded), newest first: ``limit`` of them after ``offset``."""

    def put_ref(self, name: str, value: str) -> None:
        """Remember a string under a name (e.g. the task preparing a download), until the store is cleared."""

    # --- accounts and the ledger --------------------------------------------------------------------

    def get_account(self, api_key: str) -> Account | None:
        """An account by key, or None."""

    def put_account(self, account: Account) -> None:
        """Insert or replace an account."""

    def accounts(self) -> Iterator[Account]:
        """Every account."""

    def add_entry(self, entry: Entry) -> Entry:
        """Append a ledger entry, assigning its sequence number; returns it."""

    def entries(self, api_key: str | None = None) -> list[Entry]:
        """Ledger entries, oldest first."""

    def refund_of(self, task_id: str) -> Entry | None:
        """The refund entry of a task, if any."""

    # --- the request journal --------------------------------------------------------------------------

    def journal(self, record: dict[str, Any]) -> None:
        """Record one API request (``instant, method, path, operation, status, api_key, error_id``)."""

    def journal_entries(
        self, api_key: str | None = None, limit: int | None = None, after: int | None = None
    ) -> list[dict[str, Any]]:
        """Recorded requests, oldest first, each with its ``seq``: the last ``limit``, or with ``after``
        the first ``limit`` whose ``seq`` is greater."""

    # Clock state, sequences, QPS windows, fault rules, webhooks and clip reads are declared by the
    # protocols this class extends.

    # --- life cycle -------------------------------------------------------------------------------------

    def initialized(self) -> bool:
        """Whether the start-up state (scenario files) has been applied since the store was new or cleared."""

    def mark_initialized(self) -> None:
        """Record that the start-up state has been applied."""

    def recover(self) -> None:
        """After a crash: deliveries left claimed by a dead process become pending again."""

    def clear(self) -> None:
        """Forget everything (every table, the clock, the sequences)."""

    def close(self) -> None:
        """Release the store's resources (a no-op in memory)."""
