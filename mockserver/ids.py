"""Seeded identifiers and per-entity randomness.

Everything random in the mock derives from the configured seed, so a run with the same seed and
the same requests gives the same ids, durations and tunes.
"""

from __future__ import annotations

import hashlib
import random
import threading
import uuid
from dataclasses import dataclass, field


@dataclass
class IdSource:
    """Generates UUID4-shaped ids from a seeded generator.

    ``namespace`` separates several processes that share one seed (e.g. server workers), so their
    ids never collide while each stays reproducible.
    """

    seed: int
    namespace: str = ""
    _rng: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}/{self.namespace}")

    def new_id(self) -> str:
        """A fresh UUID4 string."""
        with self._lock:
            bits = self._rng.getrandbits(128)
        return str(uuid.UUID(int=bits, version=4))

    def reset(self) -> None:
        """Restart the sequence, as after a fresh start with the same seed."""
        with self._lock:
            self._rng = random.Random(f"{self.seed}/{self.namespace}")


def rng_for(seed: int, *parts: str) -> random.Random:
    """A random generator that depends only on the seed and the given parts (e.g. a task id)."""
    return random.Random(f"{seed}/" + "/".join(parts))


def stable_index(text: str, n: int) -> int:
    """A stable (not process-salted) index in ``range(n)`` derived from ``text``."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n
