"""Tasks and their lifecycle on a virtual clock.

A task stores its *timeline* — when it leaves ``pending``, when it would succeed, and whether and
when it fails — never its status. Status, progress and result at an instant are a pure function of
the task and that instant, so tests control time completely and several workers agree without
coordination. Progress only moves forward and is 100 exactly at success.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from mockserver.ids import Draws


class Status(StrEnum):
    """The lifecycle states, in order."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        """Whether the task has ended."""
        return self in (Status.SUCCEEDED, Status.FAILED)


class TaskStateError(Exception):
    """An operation that the task's state does not allow (e.g. completing a finished task)."""


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

#: Realistic timelines per family where they differ from Nuro's: Sonic averages about 2 minutes with a
#: not-ready phase first (reference §2.2); Producer about 30 s (reference §3).
REALISTIC_BY_FAMILY: Mapping[str, Timing] = {
    "sonic": Timing(Span(10.0, 40.0), Span(60.0, 110.0)),
    "producer": Timing(Span(2.0, 5.0), Span(22.0, 32.0)),
}


def timing_for(profile: str, family: str) -> Timing:
    """The timeline a task of ``family`` follows under a clock ``profile``."""
    if profile in ("realistic", "manual"):
        return REALISTIC_BY_FAMILY.get(family, TIMINGS[profile])
    return TIMINGS[profile]


@dataclass(frozen=True, slots=True)
class Failure:
    """A planned failure: which catalog error, at which instant, with progress frozen where."""

    error_id: str
    at: float
    progress: int


@dataclass(frozen=True, slots=True)
class View:
    """What a task looks like at one instant."""

    status: Status
    progress: int
    error_id: str | None = None


@dataclass(frozen=True, slots=True)
class Task:
    """One generation task. Immutable: lifecycle changes produce a new Task."""

    id: str
    family: str
    api_key: str
    created_at: float
    started_at: float
    #: When the task succeeds unless it fails first.
    ends_at: float
    #: Family-specific result fields fixed at creation (lyrics, duration, predicted genre, ...).
    result: Mapping[str, Any]
    failure: Failure | None = None
    #: The operation that created it and what it cost, per pool: (credits, extra_credits).
    operation: str = ""
    charged: tuple[int, int] = (0, 0)

    def progress_at(self, instant: float) -> int:
        """Progress on the running curve at ``instant``, ignoring failure: 0..99, 100 at the end."""
        if instant < self.started_at:
            return 0
        if instant >= self.ends_at:
            return 100
        span = self.ends_at - self.started_at
        return min(99, math.floor(100 * (instant - self.started_at) / span))

    def instant_of_progress(self, progress: int) -> float:
        """The first instant at which the running curve reaches ``progress`` (0..99)."""
        span = self.ends_at - self.started_at
        return self.started_at + span * progress / 100

    def view(self, instant: float) -> View:
        """Status and progress at ``instant``: the pure function everything reads."""
        if self.failure is not None and instant >= self.failure.at:
            return View(Status.FAILED, self.failure.progress, self.failure.error_id)
        if instant < self.started_at:
            return View(Status.PENDING, 0)
        if instant >= self.ends_at:
            return View(Status.SUCCEEDED, 100)
        return View(Status.RUNNING, self.progress_at(instant))

    def completed(self, now: float) -> Task:
        """This task made to succeed at ``now`` (dropping any failure still in its future)."""
        current = self.view(now)
        if current.status.terminal:
            raise TaskStateError(f"task {self.id} already {current.status.value}")
        return replace(self, started_at=min(self.started_at, now), ends_at=now, failure=None)

    def failed(self, now: float, error_id: str, at_progress: int | None = None) -> Task:
        """This task made to fail with ``error_id`` — now, or when it reaches ``at_progress``.

        A progress already passed means now; progress is frozen where the failure happens, so it
        never moves backwards.
        """
        current = self.view(now)
        if current.status.terminal:
            raise TaskStateError(f"task {self.id} already {current.status.value}")
        if at_progress is not None and not 0 <= at_progress <= 99:
            raise ValueError("at_progress must be between 0 and 99")
        if at_progress is None or at_progress <= current.progress:
            return replace(self, failure=Failure(error_id, now, current.progress))
        at = max(now, self.instant_of_progress(at_progress))
        return replace(self, failure=Failure(error_id, at, at_progress))


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


@dataclass(frozen=True, slots=True)
class Clip:
    """A clip other calls can refer to: one of a task's outputs, or an uploaded file.

    A generated clip exists from its task's creation but is usable only once it has succeeded.
    """

    clip_id: str
    api_key: str
    created_at: float
    duration: float
    #: ``generated`` (a task output) or ``uploaded``.
    kind: str
    task_id: str | None = None
    index: int = 0
    #: For a clip made by extend: the clip it extends and where (seconds) the extension starts.
    extends: str | None = None
    continue_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Persona:
    """A voice persona made from a clip."""

    persona_id: str
    api_key: str
    name: str
    clip_id: str
    created_at: float
