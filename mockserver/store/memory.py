"""The in-memory store (the default)."""

from __future__ import annotations

from mockserver.tasks import Task


class MemoryStore:
    """Tasks in a dict. All calls come from one event loop, so each method is atomic."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}

    def put_task(self, task: Task) -> None:
        """Insert or replace a task."""
        self._tasks[task.id] = task

    def get_task(self, task_id: str) -> Task | None:
        """A task by id, or None."""
        return self._tasks.get(task_id)

    def task_count(self) -> int:
        """How many tasks are stored."""
        return len(self._tasks)

    def clear(self) -> None:
        """Forget everything."""
        self._tasks.clear()
