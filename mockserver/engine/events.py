"""What the engine tells an observer about tasks: stored (created, or changed by the control plane) and
refunded. The server's observer writes the task log (``mockserver.http.tasklog``); the default ignores them."""

from __future__ import annotations

from typing import Protocol

from mockserver.engine.records import Task


class TaskEvents(Protocol):
    """An observer of tasks; each call is made once, right after the store holds the change."""

    def stored(self, task: Task) -> None:
        """``task`` was stored: a new task, or a changed timeline (completed or failed on request)."""

    def refunded(self, task: Task, instant: float, credits: tuple[int, int]) -> None:
        """``task``'s charge (credits, extra credits) was refunded, dated ``instant``."""

    def moved(self) -> None:
        """The virtual clock was moved: transitions may be due."""

    def cleared(self) -> None:
        """Every task was forgotten (a reset)."""


class NoTaskEvents:
    """The observer that ignores everything."""

    def stored(self, task: Task) -> None:
        """Nothing."""

    def refunded(self, task: Task, instant: float, credits: tuple[int, int]) -> None:
        """Nothing."""

    def moved(self) -> None:
        """Nothing."""

    def cleared(self) -> None:
        """Nothing."""
