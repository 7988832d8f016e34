"""A per-key requests-per-second limiter on the virtual clock.

On a manual clock time stands still, so a key with ``qps = N`` gets exactly N requests until the
clock is advanced: deterministic tests of "API QPS limit exceeded".
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

WINDOW = 1.0


@dataclass
class QpsLimiter:
    """Sliding one-second windows of accepted request instants, per key."""

    _windows: dict[str, deque[float]] = field(default_factory=dict)

    def admit(self, api_key: str, qps: float | None, now: float) -> bool:
        """Record a request at ``now`` unless it would exceed ``qps``; whether it was admitted."""
        if qps is None:
            return True
        if qps <= 0:
            return False
        # Below 1 req/s (e.g. the documented "1 request per 3 seconds"): one request per 1/qps seconds.
        capacity, span = (1, 1 / qps) if qps < 1 else (math.floor(qps), WINDOW)
        window = self._windows.setdefault(api_key, deque())
        while window and now - window[0] >= span:
            window.popleft()
        if len(window) >= capacity:
            return False
        window.append(now)
        return True

    def clear(self) -> None:
        """Forget all windows."""
        self._windows.clear()
