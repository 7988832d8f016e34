"""The interface the engine, media, webhooks and the control plane see of an API family.

Nothing outside a family's folder (``mockserver/families/<name>/``) names the family: shared code asks
this interface. Only the composition root imports the implementations (the registry in
``mockserver/families/registry.py``), as schemathesis' core reaches its spec plugins only through its
abstract schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

from mockserver.catalog import FamilyErrors
from mockserver.engine.context import Context
from mockserver.engine.lifecycle import Timing
from mockserver.engine.records import Status, Task

#: How a family's error bodies look: Nuro's documented ``{type, message, refund_*}``, the general
#: MusicAPI ``{code, message, error, detail, type}``, or the mock's own (Nuro's plus ``error_id``).
ErrorFormat = Literal["nuro", "general", "mock"]


class Family(Protocol):
    """One API family: its name, errors, timeline, and how its tasks look from outside."""

    @property
    def name(self) -> str:
        """The family's name, as tasks record it (``sonic``)."""

    @property
    def errors(self) -> FamilyErrors:
        """Which catalog entries the family answers for the errors every family has."""

    @property
    def error_format(self) -> ErrorFormat:
        """The shape of the family's error bodies."""

    @property
    def webhook_platform(self) -> str | None:
        """The ``platform`` field of its webhook bodies; None: the family sends no webhooks."""

    def streams(self, task: Task) -> bool:
        """Whether the task's webhooks announce ``song.streaming`` when it starts running."""

    def timing(self, profile: str) -> Timing:
        """How long its tasks wait and run under a clock ``profile``."""

    def poll_body(self, ctx: Context, task: Task, now: float, base_url: str) -> Mapping[str, Any]:
        """What a poll of ``task`` answers at ``now`` (and what its webhooks carry)."""

    def clip_status(self, task: Task, index: int, now: float) -> Status:
        """The state of clip ``index`` of ``task`` at ``now`` (its media exist once it succeeded)."""

    def task_audio(self, task: Task, now: float) -> float | None:
        """Seconds of audio served under the task's own id once finished; None if its media are clips."""
