"""A per-key requests-per-second limiter on the virtual clock.

On a manual clock time stands still, so a key with ``qps = N`` gets exactly N requests until the
clock is advanced: deterministic tests of "API QPS limit exceeded".

The windows live in a :class:`~mockserver.engine.ports.WindowStore` (the mock's store), read and
written in one transaction, so the limit holds across worker processes sharing a durable store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mockserver.engine.ports import WindowStore

WINDOW = 1.0


@dataclass
class QpsLimiter:
    """Sliding one-second windows of accepted request instants, per key."""

    store: WindowStore

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
