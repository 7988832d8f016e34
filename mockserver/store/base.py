"""The store interface: every state change is one method, so a durable store can make it atomic."""

from __future__ import annotations

from typing import Protocol

from mockserver.tasks import Task


class Store(Protocol):
    """Where tasks live."""

    def put_task(self, task: Task) -> None:
        """Insert or replace a task."""

    def get_task(self, task_id: str) -> Task | None:
        """A task by id, or None."""

    def task_count(self) -> int:
        """How many tasks are stored."""

    def clear(self) -> None:
        """Forget everything."""
