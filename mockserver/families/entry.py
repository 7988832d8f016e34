"""What a family registers (its name, error format, task interface, handler factory), and the parts families share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mockserver.catalog import FamilyErrors, family_errors
from mockserver.config import Config
from mockserver.engine.context import Context
from mockserver.engine.family import ErrorFormat, Family
from mockserver.engine.lifecycle import Timing, timing_for
from mockserver.engine.outbound import Outbound
from mockserver.engine.records import Status, Task
from mockserver.http.call import Handler

#: Builds a family's handlers (by operationId) over the mock's context and its ways out.
HandlerFactory = Callable[[Context, Outbound], Mapping[str, Handler]]


@dataclass(frozen=True, slots=True)
class FamilyEntry:
    """One registry line: a family of operations (the ``tags`` of their spec file)."""

    name: str
    error_format: ErrorFormat
    handlers: HandlerFactory
    #: The family's tasks as the engine, media and webhooks see them; None for a family without tasks.
    tasks: Family | None = None
    #: Why none of the family's operations can be made to fail in a configuration (None: they can).
    unreachable: Callable[[Config], str | None] | None = None


R = TypeVar("R")


class TaskFamily(Generic[R]):
    """What the families with tasks share: their rules, errors and timeline (subclasses say the rest)."""

    name: str
    error_format: ErrorFormat = "general"
    webhook_platform: str | None = None
    #: The family's own realistic timeline (None: the documented default of 30–60 s).
    realistic: Timing | None = None

    def __init__(self, rules: R) -> None:
        self.rules = rules
        self.errors: FamilyErrors = family_errors(self.name)

    def timing(self, profile: str) -> Timing:
        """The family's timeline under a clock ``profile``."""
        return timing_for(profile, self.realistic)

    def streams(self, task: Task) -> bool:
        """No ``song.streaming`` event (unless a family says otherwise)."""
        return False

    def poll_body(self, ctx: Context, task: Task, now: float, base_url: str) -> Mapping[str, Any]:
        """What a poll of ``task`` answers at ``now`` (and what its webhooks carry)."""
        raise NotImplementedError

    def clip_status(self, task: Task, index: int, now: float) -> Status:
        """A task's clips finish with it (unless a family says otherwise)."""
        return task.view(now).status

    def task_audio(self, task: Task, now: float) -> float | None:
        """No audio under the task's own id (unless a family says otherwise): the media are clips."""
        return None


class FamilyHandlers(Generic[R]):
    """The HTTP handlers of one family, over the mock's context, the family's rules, errors and timeline."""

    def __init__(self, ctx: Context, rules: R, errors: FamilyErrors, timing: Timing, outbound: Outbound) -> None:
        self.ctx = ctx
        self.rules = rules
        self.errors = errors
        self.timing = timing
        self.webhooks = outbound.webhooks
        self.probe = outbound.probe

    def routes(self) -> Mapping[str, Handler]:
        """The handlers by operationId."""
        raise NotImplementedError


def task_family_entry(family: TaskFamily[R], handlers: type[FamilyHandlers[R]]) -> FamilyEntry:
    """The registry entry of a family with tasks: its handlers are built per mock, with that mock's clock mode."""

    def build(ctx: Context, outbound: Outbound) -> Mapping[str, Handler]:
        return handlers(ctx, family.rules, family.errors, family.timing(ctx.config.clock), outbound).routes()

    return FamilyEntry(family.name, family.error_format, build, family)
