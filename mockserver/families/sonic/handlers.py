"""Sonic: create (every task type), task polling, upload, persona and lyrics."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from mockserver.catalog import CATALOG
from mockserver.clock import format_instant
from mockserver.engine.billing import charge
from mockserver.engine.records import Clip, Persona
from mockserver.engine.tasks import read_task, start_task
from mockserver.errors import MockError
from mockserver.families.entry import FamilyHandlers
from mockserver.families.sonic import rules
from mockserver.families.sonic.rules import SonicRules
from mockserver.http.call import Call, Handler
from mockserver.http.responses import JSONResponse

NAME = "sonic"


class SonicHandlers(FamilyHandlers[SonicRules]):
    """The Sonic operations over the mock's context, rules and webhook dispatcher."""

    def routes(self) -> Mapping[str, Handler]:
        """The handlers by operationId."""
        return {
            "sonicCreate": self.create,
            "sonicGetTask": self.get_task,
            "sonicUpload": self.upload,
            "sonicPersona": self.persona,
            "sonicLyrics": self.lyrics,
        }

    async def create(self, call: Call) -> Response:
        """``POST /api/v1/sonic/create``: two clips per task."""
        ctx = self.ctx
        begun = await call.begin(self.errors, texts=rules.texts)
        body, api_key = begun.body, begun.api_key
        self.rules.check_create(body, api_key, ctx.store, call.now)
        variant = self.rules.cost_variant(body)
        with charge(ctx, self.errors, call.op.operation_id, api_key, forced=begun.forced, variant=variant) as paid:
            clip_ids = [ctx.ids.new_id() for _ in range(rules.CLIPS_PER_TASK)]
            result = self.rules.result_for(paid.ref_id, body, ctx.store, api_key, paid.now, clip_ids)
            task = start_task(ctx, paid, family=NAME, timing=self.timing, result=result)
            rules.register_clips(ctx.store, task)
            self.webhooks.watch(task, body, call.base_url)
        return JSONResponse({"message": "success", "task_id": task.id})

    async def get_task(self, call: Call) -> Response:
        """``GET /api/v1/sonic/task/{task_id}``: not ready first, then the two clips."""
        begun = await call.begin(self.errors, billable=False)
        task, refund = read_task(self.ctx, self.errors, NAME, begun.api_key, call.path_param("task_id"))
        body = rules.task_body(task, call.now, call.base_url, refund, format_instant(task.created_at))
        if body is None:
            return JSONResponse(dict(rules.NOT_READY_BODY), status_code=self.ctx.config.sonic_not_ready_status)
        return JSONResponse(body)

    async def upload(self, call: Call) -> Response:
        """``POST /api/v1/sonic/upload``: a clip id for an audio URL (never fetched: the mock stays offline)."""
        ctx = self.ctx
        begun = await call.begin(self.errors, texts=rules.texts)
        url = str(begun.body["url"])
        if not rules.public_url(url):
            raise MockError(CATALOG["sonic.url_not_accessible"])
        op = call.op.operation_id
        with charge(ctx, self.errors, op, begun.api_key, forced=begun.forced, queued=False) as paid:
            clip = Clip(paid.ref_id, begun.api_key, paid.now, rules.upload_length(url), "uploaded")
            ctx.store.put_clip(clip)
        return JSONResponse({"code": 200, "clip_id": clip.clip_id, "message": "success"})

    async def persona(self, call: Call) -> Response:
        """``POST /api/v1/sonic/persona``: a persona from a recent, finished clip of the same key."""
        ctx = self.ctx
        begun = await call.begin(self.errors, texts=rules.texts)
        body, api_key = begun.body, begun.api_key
        clip_id = str(body.get("continue_clip_id") or body.get("clip_id"))
        clip = rules.persona_source(ctx.store, clip_id, api_key, call.now)
        op = call.op.operation_id
        with charge(ctx, self.errors, op, api_key, forced=begun.forced, queued=False) as paid:
            persona = Persona(f"persona-{paid.ref_id}", api_key, str(body["name"]), clip.clip_id, paid.now)
            ctx.store.put_persona(persona)
        return JSONResponse({"code": 200, "persona_id": persona.persona_id, "message": "success"})

    async def lyrics(self, call: Call) -> Response:
        """``POST /api/v1/sonic/lyrics``: two lyrics for a description (free)."""
        begun = await call.begin(self.errors, texts=rules.texts, billable=False)
        results = rules.lyrics_for(str(begun.body["description"]))
        return JSONResponse({"code": 200, "results": results, "message": "success"})
