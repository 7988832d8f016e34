"""Sonic: create (every task type), task polling, upload, persona and lyrics."""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response

from mockserver import service, sonic
from mockserver.config import format_instant
from mockserver.errors import CATALOG, MockError
from mockserver.http import Call, Handler, JSONResponse
from mockserver.tasks import Clip, Persona, Task

FAMILY = "sonic"
#: A persona must be made from a clip of the last 24 hours (reference §2.4, [D-persona]).
PERSONA_WINDOW = 24 * 3600.0


def _texts(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        return []
    return [body.get(k) for k in ("prompt", "gpt_description_prompt", "tags", "title", "description", "name")]


async def _start(call: Call, *, billable: bool = True) -> tuple[str, Any]:
    """Auth, triggers and validation common to every Sonic call; the key and the validated body."""
    state = call.state
    api_key = call.api_key()
    service.authenticate(state, FAMILY, api_key, state.clock.now())
    raw = await call.raw_json()
    forced = service.forced_error(state, call.op.operation_id, api_key, call.request.headers, _texts(raw))
    (service.raise_gateway if billable else service.raise_forced)(forced)
    body, _ = await call.body()
    call.request.state.forced = forced
    return api_key, body


async def create(call: Call) -> Response:
    """``POST /api/v1/sonic/create``: two clips per task."""
    state = call.state
    api_key, body = await _start(call)
    now = state.clock.now()
    state.sonic.check_create(body, api_key, state.store, now)

    def result_for(task_id: str) -> dict[str, Any]:
        clip_ids = [state.ids.new_id() for _ in range(sonic.CLIPS_PER_TASK)]  # inside the create's transaction
        return state.sonic.result_for(task_id, body, state.store, api_key, now, clip_ids)

    def created(task: Task) -> None:
        sonic.register_clips(state.store, task)
        state.webhooks.watch(task, body, "suno", call.base_url)

    task = service.create_task(
        state,
        family=FAMILY,
        operation_id=call.op.operation_id,
        api_key=api_key,
        forced=call.request.state.forced,
        result_for=result_for,
        cost=state.config.cost(call.op.operation_id, state.sonic.cost_variant(body)),
        on_created=created,
    )
    return JSONResponse({"message": "success", "task_id": task.id})


async def get_task(call: Call) -> Response:
    """``GET /api/v1/sonic/task/{task_id}``: not ready first, then the two clips."""
    state = call.state
    task, refund = call.read_task(FAMILY)
    body = sonic.task_body(task, state.clock.now(), call.base_url, refund, format_instant(task.created_at))
    if body is None:
        status = state.config.sonic_not_ready_status
        return JSONResponse({"type": "not_ready", "error": sonic.NOT_READY_TEXT, "code": 202}, status_code=status)
    return JSONResponse(body)


def _public(url: str) -> bool:
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


async def upload(call: Call) -> Response:
    """``POST /api/v1/sonic/upload``: a clip id for an audio URL (never fetched: the mock stays offline)."""
    state = call.state
    api_key, body = await _start(call)
    url = str(body["url"])
    if not _public(url):
        raise MockError(CATALOG["sonic.url_not_accessible"])
    # The clip's length is derived from the URL (docs: uploads are 6-60 s long).
    seconds = 6 + int.from_bytes(hashlib.blake2b(url.encode(), digest_size=4).digest(), "big") % 5400 / 100

    def register(clip_id: str, charged: tuple[int, int]) -> str:
        state.store.put_clip(Clip(clip_id, api_key, state.clock.now(), round(seconds, 2), "uploaded"))
        return clip_id

    clip_id = service.billed(
        state,
        family=FAMILY,
        operation_id=call.op.operation_id,
        api_key=api_key,
        forced=call.request.state.forced,
        work=register,
        queued=False,
    )
    return JSONResponse({"code": 200, "clip_id": clip_id, "message": "success"})


async def persona(call: Call) -> Response:
    """``POST /api/v1/sonic/persona``: a persona from a recent, finished clip of the same key."""
    state = call.state
    api_key, body = await _start(call)
    now = state.clock.now()
    clip = sonic.usable_clip(state.store, str(body.get("continue_clip_id") or body.get("clip_id")), api_key, now)
    if now - clip.created_at > PERSONA_WINDOW:
        raise MockError(CATALOG["sonic.clip_too_old"])

    def make(ref_id: str, charged: tuple[int, int]) -> str:
        persona_id = f"persona-{ref_id}"
        state.store.put_persona(Persona(persona_id, api_key, str(body["name"]), clip.clip_id, now))
        return persona_id

    persona_id = service.billed(
        state,
        family=FAMILY,
        operation_id=call.op.operation_id,
        api_key=api_key,
        forced=call.request.state.forced,
        work=make,
        queued=False,
    )
    return JSONResponse({"code": 200, "persona_id": persona_id, "message": "success"})


async def lyrics(call: Call) -> Response:
    """``POST /api/v1/sonic/lyrics``: two lyrics for a description (free)."""
    _, body = await _start(call, billable=False)
    topic = str(body["description"]).strip()
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
    return JSONResponse({"code": 200, "results": results, "message": "success"})


def handlers() -> dict[str, Handler]:
    """The Sonic handlers by operationId."""
    return {
        "sonicCreate": create,
        "sonicGetTask": get_task,
        "sonicUpload": upload,
        "sonicPersona": persona,
        "sonicLyrics": lyrics,
    }
