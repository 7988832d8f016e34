"""Producer domain: one clip per task, a top-level PENDING → RUNNING → SUCCESS | FAILED status.

Named rules the schema cannot say: ``retired_task_type`` (task types listed in ``x-retired-values``
of ``openapi/producer.yaml`` answer 410) and ``sound_or_lyrics`` (one of them is required).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.catalog import CATALOG
from mockserver.engine.records import Status, Task
from mockserver.errors import MockError, Refund
from mockserver.ids import Draws
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
            "clip_id": clip_id,
            "title": body.get("title") or "Untitled",
            "sound": body.get("sound"),
            "lyrics": body.get("lyrics") or "[Instrumental]",
            "mv": body.get("mv") or self.default_mv(),
            "seed": str(body.get("seed") or rng.randrange(1, 2**31)),
            "duration": round(rng.uniform(120, 240), 6),
        }


def task_body(task: Task, instant: float, base_url: str, refund: Refund | None, created_at: str) -> dict[str, Any]:
    """The poll body at ``instant``."""
    view = task.view(instant)
    result = task.result
    body: dict[str, Any] = {"code": 200, "status": STATUS[view.status], "message": "success", "data": []}
    if view.status is Status.SUCCEEDED:
        clip_id = result["clip_id"]
        url = f"{base_url}/cdn/audio/{clip_id}.wav"
        body["data"] = [
            {
                "clip_id": clip_id,
                "title": result["title"],
                "sound": result["sound"],
                "lyrics": result["lyrics"],
                "audio_url": url,
                "wav_url": url,
                "image_url": f"{base_url}/cdn/image/{clip_id}.png",
                "video_url": None,
                "created_at": created_at,
                "mv": result["mv"],
                "seed": result["seed"],
                "duration": result["duration"],
                "state": "succeeded",
            }
        ]
    elif view.status is Status.FAILED and view.error_id is not None:
        spec = CATALOG[view.error_id]
        refunded = refund is not None and (refund.processed or refund.already)
        body["message"] = f"{spec.message} " + ("Credits were refunded." if refunded else "No credits were charged.")
        body["type"] = spec.type
    else:
        body["message"] = "processing"
    return body
