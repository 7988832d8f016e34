"""Sonic domain: the rules its OpenAPI schema cannot say, clip planning, and the task-poll body.

Limits come from ``openapi/sonic.yaml``: per-model lengths from ``x-model-limits`` on ``mv`` (with the
message templates of ``x-model-limit-messages``). Named rules written here:

* ``description_mode``: with ``custom_mode: false`` the song is described by ``gpt_description_prompt``;
* ``source_clip``: extend/cover/concat name an existing, finished clip of the same key; uploaded clips
  only with the ``*_upload_music`` types and generated ones only without; concat needs an extension;
* ``recent``: remaster and add_vocals/add_instrumental name a clip of the last 24 hours (virtual clock);
* ``persona``: persona_music names an existing persona of the same key (a voice persona once its task
  has finished).

A create makes two clips. Each finishes at its own fraction of the task's running time (one may be
done before the other); an extension holds only the new part (or, with ``auto_concat``, the whole
song), and concat joins it to its source. Clip states and the poll body are in :mod:`.clips`; uploads
and the synchronous tools in :mod:`.tools`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.catalog import CATALOG
from mockserver.engine.ports import ClipReader
from mockserver.engine.records import Clip, Status
from mockserver.errors import MockError
from mockserver.families.sonic.clips import recent_clip, usable_clip
from mockserver.ids import Draws, stable_index
from mockserver.spec import ApiSpec

SPEC = "sonic"
CLIPS_PER_TASK = 2
#: Task types that build on an uploaded clip (the others that name a clip need a generated one).
UPLOAD_KINDS = ("extend_upload_music", "cover_upload_music")
#: Task types that work on a recent clip of either kind, keeping its length.
REWORK_KINDS = ("remaster", "add_instrumental", "add_vocals")
#: Task types whose custom mode sings ``prompt`` (concat and the reworks take no lyrics).
PROMPTED = ("create_music", "cover_music", "persona_music", "extend_music", "extend_upload_music", "cover_upload_music")
#: Task types whose clips are as long as their source.
SAME_LENGTH = (*REWORK_KINDS, "replace_section")
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


def older_custom(body: Mapping[str, Any]) -> bool:
    """Custom mode on an older model (sonic-v3-5, sonic-v4): the cheaper price."""
    return bool(body.get("custom_mode")) and model_family(body.get("mv")) == "v3"


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

    def stem_names(self, operation_id: str) -> list[str]:
        """The stems an operation separates (``x-stems`` of ``SonicStemsResponse``)."""
        if "stems" not in self._cache:
            self._cache["stems"] = self.spec.schema(SPEC, "SonicStemsResponse")["x-stems"]
        return list(self._cache["stems"][operation_id])

    def cost_variant(self, body: Mapping[str, Any]) -> str:
        """The cost key suffix: ``<task_type>`` or ``<task_type>.v3`` (custom mode on an older model)."""
        task_type = str(body.get("task_type", "create_music"))
        return f"{task_type}.v3" if older_custom(body) else task_type

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
            task_type in ("create_music", "cover_music", "persona_music", "cover_upload_music")
            and body.get("custom_mode") is False
            and not body.get("gpt_description_prompt")
        ):
            raise MockError(CATALOG["sonic.description_mode"])
        if (
            body.get("custom_mode") is True
            and not body.get("make_instrumental")
            and not body.get("prompt")
            and (task_type in PROMPTED)
        ):
            raise MockError(CATALOG["sonic.custom_mode_prompt"])
        if self.needs_source(str(task_type)):
            self.source_clip(body, api_key, store, now)
        if task_type == "persona_music":
            persona = store.get_persona(str(body.get("persona_id")))
            voice_task = store.get_ref(f"voice/{body.get('persona_id')}")
            task = store.get_task(voice_task) if voice_task else None
            if (
                persona is None
                or persona.api_key != api_key
                or (voice_task is not None and (task is None or task.view(now).status is not Status.SUCCEEDED))
            ):
                raise MockError(CATALOG["sonic.persona_not_found"])

    def source_clip(self, body: Mapping[str, Any], api_key: str, store: ClipReader, now: float) -> Clip:
        """The clip a task builds on, checked against the task type."""
        task_type = body.get("task_type")
        clip_id = str(body.get("continue_clip_id"))
        if task_type in REWORK_KINDS:
            return recent_clip(store, clip_id, api_key, now)
        clip = usable_clip(store, clip_id, api_key, now)
        if (clip.kind == "uploaded") != (task_type in UPLOAD_KINDS) and task_type != "concat_music":
            raise MockError(CATALOG["sonic.clip_wrong_kind"])
        if task_type == "concat_music" and clip.extends is None:
            raise MockError(CATALOG["sonic.not_extended"])
        return clip

    def result_for(
        self,
        task_id: str,
        body: Mapping[str, Any],
        clip_ids: list[str],
        *,
        source: Clip | None = None,
        task_type: str | None = None,
    ) -> dict[str, Any]:
        """The clips a task will produce, fixed at creation; ``source`` is the clip it builds on (checked)."""
        rng = Draws(f"sonic/{task_id}")
        task_type = task_type or str(body.get("task_type", "create_music"))
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
        if task_type in SAME_LENGTH and source is not None:
            return source.duration, None, 0.0
        if task_type in ("extend_music", "extend_upload_music") and source is not None:
            part = rng.uniform(60, 150)
            at = float(body.get("continue_at") or 0.0)
            if body.get("auto_concat"):  # the whole song: the source up to continue_at, then the extension
                return round(min(at, source.duration) + part, 2), None, 0.0
            return round(part, 2), source.clip_id, at
        target = body.get("duration")
        base = float(target) if target else rng.uniform(120, 240)
        return round(max(10.0, base - rng.uniform(0, 1.5)), 2), None, 0.0


def texts(body: Any) -> list[Any]:
    """The free-text values of a body (where magic ``#mock:`` markers may hide)."""
    if not isinstance(body, dict):
        return []
    return [body.get(k) for k in ("prompt", "gpt_description_prompt", "tags", "title", "description", "name")]
