"""Injected clocks: the only place the mock learns what time it is.

The domain never reads the wall clock. It asks a :class:`Clock`. Two kinds exist:

* ``running``: real time (from an injected time source) plus an offset, so ``advance()`` jumps ahead
  while time keeps flowing;
* ``manual``: time stands still until somebody calls ``advance()`` (or ``set()``).

Both start at the current real time, so instants given on the command line mean what they say.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

TimeSource = Callable[[], float]


class ClockError(ValueError):
    """Raised for an impossible clock operation (moving time backwards)."""


@dataclass
class Clock:
    """A virtual clock over an injected real-time source.

    ``now()`` returns seconds since the Unix epoch, as a float.
    """

    source: TimeSource
    manual: bool = False
    _offset: float = 0.0
    _frozen_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._frozen_at = self.source()

    @property
    def mode(self) -> str:
        """``manual`` or ``running``."""
        return "manual" if self.manual else "running"

    def now(self) -> float:
        """The current virtual instant."""
        if self.manual:
            return self._frozen_at + self._offset
        return self.source() + self._offset

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0); returns the new instant."""
        if seconds < 0:
            raise ClockError("time cannot move backwards")
        with self._lock:
            self._offset += seconds
        return self.now()

    def set(self, instant: float) -> float:
        """Jump to ``instant``, which must not be in the virtual past."""
        with self._lock:
            delta = instant - self.now()
            if delta < 0:
                raise ClockError("time cannot move backwards")
            self._offset += delta
        return self.now()

    def reset(self) -> None:
        """Back to real time (running) or to the real time of this call (manual)."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = self.source()
