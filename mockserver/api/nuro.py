"""Nuro: ``POST /api/v1/nuro/create`` and ``GET /api/v1/nuro/task/{task_id}``.

Retired: 410 Gone by default. ``legacy`` mode serves the documented behaviour; a sunset instant
serves it (with ``Deprecation``/``Sunset`` headers) until that instant on the virtual clock.
"""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import orjson
from starlette.responses import Response

from mockserver.errors import CATALOG, MockError, nuro_gone_message
from mockserver.http import Call, Handler, JSONResponse
from mockserver.nuro import task_body

SUCCESSORS = {"vocal": "/api/v1/sonic/create", "bgm": "/api/v1/producer/create"}


def _deprecation_headers(call: Call, kind: str | None) -> dict[str, str]:
    mode = call.state.config.nuro
    if mode.sunset_at is None:
        return {}
    base = str(call.request.base_url).rstrip("/")
    targets = [SUCCESSORS[kind]] if kind in SUCCESSORS else list(SUCCESSORS.values())
    return {
        "Deprecation": f"@{int(mode.sunset_at)}",
        "Sunset": formatdate(mode.sunset_at, usegmt=True),
        "Link": ", ".join(f'<{base}{target}>; rel="successor-version"' for target in targets),
    }


def _gate(call: Call, kind: str | None) -> dict[str, str]:
    """Raise 410 once Nuro is gone; otherwise the headers a successful answer carries."""
    mode = call.state.config.nuro
    headers = _deprecation_headers(call, kind)
    if mode.sunset_at is not None and call.state.clock.now() >= mode.sunset_at:
        raise MockError(CATALOG["nuro.gone"], nuro_gone_message(kind), headers=headers)
    return headers


async def _kind_hint(call: Call) -> str | None:
    """The ``type`` of a create body, read leniently (only to word the 410 message)."""
    try:
        data: Any = orjson.loads(await call.raw_bytes())
    except (orjson.JSONDecodeError, MockError):
        return None
    kind = data.get("type") if isinstance(data, dict) else None
    return kind if kind in SUCCESSORS else None


async def create(call: Call) -> Response:
    """Create a vocal or bgm task."""
    state = call.state
    headers = _gate(call, await _kind_hint(call) if state.config.nuro.kind != "legacy" else None)
    api_key = call.api_key()
    body, schema = await call.body()
    violations = state.nuro.cross_field_violations(body)
    if violations:
        raise MockError(CATALOG["request.validation"], "; ".join(map(str, violations)))
    state.nuro.check_language(body)
    task = state.new_task("nuro", api_key, lambda task_id: state.nuro.result_for(task_id, body, schema))
    return JSONResponse({"message": "success", "task_id": task.id}, headers=headers)


async def get_task(call: Call) -> Response:
    """Read a task as it is at this instant."""
    state = call.state
    headers = _gate(call, None)
    api_key = call.api_key()
    task_id = call.request.path_params["task_id"]
    task = state.store.get_task(task_id)
    if task is None or task.family != "nuro" or task.api_key != api_key:
        raise MockError(CATALOG["nuro.task_not_found"])
    audio_url = f"{str(call.request.base_url).rstrip('/')}/cdn/audio/{task.id}.wav"
    return JSONResponse(task_body(task, state.clock.now(), audio_url), headers=headers)


def handlers() -> dict[str, Handler]:
    """The Nuro handlers by operationId."""
    return {"nuroCreate": create, "nuroGetTask": get_task}
