"""Producer: ``POST /api/v1/producer/create`` and ``GET /api/v1/producer/task/{task_id}``."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from mockserver.clock import format_instant
from mockserver.engine.billing import charge
from mockserver.engine.records import Clip
from mockserver.engine.tasks import read_task, start_task
from mockserver.families.entry import FamilyHandlers
from mockserver.families.producer import rules
from mockserver.families.producer.rules import ProducerRules
from mockserver.http.call import Call, Handler
from mockserver.http.responses import JSONResponse

NAME = "producer"


class ProducerHandlers(FamilyHandlers[ProducerRules]):
    """The Producer operations over the mock's context, rules and webhook dispatcher."""

    def routes(self) -> Mapping[str, Handler]:
        """The handlers by operationId."""
        return {"producerCreate": self.create, "producerGetTask": self.get_task}

    async def create(self, call: Call) -> Response:
        """``POST /api/v1/producer/create``: one clip per task."""
        ctx = self.ctx
        begun = await call.begin(self.errors, texts=rules.texts)
        body, api_key = begun.body, begun.api_key
        self.rules.check_create(body)
        with charge(ctx, self.errors, call.op.operation_id, api_key, forced=begun.forced) as paid:
            # the clip id is drawn inside the create's transaction, with the task id
            result = self.rules.result_for(paid.ref_id, ctx.ids.new_id(), body)
            task = start_task(ctx, paid, family=NAME, timing=self.timing, result=result)
            clip = Clip(result["clip_id"], api_key, task.created_at, result["duration"], "generated", task.id)
            ctx.store.put_clip(clip)
            self.webhooks.watch(task, body, call.base_url)
        return JSONResponse({"message": "success", "task_id": task.id})

    async def get_task(self, call: Call) -> Response:
        """``GET /api/v1/producer/task/{task_id}``."""
        begun = await call.begin(self.errors, billable=False)
        task, refund = read_task(self.ctx, self.errors, NAME, begun.api_key, call.path_param("task_id"))
        created = format_instant(task.created_at)
        return JSONResponse(rules.task_body(task, call.now, call.base_url, refund, created))
