"""Producer: create, poll, upload, download, lyrics-create and video-clip (every one a task)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from mockserver.clock import format_instant
from mockserver.engine.billing import Charge, charge
from mockserver.engine.lifecycle import Span, Timing, timing_for
from mockserver.engine.records import Clip, Task
from mockserver.engine.tasks import read_task, start_task
from mockserver.families.entry import FamilyHandlers
from mockserver.families.producer import rules
from mockserver.families.producer.rules import ProducerRules
from mockserver.families.sonic.tools import upload_length
from mockserver.families.uploads import check_upload_url
from mockserver.http.call import Begun, Call, Handler
from mockserver.http.responses import JSONResponse

NAME = "producer"
#: How long an upload, a download, lyrics or a video take in realistic time (a song takes about 30 s).
QUICK = Timing(Span(1.0, 2.0), Span(5.0, 12.0))


class ProducerHandlers(FamilyHandlers[ProducerRules]):
    """The Producer operations over the mock's context, rules, webhook dispatcher and upload probe."""

    def routes(self) -> Mapping[str, Handler]:
        """The handlers by operationId."""
        return {
            "producerCreate": self.create,
            "producerGetTask": self.get_task,
            "producerUpload": self.upload,
            "producerDownload": self.download,
            "producerLyricsCreate": self.lyrics_create,
            "producerVideoClip": self.video_clip,
        }

    async def _begin(self, call: Call) -> Begun:
        return await call.begin(self.errors, texts=rules.texts)

    def _start(
        self, call: Call, paid: Charge, body: Mapping[str, Any], result: Mapping[str, Any], *, quick: bool = True
    ) -> Task:
        """Plan the task ``paid`` pays for, register the clip it yields, and watch it for webhooks."""
        ctx = self.ctx
        timing = timing_for(ctx.config.clock, QUICK) if quick else self.timing
        task = start_task(ctx, paid, family=NAME, timing=timing, result=result)
        if result["task_type"] in ("create_music", "upload"):
            kind = "uploaded" if result["task_type"] == "upload" else "generated"
            ctx.store.put_clip(
                Clip(result["clip_id"], paid.api_key, task.created_at, result["duration"], kind, task.id)
            )
        self.webhooks.watch(task, body, call.base_url)
        return task

    async def create(self, call: Call) -> Response:
        """``POST /api/v1/producer/create``: one song per task."""
        ctx = self.ctx
        begun = await self._begin(call)
        body, api_key = begun.body, begun.api_key
        self.rules.check_create(body)
        with charge(ctx, self.errors, call.op.operation_id, api_key, forced=begun.forced) as paid:
            # the clip id is drawn inside the create's transaction, with the task id
            result = self.rules.result_for(paid.ref_id, ctx.ids.new_id(), body)
            task = self._start(call, paid, body, result, quick=False)
        return JSONResponse({"message": "success", "task_id": task.id})

    async def get_task(self, call: Call) -> Response:
        """``GET /api/v1/producer/task/{task_id}``: the top-level status, then ``data[]`` by task type."""
        begun = await call.begin(self.errors, billable=False)
        task, refund = read_task(self.ctx, self.errors, NAME, begun.api_key, call.path_param("task_id"))
        not_ready = self.ctx.config.producer_not_ready_status
        if not_ready is not None and not task.view(call.now).status.terminal:
            return JSONResponse(dict(rules.NOT_READY_BODY), status_code=not_ready)
        created = format_instant(task.created_at)
        return JSONResponse(rules.task_body(task, call.now, call.base_url, refund, created))

    async def upload(self, call: Call) -> Response:
        """``POST /api/v1/producer/upload``: a task whose result is the uploaded clip."""
        ctx = self.ctx
        begun = await self._begin(call)
        url = str(begun.body["audio_url"])
        timeout = ctx.config.upload_probe_timeout
        await check_upload_url(self.probe, url, timeout, "producer.url_not_accessible")
        with charge(ctx, self.errors, call.op.operation_id, begun.api_key, forced=begun.forced) as paid:
            task = self._start(call, paid, begun.body, rules.upload_result(ctx.ids.new_id(), upload_length(url)))
        return JSONResponse({"message": "success", "task_id": task.id})

    async def _on_song(self, call: Call, task_type: str) -> Response:
        """A task about one finished song of the caller (download, video-clip)."""
        ctx = self.ctx
        begun = await self._begin(call)
        body, api_key = begun.body, begun.api_key
        rules.usable_clip(ctx.store, str(body["clip_id"]), api_key, call.now)
        with charge(ctx, self.errors, call.op.operation_id, api_key, forced=begun.forced) as paid:
            clip = rules.usable_clip(ctx.store, str(body["clip_id"]), api_key, paid.now)
            result: dict[str, Any] = {"kind": "producer", "task_type": task_type, **rules.described(ctx.store, clip)}
            if task_type == "download":
                result["format"] = str(body["format"])
            task = self._start(call, paid, body, result)
        return JSONResponse({"message": "success", "task_id": task.id})

    async def download(self, call: Call) -> Response:
        """``POST /api/v1/producer/download``: a task preparing the song as MP3 or WAV."""
        return await self._on_song(call, "download")

    async def video_clip(self, call: Call) -> Response:
        """``POST /api/v1/producer/video-clip``: a task making an MP4 of the song over its cover."""
        return await self._on_song(call, "video_clip")

    async def lyrics_create(self, call: Call) -> Response:
        """``POST /api/v1/producer/lyrics-create``: a task writing lyrics."""
        ctx = self.ctx
        begun = await self._begin(call)
        with charge(ctx, self.errors, call.op.operation_id, begun.api_key, forced=begun.forced) as paid:
            task = self._start(call, paid, begun.body, rules.lyrics_result(str(begun.body["prompt"])))
        return JSONResponse({"message": "success", "task_id": task.id})
