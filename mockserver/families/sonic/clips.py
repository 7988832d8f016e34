"""Sonic clips and tasks as clients see them: which clips are usable, each clip's state, the poll body.

A task's result is fixed at creation (``rules.SonicRules.result_for``) and its state derived from the
clock, so everything here is a pure function of the stored task, the clip records and an instant.
Result kinds: ``sonic`` (clips: every generation, and an asynchronous upload), ``voice`` (a persona made
from audio) and ``download`` (files being prepared for a clip; not a generation, its clip is not new).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.catalog import CATALOG
from mockserver.clock import format_instant
from mockserver.engine.ports import ClipReader, Store
from mockserver.engine.records import Clip, Status, Task
from mockserver.errors import MockError, Refund

NOT_READY_TEXT = "Task is still processing. Please wait a few seconds and try again."
#: What a poll (and a webhook) of a task still in the queue answers.
NOT_READY_BODY: Mapping[str, Any] = {"type": "not_ready", "error": NOT_READY_TEXT, "code": 202}
#: A persona (or a remaster, an add_vocals, ...) is made from a clip of the last 24 hours (reference §2.4).
RECENT_WINDOW = 24 * 3600.0


def usable_clip(store: ClipReader, clip_id: str, api_key: str, now: float) -> Clip:
    """A clip of ``api_key`` that exists and (if made by a task) has succeeded by ``now``."""
    clip = store.get_clip(clip_id)
    if clip is None or clip.api_key != api_key:
        raise MockError(CATALOG["sonic.clip_not_found"])
    if clip.task_id is not None:
        task = store.get_task(clip.task_id)
        if task is not None and task.family != "sonic":  # another family's clip (a Producer song) is not Sonic's
            raise MockError(CATALOG["sonic.clip_not_found"])
        if task is None or clip_status(task, clip.index, now) is not Status.SUCCEEDED:
            raise MockError(CATALOG["sonic.clip_not_ready"])
    return clip


def recent_clip(store: ClipReader, clip_id: str, api_key: str, now: float) -> Clip:
    """A usable clip made within :data:`RECENT_WINDOW` (a persona's source, a remaster's)."""
    clip = usable_clip(store, clip_id, api_key, now)
    if now - clip.created_at > RECENT_WINDOW:
        raise MockError(CATALOG["sonic.clip_too_old"])
    return clip


def model_of(store: ClipReader, clip: Clip) -> str | None:
    """The ``mv`` a generated clip was made with (None for an upload)."""
    task = store.get_task(clip.task_id) if clip.task_id else None
    if task is None or "clips" not in task.result:
        return None
    mv = task.result["clips"][clip.index].get("mv")
    return str(mv) if mv else None


def register_clips(store: Store, task: Task) -> None:
    """Make a new task's clips known by id (usable once they succeed); a download makes none."""
    if task.result["kind"] != "sonic":
        return
    kind = "uploaded" if task.result["task_type"] == "upload" else "generated"
    for index, clip in enumerate(task.result["clips"]):
        store.put_clip(
            Clip(
                clip["clip_id"],
                task.api_key,
                task.created_at,
                clip["duration"],
                kind,
                task.id,
                index,
                clip["extends"],
                clip["continue_at"],
            )
        )


def clip_status(task: Task, index: int, instant: float) -> Status:
    """One clip's state: it finishes at its own fraction of the task's running time."""
    view = task.view(instant)
    if "clips" not in task.result:
        return view.status
    if view.status in (Status.PENDING, Status.FAILED):
        if view.status is Status.FAILED and _clip_done_at(task, index) <= task.failure.at:  # type: ignore[union-attr]
            return Status.SUCCEEDED  # finished before the task failed
        return view.status
    return Status.SUCCEEDED if instant >= _clip_done_at(task, index) else Status.RUNNING


def _clip_done_at(task: Task, index: int) -> float:
    fraction = float(task.result["clips"][index]["finish_fraction"])
    return task.started_at + (task.ends_at - task.started_at) * fraction


def failure_message(error_id: str, refund: Refund | None) -> str:
    """What a failed clip's ``error_message`` says (and whether its credits came back)."""
    message = CATALOG[error_id].message
    if refund is not None and refund.already and "refund" not in message.lower():
        message += " Credits were previously refunded."
    return message


def clip_item(clip: Mapping[str, Any], state: Status, base_url: str, created_at: str) -> dict[str, Any]:
    """One clip as polls, webhooks and the feed show it."""
    done = state is Status.SUCCEEDED
    return {
        "clip_id": clip["clip_id"],
        "state": state.value,
        "title": clip["title"],
        "tags": clip["tags"],
        "negative_tags": clip["negative_tags"],
        "lyrics": clip["lyrics"],
        "image_url": f"{base_url}/cdn/image/{clip['clip_id']}.png",
        "audio_url": f"{base_url}/cdn/audio/{clip['clip_id']}.mp3" if done else "",
        "video_url": None,
        "created_at": created_at,
        "mv": clip["mv"],
        "gpt_description_prompt": clip["gpt_description_prompt"],
        "duration": f"{clip['duration']:.2f}" if done else "0",
        "style_weight": clip["style_weight"],
        "weirdness_constraint": clip["weirdness_constraint"],
    }


def task_body(task: Task, instant: float, base_url: str, refund: Refund | None) -> dict[str, Any] | None:
    """The poll body at ``instant``; None while the task is not ready (still queued)."""
    view = task.view(instant)
    if view.status is Status.PENDING:
        return None
    result = task.result
    if result["kind"] == "voice":
        item: dict[str, Any] = {"persona_id": result["persona_id"], "name": result["name"], "state": view.status.value}
        if view.status is Status.FAILED and view.error_id is not None:
            item["error_message"] = failure_message(view.error_id, refund)
        return {"code": 200, "message": "success", "data": [item]}
    created_at = format_instant(task.created_at)
    data = []
    for index, clip in enumerate(result["clips"]):
        state = clip_status(task, index, instant)
        entry = clip_item(clip, state, base_url, created_at)
        if state is Status.FAILED and view.error_id is not None:
            entry["error_message"] = failure_message(view.error_id, refund)
        data.append(entry)
    return {"code": 200, "message": "success", "data": data}


def uploaded(clip_id: str, duration: float) -> dict[str, Any]:
    """How an uploaded clip is described (it has no title, tags or lyrics of its own)."""
    return {
        "clip_id": clip_id,
        "title": "",
        "tags": "",
        "negative_tags": None,
        "lyrics": "",
        "mv": "upload",
        "gpt_description_prompt": None,
        "style_weight": None,
        "weirdness_constraint": None,
        "duration": duration,
        "extends": None,
        "continue_at": 0.0,
        "finish_fraction": 1.0,
    }


def feed_item(store: ClipReader, clip: Clip, instant: float, base_url: str) -> dict[str, Any] | None:
    """A clip of the feed: as its task describes it, or (a synchronous upload) as uploaded; None if gone."""
    if clip.task_id is None:
        return clip_item(
            uploaded(clip.clip_id, clip.duration), Status.SUCCEEDED, base_url, format_instant(clip.created_at)
        )
    task = store.get_task(clip.task_id)
    if task is None or "clips" not in task.result:
        return None
    described = task.result["clips"][clip.index]
    return clip_item(described, clip_status(task, clip.index, instant), base_url, format_instant(task.created_at))
