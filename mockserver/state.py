"""Everything one mock instance knows, wired together. No globals: each app owns one MockState."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.clock import Clock, TimeSource
from mockserver.config import Config
from mockserver.ids import IdSource, rng_for
from mockserver.nuro import NuroRules
from mockserver.spec import ApiSpec
from mockserver.store import MemoryStore, Store
from mockserver.tasks import TIMINGS, Task, Timing, plan

ResultFactory = Callable[[str], Mapping[str, Any]]


@dataclass
class MockState:
    """The clock, ids, spec, store and rules of one mock instance."""

    config: Config
    spec: ApiSpec
    clock: Clock
    ids: IdSource
    store: Store = field(default_factory=MemoryStore)

    @classmethod
    def build(cls, config: Config, time_source: TimeSource, spec: ApiSpec | None = None) -> MockState:
        """A fresh state for ``config``; ``time_source`` is the only real-time input."""
        return cls(
            config=config,
            spec=spec or ApiSpec.load(),
            clock=Clock(time_source, manual=config.manual_clock),
            ids=IdSource(config.seed),
        )

    @property
    def timing(self) -> Timing:
        """The timing profile of the configured clock mode."""
        return TIMINGS[self.config.clock]

    @property
    def nuro(self) -> NuroRules:
        """The Nuro rules bound to the spec."""
        return NuroRules(self.spec)

    def new_task(self, family: str, api_key: str, result_for: ResultFactory) -> Task:
        """Plan and store a task; ``result_for(task_id)`` gives its result fields."""
        task_id = self.ids.new_id()
        task = plan(
            task_id=task_id,
            family=family,
            api_key=api_key,
            now=self.clock.now(),
            timing=self.timing,
            rng=rng_for(self.config.seed, "timeline", task_id),
            result=result_for(task_id),
        )
        self.store.put_task(task)
        return task

    def reset(self) -> None:
        """Back to a fresh start: no tasks, the clock at real time, the id sequence restarted."""
        self.store.clear()
        self.clock.reset()
        self.ids.reset()
