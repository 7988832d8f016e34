"""``/cdn/*``: the files behind every media URL the mock hands out, with HTTP Range and ``HEAD``.

Audio as WAV (synthesized in slices, never whole), MP3 or M4A; a clip's stems (WAV); its MIDI
transcription; a video of a Producer song; cover images. All deterministic from the clip id.

Which media exist is asked of the families through :class:`~mockserver.engine.family.Family`: a clip's file
exists once its family says the clip succeeded; a task's own file once its family says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping

from starlette.responses import Response, StreamingResponse

from mockserver.catalog import CATALOG
from mockserver.engine.context import Context
from mockserver.engine.family import Family
from mockserver.engine.records import Status
from mockserver.errors import MockError
from mockserver.http.call import Call, Handler
from mockserver.media.cache import EncodedCache
from mockserver.synth import audio, encode, images, midi

NOT_FOUND = CATALOG["request.route_not_found"]


async def _stream(tune: audio.Tune, start: int, end: int) -> AsyncIterator[bytes]:
    for chunk in audio.iter_range(tune, start, end):
        yield chunk


#: Media types of the encoded files, by suffix.
ENCODED = {".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".mp4": "video/mp4", ".mid": "audio/midi"}
CACHE_HEADERS = {"Cache-Control": "public, max-age=31536000"}


class MediaHandlers:
    """The ``/cdn`` handlers, over the store and the families that say which media exist."""

    def __init__(self, ctx: Context, families: Mapping[str, Family], stems: Collection[str]) -> None:
        self.ctx = ctx
        self.families = families
        self.stems = frozenset(stems)
        self.cache = EncodedCache()

    def routes(self) -> Mapping[str, Handler]:
        """The handlers by operationId."""
        return {
            "mediaGetAudio": self.get_audio,
            "mediaGetImage": self.get_image,
            "mediaGetStem": self.get_stem,
            "mediaGetMidi": self.get_midi,
            "mediaGetVideo": self.get_video,
        }

    def _media(self, call: Call, media_id: str) -> tuple[str, float]:
        """The id and duration behind a media id: a finished clip, or a finished task's own audio."""
        store, now = self.ctx.store, call.now
        missing = MockError(NOT_FOUND, f"No media at {call.request.url.path}")
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

    @staticmethod
    def _split(call: Call, suffixes: Collection[str]) -> tuple[str, str]:
        name = call.path_param("file_name")
        for suffix in suffixes:
            if name.endswith(suffix) and len(name) > len(suffix):
                return name.removesuffix(suffix), suffix
        raise MockError(NOT_FOUND, f"No media at {call.request.url.path}")

    async def get_image(self, call: Call) -> Response:
        """``GET /cdn/image/<clip id>.png``: the clip's cover."""
        media_id, _ = self._media(call, self._split(call, (".png",))[0])
        return Response(images.cover_png(media_id), media_type="image/png", headers=CACHE_HEADERS)

    async def get_audio(self, call: Call) -> Response:
        """``GET``/``HEAD /cdn/audio/<clip or task id>.wav|.mp3|.m4a``."""
        media_id, suffix = self._split(call, (".wav", ".mp3", ".m4a"))
        media_id, duration = self._media(call, media_id)
        tune = audio.Tune(media_id, duration)
        if suffix == ".wav":
            return _wav(call, tune, media_id)
        encoder = encode.mp3 if suffix == ".mp3" else encode.m4a
        data = await self.cache.get(f"{media_id}{suffix}/{duration}", lambda: encoder(tune))
        return _ranged(call, data, ENCODED[suffix], f"{media_id}{suffix}")

    async def get_stem(self, call: Call) -> Response:
        """``GET``/``HEAD /cdn/stems/<clip id>/<stem>.wav``: one stem of a finished clip."""
        stem, _ = self._split(call, (".wav",))
        if stem not in self.stems:
            raise MockError(NOT_FOUND, f"No media at {call.request.url.path}")
        clip_id, duration = self._media(call, call.path_param("clip_id"))
        return _wav(call, audio.Tune(f"{clip_id}/{stem}", duration), f"{clip_id}-{stem}")

    async def get_midi(self, call: Call) -> Response:
        """``GET /cdn/midi/<clip id>.mid``: the clip's MIDI transcription."""
        media_id, duration = self._media(call, self._split(call, (".mid",))[0])
        tune = audio.Tune(media_id, duration)
        data = await self.cache.get(f"{media_id}.mid/{duration}", lambda: midi.midi_file(tune))
        return _ranged(call, data, ENCODED[".mid"], f"{media_id}.mid")

    async def get_video(self, call: Call) -> Response:
        """``GET``/``HEAD /cdn/video/<clip id>.mp4``: the song over its cover."""
        media_id, duration = self._media(call, self._split(call, (".mp4",))[0])
        tune = audio.Tune(media_id, duration)
        data = await self.cache.get(f"{media_id}.mp4/{duration}", lambda: encode.mp4(tune, media_id))
        return _ranged(call, data, ENCODED[".mp4"], f"{media_id}.mp4")


def _byte_range(call: Call, size: int, headers: dict[str, str]) -> tuple[int, int, int] | Response:
    """``(start, end, status)`` of the requested range, or the 416 answer."""
    try:
        wanted = audio.parse_range(call.request.headers.get("range"), size)
    except audio.RangeNotSatisfiable:
        raise MockError(
            CATALOG["request.range_not_satisfiable"],
            f"Range not satisfiable: the file has {size} bytes",
            headers={**headers, "Content-Range": f"bytes */{size}"},
        ) from None
    start, end, status = (0, size, 200) if wanted is None else (*wanted, 206)
    headers["Content-Length"] = str(end - start)
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return start, end, status


def _wav(call: Call, tune: audio.Tune, etag: str) -> Response:
    """A synthesized WAV, streamed in slices (never whole in memory)."""
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{etag}"', **CACHE_HEADERS}
    span = _byte_range(call, tune.size, headers)
    if isinstance(span, Response):
        return span
    start, end, status = span
    if call.request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type="audio/wav")
    return StreamingResponse(_stream(tune, start, end), status_code=status, headers=headers, media_type="audio/wav")


def _ranged(call: Call, data: bytes, media_type: str, etag: str) -> Response:
    """An encoded file (from the cache), whole or a byte range."""
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{etag}"', **CACHE_HEADERS}
    span = _byte_range(call, len(data), headers)
    if isinstance(span, Response):
        return span
    start, end, status = span
    content = b"" if call.request.method == "HEAD" else data[start:end]
    response = Response(content, status_code=status, headers=headers, media_type=media_type)
    response.headers["Content-Length"] = str(end - start)
    return response
