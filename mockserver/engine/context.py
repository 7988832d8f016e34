"""The context every engine function receives: what it may touch, and nothing of the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from mockserver.clock import Clock
from mockserver.config import Config
from mockserver.engine.events import NoTaskEvents, TaskEvents
from mockserver.engine.faults import FaultBook
from mockserver.engine.limits import QpsLimiter
from mockserver.engine.ports import Store
from mockserver.ids import IdSource


@dataclass(frozen=True, slots=True)
class Context:
    """The store, clock, ids, limiter, fault rules and configuration of one mock instance.

    Everything that changes lives in ``store``: the clock, ids, limiter and fault rules keep their
    state there, so a durable store shared by several worker processes keeps them all in agreement.
    """

    store: Store
    clock: Clock
    ids: IdSource
    limiter: QpsLimiter
    faults: FaultBook
    config: Config
    #: Told of each stored task and refund (the task log); nobody by default.
    events: TaskEvents = field(default_factory=NoTaskEvents)

    @classmethod
    def over(cls, store: Store, clock: Clock, config: Config, events: TaskEvents | None = None) -> Context:
        """The context of ``store``: ids, limiter and fault rules all keep their state in it."""
        return cls(
            store=store,
            clock=clock,
            ids=IdSource(config.seed, store=store),
            limiter=QpsLimiter(store),
            faults=FaultBook(config.seed, store),
            config=config,
            events=events or NoTaskEvents(),
        )
