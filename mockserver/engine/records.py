"""What the store persists: the engine's records, in one leaf module.

Tasks, clips and personas; accounts and ledger entries; fault rules; webhook watches, deliveries and
attempts. The frozen ones change by :func:`dataclasses.replace`; the mutable ones (a fault rule's hit
count, a delivery's attempts) are written back to the store by whoever changed them.

A task stores its *timeline* — when it leaves ``pending``, when it would succeed, and whether and when
it fails — never its status. Status, progress and result at an instant are a pure function of the task
and that instant (:meth:`Task.view`), so tests control time completely and several workers agree without
coordination. Progress only moves forward and is 100 exactly at success.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

import orjson

from mockserver.errors import TaskStateError


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


Reason = Literal["grant", "adjust", "debit", "refund"]


@dataclass(frozen=True, slots=True)
class Account:
    """A key's balances and limits. ``None`` means unlimited / never."""

    api_key: str
    credits: int
    extra_credits: int = 0
    qps: float | None = None
    queue_capacity: int | None = None
    expires_at: float | None = None
    usage_limit: int | None = None
    #: Generations accepted so far (counts against ``usage_limit``).
    usage: int = 0
    #: Magic keys: every request fails authentication with "Invalid signature".
    invalid_signature: bool = False

    @property
    def total(self) -> int:
        """Credits available for spending."""
        return self.credits + self.extra_credits

    def with_balances(self, credits: int, extra_credits: int, usage: int) -> Account:
        """This account with other balances and usage (``dataclasses.replace`` costs a create ~2 µs more)."""
        return Account(
            self.api_key,
            credits,
            extra_credits,
            self.qps,
            self.queue_capacity,
            self.expires_at,
            self.usage_limit,
            usage,
            self.invalid_signature,
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger movement. ``credits``/``extra_credits`` are signed deltas."""

    seq: int
    api_key: str
    reason: Reason
    credits: int
    extra_credits: int
    instant: float
    task_id: str | None = None
    operation: str | None = None
    error_id: str | None = None

    @property
    def amount(self) -> int:
        """The total signed delta."""
        return self.credits + self.extra_credits

    def numbered(self, seq: int) -> Entry:
        """This entry with its place in the ledger."""
        return Entry(
            seq,
            self.api_key,
            self.reason,
            self.credits,
            self.extra_credits,
            self.instant,
            self.task_id,
            self.operation,
            self.error_id,
        )


@dataclass
class FaultRule:
    """Fail calls of ``operation`` with ``error_id``: the next ``times`` ones, or with ``probability``."""

    id: int
    operation: str
    error_id: str
    times: int | None = None
    probability: float | None = None
    api_key: str | None = None
    at_progress: int | None = None
    hits: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The rule as the control plane shows it."""
        remaining = None if self.times is None else max(0, self.times - self.hits)
        return {
            "id": self.id,
            "operation": self.operation,
            "error": self.error_id,
            "times": self.times,
            "probability": self.probability,
            "api_key": self.api_key,
            "at_progress": self.at_progress,
            "hits": self.hits,
            "remaining": remaining,
        }

    def applies(self, operation: str, api_key: str | None) -> bool:
        """Whether the rule is about this call and (for ``times`` rules) not used up."""
        if self.operation != operation or (self.api_key is not None and self.api_key != api_key):
            return False
        return self.times is None or self.hits < self.times


#: ``pending`` | ``sending`` (claimed by a worker) | ``delivered`` | ``failed`` | ``blocked``
DeliveryState = Literal["pending", "sending", "delivered", "failed", "blocked"]


@dataclass
class Attempt:
    """One try at delivering."""

    instant: float
    status: int | None
    error: str | None = None


@dataclass
class Delivery:
    """One event for one task, sent until a 2xx answer or the retries run out."""

    id: str
    task_id: str
    platform: str
    event: str
    url: str
    body: bytes
    due: float
    secret: str
    state: DeliveryState = "pending"
    next_at: float = 0.0
    attempts: list[Attempt] = field(default_factory=list)

    def as_dict(self, fmt: Callable[[float], str]) -> dict[str, Any]:
        """The delivery as the control plane shows it."""
        return {
            "id": self.id,
            "task_id": self.task_id,
            "platform": self.platform,
            "event": self.event,
            "url": self.url,
            "state": "pending" if self.state == "sending" else self.state,  # claimed: still pending
            "due": fmt(self.due),
            "payload": orjson.loads(self.body),
            "attempts": [{"instant": fmt(a.instant), "status": a.status, "error": a.error} for a in self.attempts],
        }


@dataclass
class Watch:
    """A task whose events go to a URL."""

    task_id: str
    url: str
    secret: str
    platform: str
    base_url: str
    sent: set[str] = field(default_factory=set)
