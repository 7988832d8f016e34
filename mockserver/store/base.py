"""The store interface: every state change is one method, so a durable store can make it atomic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from mockserver.ledger import Account, Entry
from mockserver.tasks import Clip, Persona, Task


class Store(Protocol):
    """Where tasks, accounts, the ledger and the request journal live."""

    def transaction(self) -> AbstractContextManager[None]:
        """A unit of work: everything inside commits together (a no-op in memory)."""

    def put_task(self, task: Task) -> None:
        """Insert or replace a task."""

    def get_task(self, task_id: str) -> Task | None:
        """A task by id, or None."""

    def task_count(self) -> int:
        """How many tasks are stored."""

    def tasks(self, api_key: str | None = None) -> Iterator[Task]:
        """All tasks, or a key's, oldest first."""

    def open_task_ids(self, api_key: str) -> list[str]:
        """Ids of a key's tasks that may still be unfinished (a superset; callers check)."""

    def close_tasks(self, api_key: str, task_ids: list[str]) -> None:
        """Drop finished tasks from :meth:`open_task_ids`."""

    def unsettled_task_ids(self, api_key: str) -> list[str]:
        """Ids of a key's charged tasks with a failure planned and no refund yet."""

    def put_clip(self, clip: Clip) -> None:
        """Register a clip (generated, uploaded) for later reference by id."""

    def get_clip(self, clip_id: str) -> Clip | None:
        """A clip by id, or None."""

    def put_persona(self, persona: Persona) -> None:
        """Store a persona."""

    def get_persona(self, persona_id: str) -> Persona | None:
        """A persona by id, or None."""

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

    def journal(self, record: dict[str, Any]) -> None:
        """Record one API request."""

    def journal_entries(self, api_key: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Recorded requests, oldest first."""

    def clear(self) -> None:
        """Forget everything."""
