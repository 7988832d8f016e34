"""Everything one mock instance knows, wired together. No globals: each app owns one MockState."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockserver.clock import Clock, TimeSource
from mockserver.config import Config, format_instant
from mockserver.ids import IdSource
from mockserver.limits import QpsLimiter
from mockserver.nuro import NuroRules
from mockserver.producer import ProducerRules
from mockserver.scenarios import FaultBook
from mockserver.sonic import SonicRules
from mockserver.spec import ApiSpec
from mockserver.store import MemoryStore, Store
from mockserver.tasks import Task, Timing, timing_for
from mockserver.webhooks import Dispatcher


@dataclass
class MockState:
    """The clock, ids, spec, store and rules of one mock instance."""

    config: Config
    spec: ApiSpec
    clock: Clock
    ids: IdSource
    store: Store
    nuro: NuroRules
    sonic: SonicRules
    producer: ProducerRules
    webhooks: Dispatcher = field(init=False)
    limiter: QpsLimiter = field(default_factory=QpsLimiter)
    faults: FaultBook = field(default_factory=lambda: FaultBook(0))

    def __post_init__(self) -> None:
        self.webhooks = Dispatcher(self, {"sonic": self._sonic_body, "producer": self._producer_body})

    def _sonic_body(self, task: Task, now: float, base_url: str) -> dict[str, Any]:
        from mockserver import service, sonic

        refund = service.settle_task(self, task, now)
        body = sonic.task_body(task, now, base_url, refund, format_instant(task.created_at))
        return body if body is not None else {"type": "not_ready", "error": sonic.NOT_READY_TEXT}

    def _producer_body(self, task: Task, now: float, base_url: str) -> dict[str, Any]:
        from mockserver import producer, service

        refund = service.settle_task(self, task, now)
        return producer.task_body(task, now, base_url, refund, format_instant(task.created_at))

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
            sonic=SonicRules(loaded),
            producer=ProducerRules(loaded),
            faults=FaultBook(config.seed),
        )
        state.apply_scenarios()
        return state

    def timing(self, family: str) -> Timing:
        """The timeline of a ``family`` task under the configured clock mode."""
        return timing_for(self.config.clock, family)

    def reset(self) -> None:
        """Back to a fresh start: no tasks, the clock at real time, the id sequence restarted."""
        self.store.clear()
        self.clock.reset()
        self.ids.reset()
        self.limiter.clear()
        self.faults.clear()
        self.webhooks.clear()
        self.apply_scenarios()

    def apply_scenarios(self) -> None:
        """Apply the configured scenario files (keys and fault rules)."""
        from mockserver.scenario_files import apply_file

        for path in self.config.scenarios:
            apply_file(self, path)
