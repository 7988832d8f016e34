"""What the engine sees of Nuro (:class:`~mockserver.engine.family.Family`), and its registry entry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mockserver.config import Config
from mockserver.engine.context import Context
from mockserver.engine.family import ErrorFormat
from mockserver.engine.records import Status, Task
from mockserver.engine.settlement import settle_task
from mockserver.families.entry import FamilyEntry, TaskFamily, task_family_entry
from mockserver.families.nuro.handlers import NuroHandlers
from mockserver.families.nuro.rules import NuroRules, task_body
from mockserver.spec import ApiSpec

NAME = "nuro"


class NuroFamily(TaskFamily[NuroRules]):
    """Nuro's tasks as the engine sees them: one song each, its audio served under the task id."""

    name = NAME
    error_format: ErrorFormat = "nuro"

    def poll_body(self, ctx: Context, task: Task, now: float, base_url: str) -> Mapping[str, Any]:
        """The get-music body."""
        return task_body(task, now, f"{base_url}/cdn/audio/{task.id}.wav", settle_task(ctx, task, now))

    def task_audio(self, task: Task, now: float) -> float | None:
        """The song's length once it has succeeded."""
        return float(task.result["duration"]) if task.view(now).status is Status.SUCCEEDED else None


def register(spec: ApiSpec) -> FamilyEntry:
    """Nuro's registry entry (its realistic timeline is the documented default: a song in 30–60 s)."""
    entry = task_family_entry(NuroFamily(NuroRules(spec)), NuroHandlers)
    return replace(entry, unreachable=_gone)


def _gone(config: Config) -> str | None:
    if config.nuro.kind != "gone":
        return None
    return "answers 410 Gone in this mode (--nuro gone): a fault rule on it could never fire (use --nuro legacy)"
