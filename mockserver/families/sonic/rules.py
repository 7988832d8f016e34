"""Sonic domain: the rules its OpenAPI schema cannot say, clip planning, and the task-poll body.

Limits come from ``openapi/sonic.yaml``: per-model lengths from ``x-model-limits`` on ``mv`` (with the
message templates of ``x-model-limit-messages``). Named rules written here:

* ``description_mode``: with ``custom_mode: false`` the song is described by ``gpt_description_prompt``;
* ``source_clip``: extend/cover/concat name an existing, finished clip of the same key; uploaded clips
  only with the ``*_upload_music`` types and generated ones only without; concat needs an extension;
* ``persona``: persona_music names an existing persona of the same key; a persona is made from a clip of
  the last 24 hours (:data:`PERSONA_WINDOW`, virtual clock);
* ``public_url``: an upload URL must be one the vendor could fetch (the mock never fetches it);
* ``upload_length``: an uploaded clip's length is derived from its URL (uploads are 6–60 s long).

A create makes two clips. Each finishes at its own fraction of the task's running time (one may be
done before the other); an extension holds only the new part, and concat joins it to its source.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mockserver.catalog import CATALOG
from mockserver.engine.ports import ClipReader, Store
from mockserver.engine.records import Clip, Status, Task
from mockserver.errors import MockError, Refund
from mockserver.ids import Draws, stable_index
from mockserver.spec import ApiSpec

SPEC = "sonic"
CLIPS_PER_TASK = 2
#: Task types that build on an uploaded clip (the others that name a clip need a generated one).
UPLOAD_KINDS = ("extend_upload_music", "cover_upload_music")
NOT_READY_TEXT = "Task is still processing. Please wait a few seconds and try again."
#: What a poll (and a webhook) of a task still in the queue answers.
NOT_READY_BODY: Mapping[str, Any] = {"type": "not_ready", "error": NOT_READY_TEXT, "code": 202}
#: A persona must be made from a clip of the last 24 hours (reference §2.4, [D-persona]).
PERSONA_WINDOW = 24 * 3600.0
_TITLE_WORDS = (
    "Midnight",
    "Golden",
    "Echoes",
    "River",
    "Neon",
    "Summer",
    "Shadows",
    "Skyline",
    "Velvet",
    "Dreams",
    "Lights",
    "Horizon",
)


def model_family(mv: str | None) -> str:
    """``v3`` for the older models (sonic-v3-5, sonic-v4 and their chirp spellings), else ``v4_5``."""
    return "v3" if mv and mv.endswith(("-v3-5", "-v4")) else "v4_5"


@dataclass(frozen=True)
class SonicRules:
    """The Sonic rules, bound to the loaded spec."""

    spec: ApiSpec
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def _mv(self) -> Mapping[str, Any]:
        if "mv" not in self._cache:
            self._cache["mv"] = self.spec.schema(SPEC, "SonicMv")
            self._cache["templates"] = self.spec.schema(SPEC, "SonicCreateRequest").get("x-model-limit-messages", {})
        mv: Mapping[str, Any] = self._cache["mv"]
        return mv

    def needs_source(self, task_type: str) -> bool:
        """Whether the spec's branch for ``task_type`` requires a ``continue_clip_id``."""
        if "needs_source" not in self._cache:
            request = self.spec.schema(SPEC, "SonicCreateRequest")
            self._cache["needs_source"] = {
                branch["properties"]["task_type"]["enum"][0]
                for branch in request["oneOf"]
                if "continue_clip_id" in branch.get("required", ())
            }
        return task_type in self._cache["needs_source"]

    def cost_variant(self, body: Mapping[str, Any]) -> str:
        """The cost key suffix: ``<task_type>`` or ``<task_type>.v3`` (custom mode on an older model)."""
        task_type = str(body.get("task_type", "create_music"))
        if body.get("custom_mode") and model_family(body.get("mv")) == "v3":
            return f"{task_type}.v3"
        return task_type

    def check_create(self, body: Mapping[str, Any], api_key: str, store: ClipReader, now: float) -> None:
        """Raise the documented 400 for a schema-valid body that breaks a rule the schema cannot say."""
        limits = self._mv().get("x-model-limits", {}).get(body.get("mv"), {})
        templates: Mapping[str, str] = self._cache["templates"]
        for name, limit in limits.items():
            value = body.get(name)
            if isinstance(value, str) and len(value) > limit:
                raise MockError(
                    CATALOG["request.validation"],
                    templates.get(name, f"{name}: at most {{limit}} characters").format(limit=limit),
                )
        task_type = body.get("task_type", "create_music")
        if (
            task_type in ("create_music", "cover_music", "persona_music")
            and body.get("custom_mode") is False
            and not body.get("gpt_description_prompt")
        ):
            raise MockError(CATALOG["sonic.description_mode"])
        if self.needs_source(str(task_type)):
            self.source_clip(body, api_key, store, now)
        if task_type == "persona_music":
            persona = store.get_persona(str(body.get("persona_id")))
            if persona is None or persona.api_key != api_key:
                raise MockError(CATALOG["sonic.persona_not_found"])

    def source_clip(self, body: Mapping[str, Any], api_key: str, store: ClipReader, now: float) -> Clip:
        """The clip a task builds on, checked against the task type."""
        clip = usable_clip(store, str(body.get("continue_clip_id")), api_key, now)
        task_type = body.get("task_type")
        if (clip.kind == "uploaded") != (task_type in UPLOAD_KINDS) and task_type != "concat_music":
            raise MockError(CATALOG["sonic.clip_wrong_kind"])
        if task_type == "concat_music" and clip.extends is None:
            raise MockError(CATALOG["sonic.not_extended"])
        return clip

    def result_for(
        self, task_id: str, body: Mapping[str, Any], store: ClipReader, api_key: str, now: float, clip_ids: list[str]
    ) -> dict[str, Any]:
        """The two clips a task will produce, fixed at creation."""
        rng = Draws(f"sonic/{task_id}")
        task_type = str(body.get("task_type", "create_music"))
        source = self.source_clip(body, api_key, store, now) if self.needs_source(task_type) else None
        seed_text = str(body.get("prompt") or body.get("gpt_description_prompt") or body.get("tags") or task_id)
        title = body.get("title") or (
            f"{_TITLE_WORDS[stable_index('t1' + seed_text, 12)]} {_TITLE_WORDS[stable_index('t2' + seed_text, 12)]}"
        )
        lyrics = body.get("prompt") if body.get("custom_mode") else None
        if body.get("make_instrumental"):
            lyrics = "[Instrumental]"
        elif not lyrics:
            lyrics = f"[Verse]\n{seed_text[:120]}\n\n[Chorus]\n{title}, {title.lower()}"
        clips = []
        for index, clip_id in enumerate(clip_ids):
            duration, extends, continue_at = self._clip_duration(body, task_type, source, rng)
            clips.append(
                {
                    "clip_id": clip_id,
                    "title": title,
                    "tags": body.get("tags") or "",
                    "lyrics": lyrics,
                    "negative_tags": body.get("negative_tags"),
                    "mv": body.get("mv") or "sonic-v4-5",
                    "gpt_description_prompt": body.get("gpt_description_prompt"),
                    "style_weight": body.get("style_weight"),
                    "weirdness_constraint": body.get("weirdness_constraint"),
                    "duration": duration,
                    "extends": extends,
                    "continue_at": continue_at,
                    # The first clip finishes a little before the second (reference §2.2: wait for all).
                    "finish_fraction": 1.0 if index == len(clip_ids) - 1 else round(rng.uniform(0.8, 0.95), 4),
                }
            )
        return {"kind": "sonic", "task_type": task_type, "clips": clips}

    @staticmethod
    def _clip_duration(
        body: Mapping[str, Any], task_type: str, source: Clip | None, rng: Draws
    ) -> tuple[float, str | None, float]:
        if task_type == "concat_music" and source is not None:
            return round(source.continue_at + source.duration, 2), None, 0.0
        if task_type in ("extend_music", "extend_upload_music") and source is not None:
            part = rng.uniform(60, 150)
            return round(part, 2), source.clip_id, float(body.get("continue_at") or 0.0)
        target = body.get("duration")
        base = float(target) if target else rng.uniform(120, 240)
        return round(max(10.0, base - rng.uniform(0, 1.5)), 2), None, 0.0


def usable_clip(store: ClipReader, clip_id: str, api_key: str, now: float) -> Clip:
    """A clip of ``api_key`` that exists and (if generated) has succeeded by ``now``."""
    clip = store.get_clip(clip_id)
    if clip is None or clip.api_key != api_key:
        raise MockError(CATALOG["sonic.clip_not_found"])
    if clip.task_id is not None:
        task = store.get_task(clip.task_id)
        if task is None or clip_status(task, clip.index, now) is not Status.SUCCEEDED:
            raise MockError(CATALOG["sonic.clip_not_ready"])
    return clip


def texts(body: Any) -> list[Any]:
    """The free-text values of a body (where magic ``#mock:`` markers may hide)."""
    if not isinstance(body, dict):
        return []
    return [body.get(k) for k in ("prompt", "gpt_description_prompt", "tags", "title", "description", "name")]


def persona_source(store: ClipReader, clip_id: str, api_key: str, now: float) -> Clip:
    """The finished clip of ``api_key`` a persona is made from, made within :data:`PERSONA_WINDOW`."""
    clip = usable_clip(store, clip_id, api_key, now)
    if now - clip.created_at > PERSONA_WINDOW:
        raise MockError(CATALOG["sonic.clip_too_old"])
    return clip


def public_url(url: str) -> bool:
    """Whether the vendor could fetch ``url`` (the mock never does): http(s) on a public host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if (
        parts.scheme not in ("http", "https")
        or not host
        or host == "localhost"
        or host.endswith((".local", ".internal", ".localhost"))
    ):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host
    return address.is_global


def upload_length(url: str) -> float:
    """The length (seconds, 6–60) of the file behind an upload URL: derived from the URL, never fetched."""
    seconds = 6 + int.from_bytes(hashlib.blake2b(url.encode(), digest_size=4).digest(), "big") % 5400 / 100
    return round(seconds, 2)


def lyrics_for(description: str) -> list[dict[str, str]]:
    """Two lyrics (title and text) for a description, as ``POST /api/v1/sonic/lyrics`` answers."""
    topic = description.strip()
    results = []
    for variant in ("Whisper of", "Midnight"):
        word = topic.split()[-1].capitalize() if topic.split() else "Song"
        title = f"{variant} {word}"
        results.append(
            {
                "title": title,
                "lyrics": (
                    f"[Verse]\n{topic.capitalize()}, all I can see\nIt follows the light and it follows me\n\n"
                    f"[Chorus]\n{title}, {title.lower()}\nSing it again till the night is through"
                ),
            }
        )
    return results


def register_clips(store: Store, task: Task) -> None:
    """Make a new task's clips known by id (usable once they succeed)."""
    for index, clip in enumerate(task.result["clips"]):
        store.put_clip(
            Clip(
                clip["clip_id"],
                task.api_key,
                task.created_at,
                clip["duration"],
                "generated",
                task.id,
                index,
                clip["extends"],
                clip["continue_at"],
            )
        )


def clip_status(task: Task, index: int, instant: float) -> Status:
    """One clip's state: it finishes at its own fraction of the task's running time."""
    view = task.view(instant)
    if view.status in (Status.PENDING, Status.FAILED):
        if view.status is Status.FAILED and _clip_done_at(task, index) <= task.failure.at:  # type: ignore[union-attr]
            return Status.SUCCEEDED  # finished before the task failed
        return view.status
    return Status.SUCCEEDED if instant >= _clip_done_at(task, index) else Status.RUNNING


def _clip_done_at(task: Task, index: int) -> float:
    fraction = float(task.result["clips"][index]["finish_fraction"])
    return task.started_at + (task.ends_at - task.started_at) * fraction


def task_body(
    task: Task, instant: float, base_url: str, refund: Refund | None, created_at: str
) -> dict[str, Any] | None:
    """The poll body at ``instant``; None while the task is not ready (still queued)."""
    view = task.view(instant)
    if view.status is Status.PENDING:
        return None
    data = []
    for index, clip in enumerate(task.result["clips"]):
        state = clip_status(task, index, instant)
        done = state is Status.SUCCEEDED
        item: dict[str, Any] = {
            "clip_id": clip["clip_id"],
            "state": state.value,
            "title": clip["title"],
            "tags": clip["tags"],
            "negative_tags": clip["negative_tags"],
            "lyrics": clip["lyrics"],
            "image_url": f"{base_url}/cdn/image/{clip['clip_id']}.png",
            "audio_url": f"{base_url}/cdn/audio/{clip['clip_id']}.wav" if done else "",
            "video_url": None,
            "created_at": created_at,
            "mv": clip["mv"],
            "gpt_description_prompt": clip["gpt_description_prompt"],
            "duration": f"{clip['duration']:.2f}" if done else "0",
            "style_weight": clip["style_weight"],
            "weirdness_constraint": clip["weirdness_constraint"],
        }
        if state is Status.FAILED and view.error_id is not None:
            message = CATALOG[view.error_id].message
            if refund is not None and refund.already and "refund" not in message.lower():
                message += " Credits were previously refunded."
            item["error_message"] = message
        data.append(item)
    return {"code": 200, "message": "success", "data": data}
