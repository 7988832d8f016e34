"""Producer (create, poll) and Studio, which the docs mark unavailable."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mockserver import producer, service
from mockserver.config import format_instant
from mockserver.errors import CATALOG, MockError
from mockserver.http import Call, Handler, JSONResponse
from mockserver.tasks import Clip, Task

FAMILY = "producer"


def _texts(body: Any) -> list[Any]:
    return [body.get("sound"), body.get("lyrics"), body.get("title")] if isinstance(body, dict) else []


async def create(call: Call) -> Response:
    """``POST /api/v1/producer/create``."""
    state = call.state
    api_key = call.api_key()
    service.authenticate(state, FAMILY, api_key, state.clock.now())
    raw = await call.raw_json()
    forced = service.forced_error(state, call.op.operation_id, api_key, call.request.headers, _texts(raw))
    service.raise_gateway(forced)
    body, _ = await call.body()
    state.producer.check_create(body)

    def created(task: Task) -> None:
        clip = Clip(task.result["clip_id"], api_key, task.created_at, task.result["duration"], "generated", task.id)
        state.store.put_clip(clip)
        state.webhooks.watch(task, body, "producer", call.base_url)

    task = service.create_task(
        state,
        family=FAMILY,
        operation_id=call.op.operation_id,
        api_key=api_key,
        forced=forced,
        # the clip id is drawn inside the create's transaction, with the task id
        result_for=lambda task_id: state.producer.result_for(task_id, state.ids.new_id(), body),
        on_created=created,
    )
    return JSONResponse({"message": "success", "task_id": task.id})


async def get_task(call: Call) -> Response:
    """``GET /api/v1/producer/task/{task_id}``."""
    task, refund = call.read_task(FAMILY)
    return JSONResponse(
        producer.task_body(task, call.state.clock.now(), call.base_url, refund, format_instant(task.created_at))
    )


async def studio(call: Call) -> Response:
    """Studio: documented as unavailable; it answers so, whoever asks."""
    raise MockError(CATALOG["studio.unavailable"])


def handlers() -> dict[str, Handler]:
    """The Producer and Studio handlers by operationId."""
    return {"producerCreate": create, "producerGetTask": get_task, "studioCreate": studio, "studioGetTask": studio}
