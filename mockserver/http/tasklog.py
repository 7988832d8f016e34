"""The task log: one line when a task is created, starts running, succeeds, fails or is refunded.

States are derived from each task's timeline and the virtual clock, so nothing happens at the moment a
task "starts running": this process keeps the transitions still ahead of the tasks it stored in a heap,
and a loop writes each line when the clock reaches it (at once after ``POST /_mock/clock/advance``, which
kicks it; on the running clock when due). Each line carries the virtual instant of the transition, so
lines written late (a manual clock moved far ahead) still say when it happened. With ``--workers``, each
worker logs the tasks it created; another worker's clock moves are seen within :data:`RESCAN` seconds.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import sys
from collections.abc import Callable
from typing import Any, TextIO

import orjson

from mockserver.clock import Clock, format_instant
from mockserver.engine.records import Task

#: Real seconds between looks at a clock that another worker may move.
RESCAN = 1.0

Line = Callable[[dict[str, Any]], None]


def line_writer(fmt: str, stream: TextIO | None = None) -> Line | None:
    """A writer of task events in ``fmt`` (``text`` or ``json``; ``off`` gives None)."""
    out = stream or sys.stdout
    if fmt == "off":
        return None
    if fmt == "json":

        def write_json(event: dict[str, Any]) -> None:
            out.write(orjson.dumps({"log": "task", **event, "instant": format_instant(event["instant"])}).decode())
            out.write("\n")
            out.flush()

        return write_json

    def write_text(event: dict[str, Any]) -> None:
        extra = "".join(f" {name}={event[name]}" for name in ("error", "credits", "extra_credits") if name in event)
        out.write(
            f"{format_instant(event['instant'])} task {event['task_id']} {event['state']} "
            f"{event['operation'] or '-'} key={event['api_key']}{extra}\n"
        )
        out.flush()

    return write_text


class TaskLogger:
    """Writes the task log (a :class:`~mockserver.engine.events.TaskEvents` observer)."""

    def __init__(self, clock: Clock, write: Line, *, shared: bool = False) -> None:
        self.clock = clock
        self.write = write
        self.shared = shared
        #: (instant, order, task id, state, version): transitions still ahead.
        self._ahead: list[tuple[float, int, str, str, int]] = []
        #: Each task's latest version, record and the states already written, while it has transitions ahead.
        self._tasks: dict[str, tuple[int, Task, set[str]]] = {}
        self._order = 0
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None

    def stored(self, task: Task) -> None:
        """Log a new task's creation; (re)plan its transitions (a changed timeline replaces the old plan)."""
        known = self._tasks.get(task.id)
        version = 0 if known is None else known[0] + 1
        written = {"created"} if known is None else known[2]  # a replanned task does not run twice
        if known is None:
            self._event(task, "created", task.created_at)
        self._tasks[task.id] = (version, task, written)
        if task.failure is None or task.failure.at > task.started_at:
            self._plan(task, "running", task.started_at, version)
        if task.failure is None:
            self._plan(task, "succeeded", task.ends_at, version)
        else:
            self._plan(task, "failed", min(task.ends_at, task.failure.at), version)
        self.kick()

    def refunded(self, task: Task, instant: float, credits: tuple[int, int]) -> None:
        """Log a refund."""
        self._event(task, "refunded", instant, credits=credits[0], extra_credits=credits[1])

    def moved(self) -> None:
        """The clock moved: write what became due."""
        self.kick()

    def cleared(self) -> None:
        """A reset: nothing planned is to be written."""
        self._ahead.clear()
        self._tasks.clear()

    def kick(self) -> None:
        """Look now (a new task, a moved clock)."""
        self._ensure_running()
        if self._wake is not None:
            self._wake.set()

    def _plan(self, task: Task, state: str, instant: float, version: int) -> None:
        self._order += 1
        heapq.heappush(self._ahead, (instant, self._order, task.id, state, version))

    def _event(self, task: Task, state: str, instant: float, **extra: Any) -> None:
        self.write(
            {
                "instant": instant,
                "task_id": task.id,
                "state": state,
                "operation": task.operation,
                "api_key": task.api_key,
                **extra,
            }
        )

    def flush(self, now: float) -> None:
        """Write every transition due by ``now``, in order."""
        ahead = self._ahead
        while ahead and ahead[0][0] <= now:
            instant, _, task_id, state, version = heapq.heappop(ahead)
            known = self._tasks.get(task_id)
            if known is None or known[0] != version or state in known[2]:
                continue  # planned for a timeline since replaced, or already written
            task = known[1]
            known[2].add(state)
            extra = {"error": task.failure.error_id} if state == "failed" and task.failure is not None else {}
            self._event(task, state, instant, **extra)
            if state in ("succeeded", "failed"):
                del self._tasks[task_id]

    def _ensure_running(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._runner is None or self._runner.done():
            self._wake = asyncio.Event()
            self._runner = loop.create_task(self._run(), context=contextvars.Context())

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            if self.shared:
                self.clock.sync()
            now = self.clock.now()
            self.flush(now)
            wait: float | None = None
            if self._ahead and not self.clock.manual:
                wait = max(0.01, self._ahead[0][0] - now)
            if self.shared:
                wait = RESCAN if wait is None else min(wait, RESCAN)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), wait)
            except TimeoutError:
                pass
