"""What the engine sees of Sonic (:class:`~mockserver.engine.family.Family`), and its registry entry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.engine.context import Context
from mockserver.engine.family import ErrorFormat
from mockserver.engine.lifecycle import Span, Timing
from mockserver.engine.records import Status, Task
from mockserver.engine.settlement import settle_task
from mockserver.families.entry import FamilyEntry, TaskFamily, task_family_entry
from mockserver.families.sonic import clips, rules
from mockserver.families.sonic.handlers import SonicHandlers
from mockserver.spec import ApiSpec

NAME = "sonic"
#: About 2 minutes in all, 10–40 s of it not ready (reference §2.2).
REALISTIC = Timing(Span(10.0, 40.0), Span(60.0, 110.0))


class SonicFamily(TaskFamily[rules.SonicRules]):
    """Sonic's tasks as the engine sees them."""

    name = NAME
    error_format: ErrorFormat = "general"
    #: The vendor's webhook bodies still say ``suno`` (reference §5.4).
    webhook_platform = "suno"
    realistic = REALISTIC

    def streams(self, task: Task) -> bool:
        """A generation streams before it finishes; an upload, a voice or a download does not."""
        return bool(task.result["kind"] == "sonic" and task.result["task_type"] != "upload")

    def poll_body(self, ctx: Context, task: Task, now: float, base_url: str) -> Mapping[str, Any]:
        """The poll body: not ready while queued, then the clips (or the voice persona)."""
        body = clips.task_body(task, now, base_url, settle_task(ctx, task, now))
        return body if body is not None else dict(clips.NOT_READY_BODY)

    def clip_status(self, task: Task, index: int, now: float) -> Status:
        """Each clip finishes at its own fraction of the task's running time."""
        return clips.clip_status(task, index, now)


def register(spec: ApiSpec) -> FamilyEntry:
    """Sonic's registry entry."""
    return task_family_entry(SonicFamily(rules.SonicRules(spec)), SonicHandlers)
