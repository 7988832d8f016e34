"""Media: the WAV behind every ``audio_url``, synthesized on demand with HTTP Range support."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.responses import Response, StreamingResponse

from mockserver import audio
from mockserver.errors import CATALOG, MockError
from mockserver.http import Call, Handler
from mockserver.tasks import Status

NOT_FOUND = CATALOG["request.route_not_found"]


async def _stream(tune: audio.Tune, start: int, end: int) -> AsyncIterator[bytes]:
    for chunk in audio.iter_range(tune, start, end):
        yield chunk


async def get_audio(call: Call) -> Response:
    """``GET``/``HEAD /cdn/audio/<task id>.wav``."""
    name: str = call.request.path_params["file_name"]
    task_id = name.removesuffix(".wav")
    task = call.state.store.get_task(task_id) if name.endswith(".wav") else None
    if task is None or task.view(call.state.clock.now()).status is not Status.SUCCEEDED:
        raise MockError(NOT_FOUND, f"No audio at {call.request.url.path}")
    tune = audio.Tune(task.id, float(task.result["duration"]))
    size = tune.size
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{task.id}"', "Cache-Control": "public, max-age=31536000"}
    try:
        wanted = audio.parse_range(call.request.headers.get("range"), size)
    except audio.RangeNotSatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end, status = (0, size, 200) if wanted is None else (*wanted, 206)
    headers["Content-Length"] = str(end - start)
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    if call.request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type="audio/wav")
    return StreamingResponse(_stream(tune, start, end), status_code=status, headers=headers,
                             media_type="audio/wav")


def handlers() -> dict[str, Handler]:
    """The media handlers by operationId."""
    return {"mediaGetAudio": get_audio}
