"""What every Sonic handler shares: the preamble, upload-URL checks, uploads and starting a generation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.engine.billing import Charge
from mockserver.engine.lifecycle import Span, Timing, timing_for
from mockserver.engine.records import Clip, Task
from mockserver.engine.tasks import start_task
from mockserver.families.entry import FamilyHandlers
from mockserver.families.sonic import clips, rules, tools
from mockserver.families.sonic.rules import SonicRules
from mockserver.families.uploads import check_upload_url
from mockserver.http.call import Begun, Call

NAME = "sonic"
#: How long an upload, a voice or a download takes in realistic time (an upload is "about 20 s", [D-faq]).
QUICK = Timing(Span(1.0, 3.0), Span(8.0, 20.0))


class SonicCore(FamilyHandlers[SonicRules]):
    """What every Sonic handler shares: the preamble, upload-URL checks and starting a generation."""

    async def _begin(self, call: Call, *, billable: bool = True) -> Begun:
        return await call.begin(self.errors, texts=rules.texts, billable=billable)

    def _quick(self) -> Timing:
        return timing_for(self.ctx.config.clock, QUICK)

    async def _check_upload_url(self, url: str) -> None:
        """The vendor's probe of an upload URL (:func:`~mockserver.families.uploads.check_upload_url`)."""
        await check_upload_url(self.probe, url, self.ctx.config.upload_probe_timeout, "sonic.url_not_accessible")

    def _generate(
        self, call: Call, paid: Charge, body: Mapping[str, Any], *, source: Clip | None, task_type: str
    ) -> Task:
        """Plan the task ``paid`` pays for (two clips), register its clips and watch it for webhooks."""
        ctx = self.ctx
        source_mv = clips.model_of(ctx.store, source) if source is not None else None
        if source_mv and not body.get("mv"):  # concat (no mv) keeps its source's model
            body = {**body, "mv": source_mv}
        clip_ids = [ctx.ids.new_id() for _ in range(rules.CLIPS_PER_TASK)]
        result = self.rules.result_for(paid.ref_id, body, clip_ids, source=source, task_type=task_type)
        task = start_task(ctx, paid, family=NAME, timing=self.timing, result=result)
        clips.register_clips(ctx.store, task)
        self.webhooks.watch(task, body, call.base_url)
        return task

    def _upload(self, paid: Charge, api_key: str, url: str) -> Clip:
        clip = Clip(self.ctx.ids.new_id(), api_key, paid.now, tools.upload_length(url), "uploaded")
        self.ctx.store.put_clip(clip)
        return clip
