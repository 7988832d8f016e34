"""Producer domain: one clip per task, a top-level PENDING → RUNNING → SUCCESS | FAILED status.

Named rules the schema cannot say: ``retired_task_type`` (task types listed in ``x-retired-values``
of ``openapi/producer.yaml`` answer 410), ``sound_or_lyrics`` (one of them is required) and
``usable_clip`` (download and video-clip name a finished Producer song of the caller). Every task has a
``task_type`` (``create_music``, ``upload``, ``download``, ``make_lyrics``, ``video_clip``) that shapes its
``data[]`` [D-prod-task].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.catalog import CATALOG
from mockserver.engine.ports import ClipReader
from mockserver.engine.records import Clip, Status, Task
from mockserver.errors import MockError, Refund
from mockserver.ids import Draws, stable_index
from mockserver.spec import ApiSpec

SPEC = "producer"


def texts(body: Any) -> list[Any]:
    """The free-text values of a body (where magic ``#mock:`` markers may hide)."""
    return [body.get("sound"), body.get("lyrics"), body.get("title")] if isinstance(body, dict) else []


STATUS = {Status.PENDING: "PENDING", Status.RUNNING: "RUNNING", Status.SUCCEEDED: "SUCCESS", Status.FAILED: "FAILED"}


@dataclass(frozen=True)
class ProducerRules:
    """The Producer rules, bound to the loaded spec."""

    spec: ApiSpec
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def retired(self) -> list[str]:
        """Task types that answer 410 Gone."""
        if "retired" not in self._cache:
            task_type = self.spec.schema(SPEC, "ProducerCreateRequest")["properties"]["task_type"]
            self._cache["retired"] = list(task_type.get("x-retired-values", []))
        retired: list[str] = self._cache["retired"]
        return retired

    def default_mv(self) -> str:
        """The documented default model."""
        return str(self.spec.schema(SPEC, "ProducerCreateRequest")["properties"]["mv"].get("default", "FUZZ-2.0"))

    def check_create(self, body: Mapping[str, Any]) -> None:
        """410 for a retired task type; 400 without sound or lyrics."""
        if body["task_type"] in self.retired():
            raise MockError(
                CATALOG["producer.retired_task_type"],
                f"The task_type '{body['task_type']}' has been retired. Use task_type create_music.",
            )
        if not body.get("sound") and not body.get("lyrics"):
            raise MockError(CATALOG["producer.sound_or_lyrics"])

    def result_for(self, task_id: str, clip_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """The clip a task will produce."""
        rng = Draws(f"producer/{task_id}")
        return {
            "kind": "producer",
            "task_type": "create_music",
            "clip_id": clip_id,
            "title": body.get("title") or "Untitled",
            "sound": body.get("sound"),
            "lyrics": body.get("lyrics") or "[Instrumental]",
            "mv": body.get("mv") or self.default_mv(),
            "seed": str(body.get("seed") or rng.randrange(1, 2**31)),
            "duration": round(rng.uniform(120, 240), 6),
        }


NOT_READY_TEXT = "Task is still processing. Please wait a few seconds and try again."
#: The older copy's answer to a poll of an unfinished task (``--producer-not-ready-status``).
NOT_READY_BODY: Mapping[str, Any] = {"code": 202, "type": "not_ready", "error": NOT_READY_TEXT}
#: Titles of the lyrics ``lyrics-create`` writes, picked by the prompt.
_LYRIC_TITLES = ("Back to You", "Open Road", "Paper Moon", "Salt and Light", "Slow Tide", "Northern Line")


def usable_clip(store: ClipReader, clip_id: str, api_key: str, now: float) -> Clip:
    """A Producer song (or upload) of ``api_key`` that has finished by ``now``."""
    clip = store.get_clip(clip_id)
    task = store.get_task(clip.task_id) if clip is not None and clip.task_id else None
    if clip is None or clip.api_key != api_key or task is None or task.family != "producer":
        raise MockError(CATALOG["producer.clip_not_found"])
    if task.view(now).status is not Status.SUCCEEDED:
        raise MockError(CATALOG["producer.clip_not_ready"])
    return clip


def described(store: ClipReader, clip: Clip) -> dict[str, Any]:
    """The result fields of the song behind ``clip`` (as its task recorded them)."""
    task = store.get_task(str(clip.task_id))
    assert task is not None
    return {name: task.result[name] for name in ("clip_id", "title", "sound", "lyrics", "mv", "seed", "duration")}


def upload_result(clip_id: str, duration: float) -> dict[str, Any]:
    """What an ``upload`` task yields: the uploaded clip."""
    return {
        "kind": "producer",
        "task_type": "upload",
        "clip_id": clip_id,
        "title": "",
        "sound": None,
        "lyrics": None,
        "mv": "upload",
        "seed": "0",
        "duration": duration,
    }


def lyrics_result(prompt: str) -> dict[str, Any]:
    """What a ``make_lyrics`` task yields: a title and lyrics from the prompt."""
    topic = prompt.strip().rstrip(".")
    title = _LYRIC_TITLES[stable_index(topic, len(_LYRIC_TITLES))]
    lyrics = (
        f"[Verse 1]\n{topic.capitalize()}, I keep it close to me\nEvery word a light across the sea\n\n"
        f"[Chorus]\n{title}, {title.lower()}\nSing it back to me"
    )
    return {"kind": "producer", "task_type": "make_lyrics", "title": title, "lyrics": lyrics}


def _song(
    result: Mapping[str, Any], base_url: str, created_at: str, *, audio: bool = True, wav: bool = True
) -> dict[str, Any]:
    clip_id = result["clip_id"]
    return {
        "clip_id": clip_id,
        "title": result["title"],
        "sound": result["sound"],
        "lyrics": result["lyrics"],
        "audio_url": f"{base_url}/cdn/audio/{clip_id}.mp3" if audio else "",
        "wav_url": f"{base_url}/cdn/audio/{clip_id}.wav" if wav else "",
        "image_url": f"{base_url}/cdn/image/{clip_id}.png",
        "video_url": None,
        "created_at": created_at,
        "mv": result["mv"],
        "seed": result["seed"],
        "duration": result["duration"],
        "state": "succeeded",
    }


def _data(result: Mapping[str, Any], base_url: str, created_at: str) -> list[dict[str, Any]]:
    """``data[]`` of a finished task: its shape depends on the task type [D-prod-task]."""
    task_type = result.get("task_type", "create_music")
    if task_type == "make_lyrics":
        return [{"title": result["title"], "lyrics": result["lyrics"]}]
    if task_type == "video_clip":
        return [{"clip_id": result["clip_id"], "video_url": f"{base_url}/cdn/video/{result['clip_id']}.mp4"}]
    if task_type == "download":
        fmt = result["format"]
        return [_song(result, base_url, created_at, audio=fmt == "mp3", wav=fmt == "wav")]
    return [_song(result, base_url, created_at)]


def task_body(task: Task, instant: float, base_url: str, refund: Refund | None, created_at: str) -> dict[str, Any]:
    """The poll body at ``instant``."""
    view = task.view(instant)
    result = task.result
    body: dict[str, Any] = {
        "code": 200,
        "status": STATUS[view.status],
        "message": "success",
        "task_type": result.get("task_type", "create_music"),
        "data": [],
    }
    if view.status is Status.SUCCEEDED:
        body["data"] = _data(result, base_url, created_at)
    elif view.status is Status.FAILED and view.error_id is not None:
        spec = CATALOG[view.error_id]
        refunded = refund is not None and (refund.processed or refund.already)
        body["message"] = f"{spec.message} " + ("Credits were refunded." if refunded else "No credits were charged.")
        body["type"] = spec.type
    else:
        body["message"] = "processing"
    return body
