"""A per-key requests-per-second limiter on the virtual clock.

On a manual clock time stands still, so a key with ``qps = N`` gets exactly N requests until the
clock is advanced: deterministic tests of "API QPS limit exceeded".

The windows live in a :class:`WindowStore` (the mock's store), read and written in one transaction,
so the limit holds across worker processes sharing a durable store.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol

WINDOW = 1.0


class WindowStore(Protocol):
    """Where the limiter keeps each key's accepted request instants (the mock's store implements this)."""

    def transaction(self) -> AbstractContextManager[None]:
        """A unit of work: reads inside see no concurrent writer."""

    def qps_window(self, api_key: str) -> list[float]:
        """The instants of a key's recently accepted requests, oldest first."""

    def put_qps_window(self, api_key: str, window: list[float]) -> None:
        """Replace a key's window."""


class LocalWindows:
    """Private, in-memory windows (a limiter used on its own)."""

    def __init__(self) -> None:
        self._windows: dict[str, list[float]] = {}

    def transaction(self) -> AbstractContextManager[None]:
        """No-op: calls come from one event loop."""
        return nullcontext()

    def qps_window(self, api_key: str) -> list[float]:
        """A key's window."""
        return self._windows.get(api_key, [])

    def put_qps_window(self, api_key: str, window: list[float]) -> None:
        """Replace a key's window."""
        self._windows[api_key] = window

    def clear(self) -> None:
        """Forget every window."""
        self._windows.clear()


@dataclass
class QpsLimiter:
    """Sliding one-second windows of accepted request instants, per key."""

    store: WindowStore = field(default_factory=LocalWindows)

    def admit(self, api_key: str, qps: float | None, now: float) -> bool:
        """Record a request at ``now`` unless it would exceed ``qps``; whether it was admitted."""
        if qps is None:
            return True
        if qps <= 0:
            return False
        # Below 1 req/s (e.g. the documented "1 request per 3 seconds"): one request per 1/qps seconds.
        capacity, span = (1, 1 / qps) if qps < 1 else (math.floor(qps), WINDOW)
        with self.store.transaction():
            window = [instant for instant in self.store.qps_window(api_key) if now - instant < span]
            if len(window) >= capacity:
                return False
            window.append(now)
            self.store.put_qps_window(api_key, window)
        return True

    def clear(self) -> None:
        """Forget all windows of a private store (a mock's store forgets them when cleared)."""
        if isinstance(self.store, LocalWindows):
            self.store.clear()
