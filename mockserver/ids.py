"""Seeded identifiers and per-entity randomness.

Everything random in the mock derives from the configured seed, so a run with the same seed and
the same requests gives the same ids, durations and tunes.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Protocol

#: The sequence :class:`IdSource` numbers its ids with.
ID_SEQUENCE = "id"


class SequenceStore(Protocol):
    """Where numbered sequences live (the mock's store implements this)."""

    def next_sequence(self, name: str) -> int:
        """The next number of sequence ``name``: 1, 2, 3, … (restarted when the store is cleared)."""


def seeded_uuid(seed: int, namespace: str, number: int) -> str:
    """The UUID4-shaped id number ``number`` of a seed and namespace (a hash: stable, never reused)."""
    digest = hashlib.blake2b(f"{seed}/{namespace}/{number}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


@dataclass
class IdSource:
    """Generates UUID4-shaped ids: number *n* of a sequence kept in a store, hashed with the seed.

    The sequence lives in the store, so several worker processes sharing a durable store never hand
    out the same id, a restart continues where the last run stopped, and a reset (which clears the
    store) restarts it. ``namespace`` separates id spaces that share one seed and one sequence.
    """

    seed: int
    store: SequenceStore = field(repr=False)
    namespace: str = ""

    def new_id(self) -> str:
        """A fresh UUID4 string."""
        return seeded_uuid(self.seed, self.namespace, self.store.next_sequence(ID_SEQUENCE))


class Draws:
    """Deterministic draws from a key: the n-th value is a hash of (key, n).

    Cheaper than seeding a Mersenne Twister per task (one blake2b per draw instead of a 624-word
    state), and just as reproducible: the same key always gives the same sequence.
    """

    __slots__ = ("_key", "_count")

    def __init__(self, key: str) -> None:
        self._key = key.encode("utf-8")
        self._count = 0

    def random(self) -> float:
        """The next value in [0, 1)."""
        digest = hashlib.blake2b(self._key + self._count.to_bytes(4, "big"), digest_size=8).digest()
        self._count += 1
        return (int.from_bytes(digest, "big") >> 11) * (1.0 / (1 << 53))

    def uniform(self, low: float, high: float) -> float:
        """The next value in [low, high]."""
        return low + (high - low) * self.random()

    def randrange(self, start: int, stop: int) -> int:
        """The next whole number in [start, stop)."""
        return start + int(self.random() * (stop - start))


def rng_for(seed: int, *parts: str) -> Draws:
    """Draws that depend only on the seed and the given parts (e.g. a task id)."""
    return Draws(f"{seed}/" + "/".join(parts))


def stable_index(text: str, n: int) -> int:
    """A stable (not process-salted) index in ``range(n)`` derived from ``text``."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n
