"""Everything one mock instance knows, wired together. No globals: each app owns one MockState."""

from __future__ import annotations

from dataclasses import dataclass, field

from mockserver.clock import Clock, TimeSource
from mockserver.config import Config
from mockserver.ids import IdSource
from mockserver.limits import QpsLimiter
from mockserver.nuro import NuroRules
from mockserver.scenarios import FaultBook
from mockserver.spec import ApiSpec
from mockserver.store import MemoryStore, Store
from mockserver.tasks import TIMINGS, Timing


@dataclass
class MockState:
    """The clock, ids, spec, store and rules of one mock instance."""

    config: Config
    spec: ApiSpec
    clock: Clock
    ids: IdSource
    store: Store
    nuro: NuroRules
    limiter: QpsLimiter = field(default_factory=QpsLimiter)
    faults: FaultBook = field(default_factory=lambda: FaultBook(0))

    @classmethod
    def build(cls, config: Config, time_source: TimeSource, spec: ApiSpec | None = None) -> MockState:
        """A fresh state for ``config``; ``time_source`` is the only real-time input."""
        loaded = spec or ApiSpec.load()
        state = cls(
            config=config,
            spec=loaded,
            clock=Clock(time_source, manual=config.manual_clock),
            ids=IdSource(config.seed),
            store=MemoryStore(config.journal_size),
            nuro=NuroRules(loaded),
            faults=FaultBook(config.seed),
        )
        state.apply_scenarios()
        return state

    @property
    def timing(self) -> Timing:
        """The timing profile of the configured clock mode."""
        return TIMINGS[self.config.clock]

    def reset(self) -> None:
        """Back to a fresh start: no tasks, the clock at real time, the id sequence restarted."""
        self.store.clear()
        self.clock.reset()
        self.ids.reset()
        self.limiter.clear()
        self.faults.clear()
        self.apply_scenarios()

    def apply_scenarios(self) -> None:
        """Apply the configured scenario files (keys and fault rules)."""
        from mockserver.scenario_files import apply_file

        for path in self.config.scenarios:
            apply_file(self, path)
