"""``/cdn/*``: the WAV behind every ``audio_url`` (with HTTP Range) and the PNG behind every ``image_url``.

Which media exist is asked of the families through :class:`~mockserver.engine.family.Family`: a clip's file
exists once its family says the clip succeeded; a task's own file once its family says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from starlette.responses import Response, StreamingResponse

from mockserver.catalog import CATALOG
from mockserver.engine.context import Context
from mockserver.engine.family import Family
from mockserver.engine.records import Status
from mockserver.errors import MockError
from mockserver.http.call import Call, Handler
from mockserver.media import audio, images

NOT_FOUND = CATALOG["request.route_not_found"]


async def _stream(tune: audio.Tune, start: int, end: int) -> AsyncIterator[bytes]:
    for chunk in audio.iter_range(tune, start, end):
        yield chunk


class MediaHandlers:
    """The ``/cdn`` handlers, over the store and the families that say which media exist."""

    def __init__(self, ctx: Context, families: Mapping[str, Family]) -> None:
        self.ctx = ctx
        self.families = families

    def routes(self) -> Mapping[str, Handler]:
        """The handlers by operationId."""
        return {"mediaGetAudio": self.get_audio, "mediaGetImage": self.get_image}

    def _media(self, call: Call, suffix: str) -> tuple[str, float]:
        """The id and duration behind a media file name: a finished clip, or a finished task's own audio."""
        name = call.path_param("file_name")
        media_id = name.removesuffix(suffix)
        store, now = self.ctx.store, call.now
        missing = MockError(NOT_FOUND, f"No media at {call.request.url.path}")
        if not name.endswith(suffix):
            raise missing
        clip = store.get_clip(media_id)
        if clip is not None:
            if clip.task_id is not None:
                task = store.get_task(clip.task_id)
                family = self.families.get(task.family) if task is not None else None
                if task is None or family is None or family.clip_status(task, clip.index, now) is not Status.SUCCEEDED:
                    raise missing
            return clip.clip_id, clip.duration
        task = store.get_task(media_id)
        family = self.families.get(task.family) if task is not None else None
        duration = family.task_audio(task, now) if task is not None and family is not None else None
        if duration is None:
            raise missing
        return media_id, duration

    async def get_image(self, call: Call) -> Response:
        """``GET /cdn/image/<clip id>.png``: the clip's cover."""
        media_id, _ = self._media(call, ".png")
        return Response(
            images.cover_png(media_id), media_type="image/png", headers={"Cache-Control": "public, max-age=31536000"}
        )

    async def get_audio(self, call: Call) -> Response:
        """``GET``/``HEAD /cdn/audio/<task or clip id>.wav``."""
        media_id, duration = self._media(call, ".wav")
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
