"""Following a task to its end on either clock — one lifecycle suite, two clocks.

* :class:`VirtualClock`: a mock with a control plane; a wait moves its virtual clock (``POST
  /_mock/clock/advance``). That is the only control-plane call, and it only saves time.
* :class:`RealClock`: the live API (or any server without a control plane); a wait is a real sleep.

Either way the follower polls at the interval the spec documents for the poll operation (``x-poll`` in
openapi/: Sonic every 15–25 s, Producer every 5–10 s; ``--poll-interval`` overrides it), gives up at the
operation's deadline (``x-poll.deadline``, ``--task-deadline``), backs off on 429 (``Retry-After``, else
doubling), checks every read against the spec and the task's history (:mod:`contracts.histories`), and
says what it is waiting for on each poll of a real-time run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from contracts import mockplane
from contracts.histories import HISTORIES, TaskHistory
from contracts.session import ContractSession, Target, response_problems

#: The most a 429 backoff waits before polling again, in seconds.
MAX_BACKOFF = 120.0


class Clock(Protocol):
    """The time a lifecycle test waits on."""

    real: bool

    def now(self) -> float:
        """Seconds on this clock (only differences mean anything)."""
        ...

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        ...


class RealClock:
    """Wall-clock time: a wait sleeps."""

    real = True

    def now(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def wait(self, seconds: float) -> None:
        """Sleep."""
        time.sleep(seconds)


class VirtualClock:
    """A mock's virtual clock: a wait advances it through the control plane (to save time, nothing else)."""

    real = False

    def __init__(self, contract: ContractSession, target: Target) -> None:
        self.contract, self.target, self.elapsed = contract, target, 0.0

    def now(self) -> float:
        """Virtual seconds waited so far."""
        return self.elapsed

    def wait(self, seconds: float) -> None:
        """Advance the mock's clock."""
        mockplane.advance(self.contract, self.target, seconds)
        self.elapsed += seconds


def clock_for(contract: ContractSession, target: Target) -> Clock:
    """The virtual clock where the target has a control plane, else real time."""
    return VirtualClock(contract, target) if target.control else RealClock()


@dataclass(frozen=True)
class PollPlan:
    """How to follow one task: seconds between polls and the deadline from the create."""

    interval: float
    deadline: float
    #: How long the documents say a task typically takes (for messages).
    typical: float | None = None


def poll_plan(contract: ContractSession, poll_operation: str) -> PollPlan:
    """The plan of a poll operation: its ``x-poll`` in the spec, with the run's overrides."""
    raw: Mapping[str, Any] = contract.spec.operations[poll_operation].raw.get("x-poll") or {}
    interval = raw.get("interval", [10])
    low = float(interval[0] if isinstance(interval, list) else interval)
    options = contract.options
    return PollPlan(
        interval=options.poll_interval if options.poll_interval is not None else low,
        deadline=options.task_deadline if options.task_deadline is not None else float(raw.get("deadline", 600)),
        typical=float(raw["typical"]) if "typical" in raw else None,
    )


@dataclass
class Followed:
    """A task followed to its end: every read, its history, how long it took."""

    task_id: str
    bodies: list[dict[str, Any]]
    history: TaskHistory
    elapsed: float
    throttled: int


class TaskTimedOut(AssertionError):
    """The task did not finish before the deadline."""


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds, when it is a number."""
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def follow(
    contract: ContractSession,
    http: httpx.Client,
    poll_operation: str,
    task_id: str,
    clock: Clock,
    say: Callable[[str], None],
) -> Followed:
    """Poll ``task_id`` until it finishes or the deadline passes; every read checked (AssertionError)."""
    op = contract.spec.operations[poll_operation]
    path = op.path.replace("{task_id}", task_id)
    plan = poll_plan(contract, poll_operation)
    history = HISTORIES[poll_operation]()
    bodies: list[dict[str, Any]] = []
    start, backoff, throttled = clock.now(), plan.interval, 0
    while True:
        response = http.get(path)
        elapsed = clock.now() - start
        if response.status_code == 429:
            throttled += 1
            backoff = min(max(backoff * 2, 1.0), MAX_BACKOFF)
            pause = retry_after(response) or backoff
            say(
                f"{poll_operation} {task_id}: 429, backing off {pause:.0f} s ({elapsed:.0f} s of {plan.deadline:.0f} s)"
            )
        else:
            problems = response_problems(
                contract.spec,
                poll_operation,
                response.status_code,
                response.headers.get("content-type"),
                response.content,
            )
            assert not problems, f"read {len(bodies) + 1} of {task_id} after {elapsed:.0f} s: " + "; ".join(problems)
            assert 200 <= response.status_code < 300, f"{path}: {response.status_code} {response.text[:300]}"
            body = response.json()
            bodies.append(body)
            problems = history.observe(body)
            assert not problems, f"read {len(bodies)} of {task_id} after {elapsed:.0f} s: " + "; ".join(problems)
            if clock.real:
                typical = f", typically {plan.typical:.0f} s" if plan.typical else ""
                say(
                    f"{poll_operation} {task_id}: {history.describe()} after {elapsed:.0f} s "
                    f"(deadline {plan.deadline:.0f} s{typical})"
                )
            if history.finished():
                return Followed(task_id, bodies, history, elapsed, throttled)
            pause, backoff = plan.interval, plan.interval
        if elapsed + pause > plan.deadline:
            raise TaskTimedOut(
                f"{task_id} did not finish within {plan.deadline:.0f} s ({len(bodies)} reads, last: "
                f"{history.describe()}); --task-deadline sets the limit"
            )
        clock.wait(pause)


def audio_problems(url: str, timeout: float = 30) -> list[str]:
    """Whether a finished result's audio URL answers: ``HEAD``, else a ranged ``GET`` of its first bytes.

    Sent without the API key (it is a CDN link, not the API).
    """
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True) as http:
            response = http.head(url)
            if response.status_code in (403, 405, 501):  # some CDNs refuse HEAD
                response = http.get(url, headers={"Range": "bytes=0-1023"})
    except httpx.HTTPError as exc:
        return [f"audio {url} does not answer: {exc}"]
    if response.status_code not in (200, 206):
        return [f"audio {url} answered {response.status_code}"]
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not (media.startswith("audio/") or media == "application/octet-stream"):
        return [f"audio {url} is served as {media!r}, not audio"]
    return []
