"""What the successive reads of one task must satisfy, per poll operation — the promises no schema can say
about a task *over time*, judged from the product API alone (no control plane), so they hold live too.

* every family: a task never goes back to "not ready" once it has a body, states only move forward, a
  terminal state stays, ``progress`` (where a body has one) never decreases, ids stay the same;
* Sonic (``sonicGetTask``): two clips per create ("One create call produces **two clips**"), each clip's
  ``state`` forward, ``audio_url`` empty while pending and set once succeeded; done when every clip is
  ``succeeded`` or ``failed`` (openapi/sonic.yaml ``SonicTaskResult``/``SonicClip``);
* Producer (``producerGetTask``): ``status`` PENDING → RUNNING → SUCCESS | FAILED, one song with its audio
  at SUCCESS, ``data`` empty on FAILED (openapi/producer.yaml ``ProducerTask``).

Types (``duration`` a decimal string on Sonic, a number on Producer; ``data`` an array) are the schema's
business: :func:`contracts.session.response_problems` checks every read before it gets here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

JSON = Any
NOT_READY = "not_ready"
SONIC_RANK: Mapping[str, int] = {"pending": 0, "running": 1, "streaming": 2, "succeeded": 3, "failed": 3}
PRODUCER_RANK: Mapping[str, int] = {"PENDING": 0, "RUNNING": 1, "SUCCESS": 2, "FAILED": 2}


class TaskHistory:
    """The reads of one task so far; :meth:`observe` returns what the new read breaks (empty: nothing)."""

    def observe(self, body: Mapping[str, JSON]) -> list[str]:
        """Check one read against the ones before it and remember it."""
        raise NotImplementedError

    def finished(self) -> bool:
        """Whether the last read was terminal (the task will not change again)."""
        raise NotImplementedError

    def succeeded(self) -> bool:
        """Whether the task finished and everything it made succeeded."""
        raise NotImplementedError

    def audio_urls(self) -> list[str]:
        """The audio URLs of the last read's finished results."""
        raise NotImplementedError

    def describe(self) -> str:
        """The last read in a few words, for progress lines."""
        raise NotImplementedError


def _progress_problem(where: str, before: JSON, now: JSON) -> str | None:
    if isinstance(before, int | float) and isinstance(now, int | float) and now < before:
        return f"{where}: progress went back {before} -> {now}"
    return None


@dataclass
class SonicHistory(TaskHistory):
    """A Sonic create's task: two clips (``clips``), each moving forward to succeeded or failed."""

    clips: int = 2
    ready: bool = False
    states: dict[str, str] = field(default_factory=dict)
    progress: dict[str, JSON] = field(default_factory=dict)
    last: list[Mapping[str, JSON]] = field(default_factory=list)

    def observe(self, body: Mapping[str, JSON]) -> list[str]:
        """See the module docs."""
        if body.get("type") == NOT_READY:
            return ["the task was ready and is 'not ready' again"] if self.ready else []
        data = body.get("data")
        if not isinstance(data, list):
            return [f"a task body without a clip list: {body!r:.200}"]
        problems: list[str] = []
        self.ready = True
        if len(data) != self.clips:
            problems.append(f"one create call produces {self.clips} clips, this read has {len(data)}")
        ids = [str(clip.get("clip_id")) for clip in data if isinstance(clip, Mapping)]
        if self.states and set(ids) != set(self.states):
            problems.append(f"the clip ids changed: {sorted(self.states)} -> {sorted(ids)}")
        for clip in data:
            if isinstance(clip, Mapping):
                problems += self._clip(clip)
        self.last = [clip for clip in data if isinstance(clip, Mapping)]
        return problems

    def _clip(self, clip: Mapping[str, JSON]) -> list[str]:
        clip_id, state = str(clip.get("clip_id")), str(clip.get("state"))
        problems: list[str] = []
        before = self.states.get(clip_id)
        if before is not None and state in SONIC_RANK and before in SONIC_RANK:
            if SONIC_RANK[state] < SONIC_RANK[before]:
                problems.append(f"clip {clip_id} went back: {before} -> {state}")
            elif SONIC_RANK[before] == 3 and state != before:
                problems.append(f"clip {clip_id} left its terminal state: {before} -> {state}")
        moved = _progress_problem(f"clip {clip_id}", self.progress.get(clip_id), clip.get("progress"))
        if moved:
            problems.append(moved)
        audio = clip.get("audio_url")
        if state == "succeeded" and not audio:
            problems.append(f"clip {clip_id} succeeded without its audio_url ({audio!r})")
        if state == "pending" and audio:
            problems.append(f"clip {clip_id} is pending but already has audio_url {audio!r}")
        self.states[clip_id] = state
        if "progress" in clip:
            self.progress[clip_id] = clip["progress"]
        return problems

    def finished(self) -> bool:
        """See :class:`TaskHistory`."""
        return bool(self.last) and all(SONIC_RANK.get(str(c.get("state")), 0) == 3 for c in self.last)

    def succeeded(self) -> bool:
        """See :class:`TaskHistory`."""
        return self.finished() and all(c.get("state") == "succeeded" for c in self.last)

    def audio_urls(self) -> list[str]:
        """See :class:`TaskHistory`."""
        return [str(c["audio_url"]) for c in self.last if c.get("state") == "succeeded" and c.get("audio_url")]

    def describe(self) -> str:
        """See :class:`TaskHistory`."""
        if not self.ready:
            return NOT_READY
        return "clips " + ", ".join(str(c.get("state")) for c in self.last)


@dataclass
class ProducerHistory(TaskHistory):
    """A Producer create's task: ``status`` forward to SUCCESS with one song (``songs``), or FAILED."""

    songs: int = 1
    ready: bool = False
    status: str | None = None
    progress: JSON = None
    last: Mapping[str, JSON] = field(default_factory=dict)

    def observe(self, body: Mapping[str, JSON]) -> list[str]:
        """See the module docs."""
        if body.get("type") == NOT_READY:
            return ["the task was ready and is 'not ready' again"] if self.ready else []
        self.ready = True
        problems: list[str] = []
        status = str(body.get("status"))
        if self.status is not None and status in PRODUCER_RANK and self.status in PRODUCER_RANK:
            if PRODUCER_RANK[status] < PRODUCER_RANK[self.status]:
                problems.append(f"status went back: {self.status} -> {status}")
            elif PRODUCER_RANK[self.status] == 2 and status != self.status:
                problems.append(f"the task left its terminal status: {self.status} -> {status}")
        moved = _progress_problem("task", self.progress, body.get("progress"))
        if moved:
            problems.append(moved)
        data = body.get("data")
        songs = data if isinstance(data, list) else []
        if status == "SUCCESS":
            if len(songs) != self.songs:
                problems.append(f"one song per request: SUCCESS with {len(songs)} entries in data")
            for song in songs:
                if isinstance(song, Mapping) and not song.get("audio_url"):
                    problems.append(f"song {song.get('clip_id')} of a SUCCESS task without its audio_url")
        if status == "FAILED" and songs:
            problems.append(f"a FAILED task has no song, this one has {len(songs)}")
        self.status, self.last = status, body
        if "progress" in body:
            self.progress = body["progress"]
        return problems

    def finished(self) -> bool:
        """See :class:`TaskHistory`."""
        return self.status is not None and PRODUCER_RANK.get(self.status, 0) == 2

    def succeeded(self) -> bool:
        """See :class:`TaskHistory`."""
        return self.status == "SUCCESS"

    def audio_urls(self) -> list[str]:
        """See :class:`TaskHistory`."""
        data = self.last.get("data")
        songs = data if isinstance(data, list) else []
        return [str(s["audio_url"]) for s in songs if isinstance(s, Mapping) and s.get("audio_url")]

    def describe(self) -> str:
        """See :class:`TaskHistory`."""
        return NOT_READY if not self.ready else f"status {self.status}"


#: Per poll operation: a fresh history of one task made by that family's main create.
HISTORIES: Mapping[str, Callable[[], TaskHistory]] = {
    "sonicGetTask": SonicHistory,
    "producerGetTask": ProducerHistory,
}
