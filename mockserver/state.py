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
    """The clock, ids, spec, store and rules of one mock instance.

    Everything that changes lives in ``store``: the clock, ids, limiter, fault book and webhook
    dispatcher keep their state there, so a durable store shared by several worker processes keeps
    them all in agreement.
    """

    config: Config
    spec: ApiSpec
    clock: Clock
    ids: IdSource
    store: Store
    nuro: NuroRules
    sonic: SonicRules
    producer: ProducerRules
    webhooks: Dispatcher = field(init=False)
    limiter: QpsLimiter = field(init=False)
    faults: FaultBook = field(init=False)

    def __post_init__(self) -> None:
        self.webhooks = Dispatcher(self, {"sonic": self._sonic_body, "producer": self._producer_body})
        self.limiter = QpsLimiter(self.store)
        self.faults = FaultBook(self.config.seed, self.store)

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
        """A state for ``config``; ``time_source`` is the only real-time input.

        With ``config.state`` the store is that SQLite file: a new file starts fresh (scenario files
        applied), an existing one carries on where it was left (clock, ids and all).
        """
        loaded = spec or ApiSpec.load()
        store = open_store(config)
        try:
            state = cls(
                config=config,
                spec=loaded,
                clock=Clock(time_source, manual=config.manual_clock, store=store),
                ids=IdSource(config.seed, store=store),
                store=store,
                nuro=NuroRules(loaded),
                sonic=SonicRules(loaded),
                producer=ProducerRules(loaded),
            )
            with store.transaction():  # several workers start at once: one of them initializes
                if not store.initialized():
                    state.apply_scenarios()
                    store.mark_initialized()
            if config.workers <= 1:  # the only process over this state: nothing is in flight elsewhere
                store.recover()
        except BaseException:
            store.close()
            raise
        return state

    def timing(self, family: str) -> Timing:
        """The timeline of a ``family`` task under the configured clock mode."""
        return timing_for(self.config.clock, family)

    def reset(self) -> None:
        """Back to a fresh start: no tasks, the clock at real time, the id sequence restarted.

        One transaction: every worker over a durable store sees the old state or the new one.
        """
        with self.store.transaction():
            self.store.clear()
            self.clock.reset()
            self.apply_scenarios()
            self.store.mark_initialized()

    def apply_scenarios(self) -> None:
        """Apply the configured scenario files (keys and fault rules)."""
        from mockserver.scenario_files import apply_file

        for path in self.config.scenarios:
            apply_file(self, path)

    def close(self) -> None:
        """Release the store (a durable one's connection)."""
        self.store.close()


def open_store(config: Config) -> Store:
    """The store ``config`` asks for: SQLite at ``config.state``, else memory."""
    if config.state:
        from mockserver.store.sqlite import SqliteStore

        return SqliteStore(config.state, journal_size=config.journal_size, shared=config.workers > 1)
    return MemoryStore(config.journal_size)
