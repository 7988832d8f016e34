"""The composition root: one mock instance, wired together. No globals: each app owns one :class:`Mock`.

This is the only module (with ``app.py`` above it) that knows every part: it opens the store, builds the
:class:`~mockserver.engine.context.Context` the engine receives, the families from the spec, and the
webhook dispatcher. It holds no domain behaviour of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from mockserver.clock import Clock, TimeSource
from mockserver.config import Config
from mockserver.engine.context import Context
from mockserver.engine.family import Family
from mockserver.engine.outbound import AudioProbe, Outbound
from mockserver.engine.ports import Store
from mockserver.engine.webhooks import Dispatcher, Sender
from mockserver.families.entry import FamilyEntry
from mockserver.families.registry import registry
from mockserver.http.tasklog import TaskLogger, line_writer
from mockserver.http.url_probe import HttpxProbe
from mockserver.http.webhook_sender import HttpxSender
from mockserver.scenario_files import apply_file
from mockserver.spec import ApiSpec
from mockserver.store import open_store


@dataclass
class Mock:
    """The configuration, spec, context, families and webhook dispatcher of one mock instance."""

    config: Config
    spec: ApiSpec
    ctx: Context
    families: list[FamilyEntry]
    outbound: Outbound

    @property
    def webhooks(self) -> Dispatcher:
        """The webhook dispatcher."""
        return self.outbound.webhooks

    @property
    def store(self) -> Store:
        """Where everything that changes lives."""
        return self.ctx.store

    @property
    def clock(self) -> Clock:
        """The virtual clock."""
        return self.ctx.clock

    @classmethod
    def build(
        cls,
        config: Config,
        time_source: TimeSource,
        spec: ApiSpec | None = None,
        sender: Sender | None = None,
        probe: AudioProbe | None = None,
    ) -> Mock:
        """A mock for ``config``; ``time_source`` is the only real-time input, ``sender`` the webhooks' way out.

        With ``config.state`` the store is that SQLite file: a new file starts fresh (scenario files
        applied), an existing one carries on where it was left (clock, ids and all).
        """
        loaded = spec or ApiSpec.load()
        store = open_store(config)
        try:
            clock = Clock(time_source, store, manual=config.manual_clock)
            write = line_writer(config.task_log if config.task_log is not None else config.request_log)
            events = TaskLogger(clock, write, shared=config.fleet) if write is not None else None
            ctx = Context.over(store, clock, config, events)
            families = registry(loaded)
            tasks: dict[str, Family] = {entry.name: entry.tasks for entry in families if entry.tasks is not None}
            for entry in families:
                why = entry.unreachable(config) if entry.unreachable is not None else None
                if why is not None:
                    ops = [op.operation_id for op in loaded.operations.values() if op.family == entry.name]
                    ctx.faults.unreachable.update(dict.fromkeys(ops, why))
            outbound = Outbound(Dispatcher(ctx, tasks, sender or HttpxSender()), probe or HttpxProbe())
            mock = cls(config, loaded, ctx, families, outbound)
            with store.transaction():  # several workers start at once: one of them initializes
                if not store.initialized():
                    mock.apply_scenarios()
                    store.mark_initialized()
            if not config.fleet:  # the only process over this state: nothing is in flight elsewhere
                store.recover()
        except BaseException:
            store.close()
            raise
        return mock

    def reset(self) -> None:
        """Back to a fresh start: no tasks, the clock at real time, the id sequence restarted.

        One transaction: every worker over a durable store sees the old state or the new one.
        """
        with self.store.transaction():
            self.store.clear()
            self.ctx.events.cleared()
            self.clock.reset()
            self.apply_scenarios()
            self.store.mark_initialized()

    def apply_scenarios(self) -> None:
        """Apply the configured scenario files (keys and fault rules)."""
        for path in self.config.scenarios:
            apply_file(self.ctx, self.spec, path)

    def close(self) -> None:
        """Release the store (a durable one's connection)."""
        self.store.close()
