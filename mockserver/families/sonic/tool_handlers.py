"""Sonic tools on finished clips (wav, stems, midi, vox, bpm, download, upsample-tags) and the generations
made from clips (sample, mashup, replace-section)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from mockserver.catalog import CATALOG
from mockserver.engine.billing import charge
from mockserver.engine.records import Clip, Status
from mockserver.engine.settlement import settle_task
from mockserver.engine.tasks import start_task
from mockserver.engine.triggers import raise_forced
from mockserver.errors import MockError
from mockserver.families.sonic import clips, rules, tools
from mockserver.families.sonic.core import NAME, SonicCore
from mockserver.http.call import Call, Handler
from mockserver.http.responses import JSONResponse

#: Seconds of a clip a sample takes when the body gives no end.
SAMPLE_SECONDS = 30.0


class SonicTools(SonicCore):
    """The Sonic operations on finished clips."""

    def tool_routes(self) -> Mapping[str, Handler]:
        """The tool handlers by operationId."""
        return {
            "sonicWav": self.wav,
            "sonicStemsBasic": self.stems,
            "sonicStemsFull": self.stems,
            "sonicMidi": self.midi,
            "sonicVox": self.vox,
            "sonicBpm": self.bpm,
            "sonicDownload": self.download,
            "sonicUpsampleTags": self.upsample_tags,
            "sonicSample": self.sample,
            "sonicMashup": self.mashup,
            "sonicReplaceSection": self.replace_section,
        }

    async def _clip_tool(self, call: Call, answer: Callable[[Clip], Mapping[str, Any]]) -> Response:
        """A billed, synchronous tool on one finished clip of the caller: ``{code, message, data}``."""
        ctx = self.ctx
        begun = await self._begin(call)
        clip_id, api_key = str(begun.body["clip_id"]), begun.api_key
        clips.usable_clip(ctx.store, clip_id, api_key, call.now)
        op = call.op.operation_id
        with charge(ctx, self.errors, op, api_key, forced=begun.forced, queued=False) as paid:
            data = answer(clips.usable_clip(ctx.store, clip_id, api_key, paid.now))
        return JSONResponse({"code": 200, "message": "success", "data": data})

    async def wav(self, call: Call) -> Response:
        """``POST /api/v1/sonic/wav``: ``data.wav_url``."""
        return await self._clip_tool(
            call, lambda clip: {"clip_id": clip.clip_id, "wav_url": f"{call.base_url}/cdn/audio/{clip.clip_id}.wav"}
        )

    async def stems(self, call: Call) -> Response:
        """``POST /api/v1/sonic/stems/basic`` and ``/stems/full``: one WAV per stem the spec names."""
        names = self.rules.stem_names(call.op.operation_id)
        return await self._clip_tool(
            call, lambda clip: {"clip_id": clip.clip_id, "stems": tools.stems(clip, names, call.base_url)}
        )

    async def midi(self, call: Call) -> Response:
        """``POST /api/v1/sonic/midi``: a Standard MIDI File and the notes per instrument."""
        return await self._clip_tool(call, lambda clip: tools.midi_of(clip, call.base_url))

    async def vox(self, call: Call) -> Response:
        """``POST /api/v1/sonic/vox``: the vocals stem."""
        return await self._clip_tool(
            call,
            lambda clip: {"clip_id": clip.clip_id, "vox_url": tools.stems(clip, ["vocals"], call.base_url)[0]["url"]},
        )

    async def bpm(self, call: Call) -> Response:
        """``POST /api/v1/sonic/bpm``: the tempo."""
        return await self._clip_tool(call, lambda clip: {"clip_id": clip.clip_id, "bpm": tools.bpm_of(clip)})

    async def download(self, call: Call) -> Response:
        """``POST /api/v1/sonic/download``: 202 while preparing (billed once), 200 with the files, 404 if gone."""
        ctx = self.ctx
        begun = await self._begin(call)
        body, api_key, now = begun.body, begun.api_key, call.now
        clip = ctx.store.get_clip(str(body["clip_id"]))
        if clip is None or clip.api_key != api_key:
            raise MockError(CATALOG["sonic.download_source_gone"])
        clips.usable_clip(ctx.store, clip.clip_id, api_key, now)
        formats = sorted(set(body["formats"]))
        ref = f"download/{api_key}/{clip.clip_id}/{','.join(formats)}"
        task_id = ctx.store.get_ref(ref)
        task = ctx.store.get_task(task_id) if task_id else None
        if task is None:
            with charge(ctx, self.errors, call.op.operation_id, api_key, forced=begun.forced, queued=False) as paid:
                source = clips.usable_clip(ctx.store, clip.clip_id, api_key, paid.now)
                result = {"kind": "download", "clip_id": source.clip_id, "formats": formats}
                task = start_task(ctx, paid, family=NAME, timing=self._quick(), result=result)
                ctx.store.put_ref(ref, task.id)
        else:
            raise_forced(begun.forced)  # a call about a download already paid for bills nothing
        view = task.view(now)
        if view.status is Status.FAILED and view.error_id is not None:
            settle_task(ctx, task, now)
            ctx.store.put_ref(ref, "")  # the next call prepares (and bills) afresh
            raise MockError(CATALOG[view.error_id])
        if view.status is not Status.SUCCEEDED:
            preparing = {"code": 202, "message": "preparing", "data": {"clip_id": clip.clip_id, "status": "preparing"}}
            return JSONResponse(preparing, status_code=202)
        files = tools.download_files(clip.clip_id, formats, call.base_url)
        return JSONResponse(
            {"code": 200, "message": "success", "data": {"clip_id": clip.clip_id, "status": "ready", "files": files}}
        )

    async def upsample_tags(self, call: Call) -> Response:
        """``POST /api/v1/sonic/upsample-tags``: richer tags (billed, synchronous)."""
        begun = await self._begin(call)
        tags = str(begun.body["tags"])
        op = call.op.operation_id
        with charge(self.ctx, self.errors, op, begun.api_key, forced=begun.forced, queued=False):
            data = {"tags": tags, "upsampled_tags": tools.upsample_tags(tags)}
        return JSONResponse({"code": 200, "message": "success", "data": data})

    @staticmethod
    def _section(body: Mapping[str, Any], clip: Clip, default_length: float | None) -> None:
        start = float(body.get("start_s") or 0.0)
        end = body.get("end_s")
        stop = float(end) if end is not None else min(clip.duration, start + (default_length or clip.duration))
        if not 0 <= start < stop <= clip.duration:
            raise MockError(CATALOG["sonic.section_invalid"])

    async def _from_clips(
        self,
        call: Call,
        task_type: str,
        ids_of: Callable[[Mapping[str, Any]], list[str]],
        *,
        keep_source: bool,
        section: float | None,
    ) -> Response:
        """A generation (two clips) made from finished clips of the caller."""
        ctx = self.ctx
        begun = await self._begin(call)
        body, api_key = begun.body, begun.api_key
        clip_ids = ids_of(body)  # distinct: the schema says so (uniqueItems)
        sources = [clips.usable_clip(ctx.store, clip_id, api_key, call.now) for clip_id in clip_ids]
        if task_type != "mashup":
            self._section(body, sources[0], section)
        self.rules.check_create({**body, "task_type": "create_music"}, api_key, ctx.store, call.now)
        variant = "v3" if rules.older_custom(body) else None
        op = call.op.operation_id
        with charge(ctx, self.errors, op, api_key, forced=begun.forced, variant=variant) as paid:
            fresh = [clips.usable_clip(ctx.store, clip_id, api_key, paid.now) for clip_id in clip_ids]
            task = self._generate(call, paid, body, source=fresh[0] if keep_source else None, task_type=task_type)
        return JSONResponse({"message": "success", "task_id": task.id})

    async def sample(self, call: Call) -> Response:
        """``POST /api/v1/sonic/sample``: a new song around a section of a clip."""
        return await self._from_clips(
            call, "sample", lambda body: [str(body["clip_id"])], keep_source=False, section=SAMPLE_SECONDS
        )

    async def mashup(self, call: Call) -> Response:
        """``POST /api/v1/sonic/mashup``: a new song from two different clips."""
        return await self._from_clips(
            call, "mashup", lambda body: [str(i) for i in body["clip_ids"]], keep_source=False, section=None
        )

    async def replace_section(self, call: Call) -> Response:
        """``POST /api/v1/sonic/replace-section``: the clip with one section made anew (same length)."""
        return await self._from_clips(
            call, "replace_section", lambda body: [str(body["clip_id"])], keep_source=True, section=None
        )
