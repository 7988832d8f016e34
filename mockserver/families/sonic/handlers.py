"""Sonic: create (every task type, and the legacy ``suno`` alias), polling, uploads, persona, voice, lyrics, feed.

The tools on finished clips (wav, stems, midi, vox, bpm, download, upsample) and the generations made from
clips (sample, mashup, replace-section) are in :mod:`.tool_handlers`; this class mixes them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from starlette.responses import Response

from mockserver.engine.billing import charge
from mockserver.engine.records import Clip, Persona
from mockserver.engine.tasks import read_task, start_task
from mockserver.families.sonic import clips, rules, tools
from mockserver.families.sonic.core import NAME
from mockserver.families.sonic.tool_handlers import SonicTools
from mockserver.http.call import Call, Handler
from mockserver.http.responses import JSONResponse


class SonicHandlers(SonicTools):
    """The Sonic operations over the mock's context, rules, webhook dispatcher and upload probe."""

    def routes(self) -> Mapping[str, Handler]:
        """The handlers by operationId."""
        return {
            "sonicCreate": self.create,
            "sunoCreate": self.create,
            "sonicGetTask": self.get_task,
            "sunoGetTask": self.get_task,
            "sonicUpload": self.upload,
            "sonicUploadCover": self.upload_cover,
            "sonicUploadExtend": self.upload_extend,
            "sonicPersona": self.persona,
            "sonicCreateVoice": self.create_voice,
            "sonicLyrics": self.lyrics,
            "sonicFeed": self.feed,
            **self.tool_routes(),
        }

    async def create(self, call: Call) -> Response:
        """``POST /api/v1/sonic/create`` (and ``/api/v1/suno/create``): two clips per task."""
        ctx = self.ctx
        begun = await self._begin(call)
        body, api_key = begun.body, begun.api_key
        self.rules.check_create(body, api_key, ctx.store, call.now)
        task_type = str(body.get("task_type", "create_music"))
        variant = self.rules.cost_variant(body)
        with charge(ctx, self.errors, call.op.operation_id, api_key, forced=begun.forced, variant=variant) as paid:
            needs = self.rules.needs_source(task_type)
            source = self.rules.source_clip(body, api_key, ctx.store, paid.now) if needs else None
            task = self._generate(call, paid, body, source=source, task_type=task_type)
        return JSONResponse({"message": "success", "task_id": task.id})

    async def get_task(self, call: Call) -> Response:
        """``GET /api/v1/sonic/task/{task_id}``: not ready first, then the clips."""
        begun = await self._begin(call, billable=False)
        errors = self.errors
        if self.ctx.config.sonic_task_not_found_status == 404:
            errors = replace(errors, task_not_found="sonic.task_not_found_404")
        task, refund = read_task(self.ctx, errors, NAME, begun.api_key, call.path_param("task_id"))
        body = clips.task_body(task, call.now, call.base_url, refund)
        if body is None:
            return JSONResponse(dict(clips.NOT_READY_BODY), status_code=self.ctx.config.sonic_not_ready_status)
        return JSONResponse(body)

    async def upload(self, call: Call) -> Response:
        """``POST /api/v1/sonic/upload``: a clip id at once, or (``callback_url``) a task whose result is sent there."""
        ctx = self.ctx
        begun = await self._begin(call)
        url, callback = str(begun.body["url"]), begun.body.get("callback_url")
        await self._check_upload_url(url)
        op = call.op.operation_id
        with charge(ctx, self.errors, op, begun.api_key, forced=begun.forced, queued=bool(callback)) as paid:
            if not callback:
                clip = Clip(paid.ref_id, begun.api_key, paid.now, tools.upload_length(url), "uploaded")
                ctx.store.put_clip(clip)
            else:
                described = clips.uploaded(ctx.ids.new_id(), tools.upload_length(url))
                result = {"kind": "sonic", "task_type": "upload", "clips": [described]}
                task = start_task(ctx, paid, family=NAME, timing=self._quick(), result=result)
                clips.register_clips(ctx.store, task)
                self.webhooks.watch(task, {"webhook_url": callback}, call.base_url)
        if not callback:
            return JSONResponse({"code": 200, "clip_id": clip.clip_id, "message": "success"})
        return JSONResponse({"code": 200, "task_id": task.id, "message": "success"})

    async def _upload_then(self, call: Call, task_type: str, step: str) -> Response:
        """Upload the body's ``url``, then start a ``task_type`` task on the uploaded clip, in one charge."""
        ctx = self.ctx
        begun = await self._begin(call)
        body, api_key = begun.body, begun.api_key
        await self._check_upload_url(str(body["url"]))
        self.rules.check_create({**body, "task_type": "create_music"}, api_key, ctx.store, call.now)
        variant = "v3" if rules.older_custom(body) else None
        op = call.op.operation_id
        with charge(ctx, self.errors, op, api_key, forced=begun.forced, variant=variant) as paid:
            source = self._upload(paid, api_key, str(body["url"]))
            derived = {**body, "task_type": task_type, "continue_clip_id": source.clip_id}
            task = self._generate(call, paid, derived, source=source, task_type=task_type)
        steps = {
            "upload": {"clip_id": source.clip_id, "status": "succeeded"},
            step: {"task_id": task.id, "status": "submitted"},
        }
        return JSONResponse({"code": 200, "message": "success", "task_id": task.id, "steps": steps})

    async def upload_cover(self, call: Call) -> Response:
        """``POST /api/v1/sonic/upload-cover``: upload, then ``cover_upload_music`` on it."""
        return await self._upload_then(call, "cover_upload_music", "cover")

    async def upload_extend(self, call: Call) -> Response:
        """``POST /api/v1/sonic/upload-extend``: upload, then ``extend_upload_music`` from ``continue_at``."""
        return await self._upload_then(call, "extend_upload_music", "extend")

    async def persona(self, call: Call) -> Response:
        """``POST /api/v1/sonic/persona``: a persona from a recent, finished clip of the same key."""
        ctx = self.ctx
        begun = await self._begin(call)
        body, api_key = begun.body, begun.api_key
        clip_id = str(body.get("continue_clip_id") or body.get("clip_id"))
        clip = clips.recent_clip(ctx.store, clip_id, api_key, call.now)
        op = call.op.operation_id
        with charge(ctx, self.errors, op, api_key, forced=begun.forced, queued=False) as paid:
            persona = Persona(f"persona-{paid.ref_id}", api_key, str(body["name"]), clip.clip_id, paid.now)
            ctx.store.put_persona(persona)
        return JSONResponse({"code": 200, "persona_id": persona.persona_id, "message": "success"})

    async def create_voice(self, call: Call) -> Response:
        """``POST /api/v1/sonic/create-voice``: a task whose result is a voice persona (usable once it finishes)."""
        ctx = self.ctx
        begun = await self._begin(call)
        body, api_key = begun.body, begun.api_key
        await self._check_upload_url(str(body["url"]))
        with charge(ctx, self.errors, call.op.operation_id, api_key, forced=begun.forced) as paid:
            persona_id = f"persona-{paid.ref_id}"
            ctx.store.put_persona(Persona(persona_id, api_key, str(body["name"]), "", paid.now))
            ctx.store.put_ref(f"voice/{persona_id}", paid.ref_id)
            result = {"kind": "voice", "persona_id": persona_id, "name": str(body["name"])}
            task = start_task(ctx, paid, family=NAME, timing=self._quick(), result=result)
            self.webhooks.watch(task, body, call.base_url)
        return JSONResponse({"message": "success", "task_id": task.id})

    async def lyrics(self, call: Call) -> Response:
        """``POST /api/v1/sonic/lyrics``: two lyrics for a description (free)."""
        begun = await self._begin(call, billable=False)
        results = tools.lyrics_for(str(begun.body["description"]))
        return JSONResponse({"code": 200, "results": results, "message": "success"})

    async def feed(self, call: Call) -> Response:
        """``GET /api/v1/sonic/feed``: the caller's recent clips, newest first (free)."""
        begun = await self._begin(call, billable=False)
        size, page = call.query_int("page_size"), call.query_int("page")
        store, now = self.ctx.store, call.now
        mine = store.clips_of(begun.api_key, size, (page - 1) * size)
        data = [item for clip in mine if (item := clips.feed_item(store, clip, now, call.base_url)) is not None]
        return JSONResponse({"code": 200, "message": "success", "page": page, "page_size": size, "data": data})
