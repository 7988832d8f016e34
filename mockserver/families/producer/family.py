"""What the engine sees of Producer (:class:`~mockserver.engine.family.Family`), and its registry entry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.clock import format_instant
from mockserver.engine.context import Context
from mockserver.engine.family import ErrorFormat
from mockserver.engine.lifecycle import Span, Timing
from mockserver.engine.records import Task
from mockserver.engine.settlement import settle_task
from mockserver.families.entry import FamilyEntry, TaskFamily, task_family_entry
from mockserver.families.producer import rules
from mockserver.families.producer.handlers import ProducerHandlers
from mockserver.spec import ApiSpec

NAME = "producer"
#: About 30 s (reference §3).
REALISTIC = Timing(Span(2.0, 5.0), Span(22.0, 32.0))


class ProducerFamily(TaskFamily[rules.ProducerRules]):
    """Producer's tasks as the engine sees them."""

    name = NAME
    error_format: ErrorFormat = "general"
    webhook_platform = "producer"
    realistic = REALISTIC

    def poll_body(self, ctx: Context, task: Task, now: float, base_url: str) -> Mapping[str, Any]:
        """The poll body."""
        refund = settle_task(ctx, task, now)
        return rules.task_body(task, now, base_url, refund, format_instant(task.created_at))


def register(spec: ApiSpec) -> FamilyEntry:
    """Producer's registry entry."""
    return task_family_entry(ProducerFamily(rules.ProducerRules(spec)), ProducerHandlers)
