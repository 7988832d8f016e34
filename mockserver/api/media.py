"""Media: the WAV behind every ``audio_url``, synthesized on demand with HTTP Range support."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.responses import Response, StreamingResponse

from mockserver import audio, images, sonic
from mockserver.errors import CATALOG, MockError
from mockserver.http import Call, Handler
from mockserver.tasks import Status, Task

NOT_FOUND = CATALOG["request.route_not_found"]


async def _stream(tune: audio.Tune, start: int, end: int) -> AsyncIterator[bytes]:
    for chunk in audio.iter_range(tune, start, end):
        yield chunk


def _media(call: Call, suffix: str) -> tuple[str, float]:
    """The id and duration behind a media file name: a finished Nuro task, or a finished clip."""
    name: str = call.request.path_params["file_name"]
    media_id = name.removesuffix(suffix)
    store, now = call.state.store, call.state.clock.now()
    missing = MockError(NOT_FOUND, f"No media at {call.request.url.path}")
    if not name.endswith(suffix):
        raise missing
    clip = store.get_clip(media_id)
    if clip is not None:
        task = store.get_task(clip.task_id) if clip.task_id else None
        if clip.task_id is not None and (task is None or _clip_status(task, clip.index, now) is not Status.SUCCEEDED):
            raise missing
        return clip.clip_id, clip.duration
    task = store.get_task(media_id)
    if task is None or task.family != "nuro" or task.view(now).status is not Status.SUCCEEDED:
        raise missing
    return task.id, float(task.result["duration"])


def _clip_status(task: Task, index: int, now: float) -> Status:
    if task.family == "sonic":
        return sonic.clip_status(task, index, now)
    return task.view(now).status


async def get_image(call: Call) -> Response:
    """``GET /cdn/image/<clip id>.png``: the clip's cover."""
    media_id, _ = _media(call, ".png")
    return Response(
        images.cover_png(media_id), media_type="image/png", headers={"Cache-Control": "public, max-age=31536000"}
    )


async def get_audio(call: Call) -> Response:
    """``GET``/``HEAD /cdn/audio/<task or clip id>.wav``."""
    media_id, duration = _media(call, ".wav")
    tune = audio.Tune(media_id, duration)
    size = tune.size
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{media_id}"', "Cache-Control": "public, max-age=31536000"}
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
    return StreamingResponse(_stream(tune, start, end), status_code=status, headers=headers, media_type="audio/wav")


def handlers() -> dict[str, Handler]:
    """The media handlers by operationId."""
    return {"mediaGetAudio": get_audio, "mediaGetImage": get_image}
