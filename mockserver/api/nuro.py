"""Nuro: ``POST /api/v1/nuro/create`` and ``GET /api/v1/nuro/task/{task_id}``.

Retired: 410 Gone by default. ``legacy`` mode serves the documented behaviour; a sunset instant
serves it (with ``Deprecation``/``Sunset`` headers) until that instant on the virtual clock.
"""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

import orjson
from starlette.responses import Response

from mockserver import service
from mockserver.errors import CATALOG, MockError, nuro_gone_message
from mockserver.http import Call, Handler, JSONResponse
from mockserver.nuro import task_body

FAMILY = "nuro"
SUCCESSORS = {"vocal": "/api/v1/sonic/create", "bgm": "/api/v1/producer/create"}


def _deprecation_headers(call: Call, kind: str | None) -> dict[str, str]:
    mode = call.state.config.nuro
    if mode.sunset_at is None:
        return {}
    base = call.base_url
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
    return kind if isinstance(kind, str) and kind in SUCCESSORS else None


async def create(call: Call) -> Response:
    """Create a vocal or bgm task: gateway checks, debit, upstream checks, plan."""
    state = call.state
    headers = _gate(call, await _kind_hint(call) if state.config.nuro.kind != "legacy" else None)
    api_key = call.api_key()
    service.authenticate(state, FAMILY, api_key, state.clock.now())
    raw = await call.raw_json()
    forced = service.forced_error(state, call.op.operation_id, api_key, call.request.headers, state.nuro.texts(raw))
    service.raise_gateway(forced)
    body, schema = await call.body()
    violations = state.nuro.cross_field_violations(body)
    if violations:
        raise MockError(CATALOG["request.validation"], "; ".join(map(str, violations)))
    task = service.create_task(
        state,
        family=FAMILY,
        operation_id=call.op.operation_id,
        api_key=api_key,
        forced=forced,
        result_for=lambda task_id: state.nuro.result_for(task_id, body, schema),
        upstream_check=lambda: state.nuro.check_language(body),
    )
    return JSONResponse({"message": "success", "task_id": task.id}, headers=headers)


async def get_task(call: Call) -> Response:
    """Read a task as it is at this instant."""
    headers = _gate(call, None)
    task, refund = call.read_task(FAMILY)
    audio_url = f"{call.base_url}/cdn/audio/{task.id}.wav"
    return JSONResponse(task_body(task, call.state.clock.now(), audio_url, refund), headers=headers)


def handlers() -> dict[str, Handler]:
    """The Nuro handlers by operationId."""
    return {"nuroCreate": create, "nuroGetTask": get_task}
