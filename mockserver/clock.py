"""Injected clocks: the only place the mock learns what time it is.

The domain never reads the wall clock. It asks a :class:`Clock`. Two kinds exist:

* ``running``: real time (from an injected time source) plus an offset, so ``advance()`` jumps ahead
  while time keeps flowing;
* ``manual``: time stands still until somebody calls ``advance()`` (or ``set()``).

Both start at the current real time, so instants given on the command line mean what they say.

The clock's state (offset, frozen instant) lives in a :class:`ClockStateStore` (the mock's store), so
that several worker processes over one durable store share one
virtual clock. :meth:`Clock.sync` re-reads it; the HTTP layer calls it once per request, so an
``advance`` answered by one worker is seen by the next request to any worker, while ``now()`` itself
stays a cheap read of a cached value.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from mockserver.errors import ClockError, ConfigError

#: Where real time comes from (``time.time`` in a server; tests inject their own).
TimeSource = Callable[[], float]


def parse_instant(text: str) -> float:
    """Parse an ISO-8601 instant (``2026-12-01T00:00:00Z``); a naive one is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ConfigError(f"not an ISO-8601 instant: {text!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = None
    # 1969/9999: any offset on an instant written in 1970-9998 (what the control spec's pattern allows)
    if utc is None or not 1969 <= utc.year <= 9999:
        raise ConfigError(f"instant out of range (years 1970-9998): {text!r}")
    return moment.timestamp()


def format_instant(instant: float) -> str:
    """An ISO-8601 UTC rendering with millisecond precision and a ``Z`` suffix."""
    moment = datetime.fromtimestamp(instant, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class ClockState:
    """What a virtual clock remembers: how far it was moved, and (manual mode) the real instant it froze at."""

    offset: float = 0.0
    frozen_at: float = 0.0


class ClockStateStore(Protocol):
    """Where a clock keeps its :class:`ClockState` (the mock's store implements this)."""

    def transaction(self) -> AbstractContextManager[None]:
        """A unit of work: reads inside see no concurrent writer."""

    def clock_state(self) -> ClockState | None:
        """The stored clock state, or None before the first one is put."""

    def put_clock_state(self, state: ClockState) -> None:
        """Replace the clock state."""


@dataclass
class Clock:
    """A virtual clock over an injected real-time source.

    ``now()`` returns seconds since the Unix epoch, as a float.
    """

    source: TimeSource
    store: ClockStateStore = field(repr=False)
    manual: bool = False
    _state: ClockState = field(default_factory=ClockState, init=False, repr=False)

    def __post_init__(self) -> None:
        with self.store.transaction():
            stored = self.store.clock_state()
            if stored is None:  # a fresh store: the clock starts now; an existing one keeps its time
                stored = ClockState(0.0, self.source())
                self.store.put_clock_state(stored)
        self._state = stored

    @property
    def mode(self) -> str:
        """``manual`` or ``running``."""
        return "manual" if self.manual else "running"

    def now(self) -> float:
        """The current virtual instant."""
        state = self._state
        if self.manual:
            return state.frozen_at + state.offset
        return self.source() + state.offset

    def sync(self) -> None:
        """Re-read the shared state (another process may have moved the clock)."""
        stored = self.store.clock_state()
        if stored is not None:
            self._state = stored

    def _move(self, delta_for: Callable[[float], float]) -> float:
        """Add ``delta_for(now)`` (>= 0) to the offset, atomically against other writers."""
        with self.store.transaction():
            self.sync()
            delta = delta_for(self.now())
            if delta < 0:
                raise ClockError("time cannot move backwards")
            self._state = ClockState(self._state.offset + delta, self._state.frozen_at)
            self.store.put_clock_state(self._state)
        return self.now()

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0); returns the new instant."""
        if seconds < 0:
            raise ClockError("time cannot move backwards")
        return self._move(lambda now: seconds)

    def set(self, instant: float) -> float:
        """Jump to ``instant``, which must not be in the virtual past."""
        return self._move(lambda now: instant - now)

    def reset(self) -> None:
        """Back to real time (running) or to the real time of this call (manual)."""
        with self.store.transaction():
            self._state = ClockState(0.0, self.source())
            self.store.put_clock_state(self._state)
