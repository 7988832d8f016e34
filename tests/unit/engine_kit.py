"""A pure engine for unit tests: a memory store, a manual clock at a fixed instant, no server, no socket."""

from __future__ import annotations

from dataclasses import dataclass, field

from mockserver.clock import Clock
from mockserver.config import Config
from mockserver.engine.context import Context
from mockserver.store.memory import MemoryStore

START = 1_800_000_000.0


@dataclass
class FakeTime:
    """A real-time source that moves only when told (the clock's ``manual`` mode ignores it anyway)."""

    now: float = START

    def __call__(self) -> float:
        return self.now


@dataclass
class Kit:
    """A context over a fresh memory store, with a manual clock."""

    config: Config = field(default_factory=lambda: Config(clock="manual"))
    time: FakeTime = field(default_factory=FakeTime)
    ctx: Context = field(init=False)

    def __post_init__(self) -> None:
        store = MemoryStore(self.config.journal_size)
        self.ctx = Context.over(store, Clock(self.time, store, manual=self.config.manual_clock), self.config)

    @property
    def store(self) -> MemoryStore:
        """The memory store (typed as such, for white-box checks)."""
        store = self.ctx.store
        assert isinstance(store, MemoryStore)
        return store

    def advance(self, seconds: float) -> None:
        """Move the virtual clock."""
        self.ctx.clock.advance(seconds)
