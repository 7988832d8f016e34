"""Task timelines: how long a task waits and runs under each clock mode, and planning a new one.

The records themselves (:class:`~mockserver.engine.records.Task` and its pure :meth:`view`) live in
:mod:`mockserver.engine.records`; a family says how long its tasks take with :meth:`Family.timing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mockserver.engine.records import Failure, Task
from mockserver.ids import Draws


@dataclass(frozen=True, slots=True)
class Span:
    """A range of seconds; :meth:`draw` picks a value in it from a seeded generator."""

    low: float
    high: float

    def draw(self, rng: Draws) -> float:
        """A value in ``[low, high]``."""
        return self.low if self.high <= self.low else rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class Timing:
    """How long a task waits in the queue and how long it then runs."""

    queued: Span
    running: Span


#: Timing profiles per clock mode. ``realistic`` follows the documents (Nuro: a song in 30–60 s).
#: ``manual`` uses the realistic timeline; time moves only when told, so it costs nothing.
TIMINGS: Mapping[str, Timing] = {
    "instant": Timing(Span(0, 0), Span(0, 0)),
    "fast": Timing(Span(0.5, 1.0), Span(2.0, 3.0)),
    "realistic": Timing(Span(2.0, 8.0), Span(28.0, 52.0)),
    "manual": Timing(Span(2.0, 8.0), Span(28.0, 52.0)),
}


def timing_for(profile: str, realistic: Timing | None = None) -> Timing:
    """The timeline under a clock ``profile``; ``realistic`` replaces the realistic one (a family's own)."""
    if realistic is not None and profile in ("realistic", "manual"):
        return realistic
    return TIMINGS[profile]


def plan(
    *,
    task_id: str,
    family: str,
    api_key: str,
    now: float,
    timing: Timing,
    rng: Draws,
    result: Mapping[str, Any],
    failure: tuple[str, int] | None = None,
    operation: str = "",
    charged: tuple[int, int] = (0, 0),
) -> Task:
    """Create a task whose timeline is drawn from ``timing`` with ``rng``.

    ``failure`` (error id, progress) plans a failure at creation, e.g. from a magic value.
    """
    started = now + timing.queued.draw(rng)
    ends = started + timing.running.draw(rng)
    task = Task(task_id, family, api_key, now, started, ends, result, None, operation, charged)
    if failure is not None:
        error_id, progress = failure
        task = replace(task, failure=Failure(error_id, task.instant_of_progress(progress), progress))
    return task
