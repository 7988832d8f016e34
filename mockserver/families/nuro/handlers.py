"""Nuro: ``POST /api/v1/nuro/create`` and ``GET /api/v1/nuro/task/{task_id}``.

Retired: 410 Gone by default. ``legacy`` mode serves the documented behaviour; a sunset instant
serves it (with ``Deprecation``/``Sunset`` headers) until that instant on the virtual clock.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from mockserver.catalog import CATALOG, nuro_gone_message
from mockserver.config import NuroMode
from mockserver.engine.billing import charge
from mockserver.engine.tasks import read_task, start_task
from mockserver.errors import MockError
from mockserver.families.entry import FamilyHandlers
from mockserver.families.nuro.rules import SUCCESSORS, NuroRules, deprecation_headers, task_body
from mockserver.http.call import Begun, Call, Handler, json_or_none
from mockserver.http.responses import JSONResponse


class NuroHandlers(FamilyHandlers[NuroRules]):
    """The Nuro operations over the mock's context (Nuro sends no webhooks)."""

    def routes(self) -> Mapping[str, Handler]:
        """The handlers by operationId."""
        return {"nuroCreate": self.create, "nuroGetTask": self.get_task}

    def _gate(self, call: Call, kind: str | None) -> dict[str, str]:
        """Raise 410 once Nuro is gone; otherwise the headers a successful answer carries."""
        mode = self.ctx.config.nuro
        headers = deprecation_headers(mode, call.base_url, kind)
        if mode.sunset_at is not None and call.now >= mode.sunset_at:
            raise MockError(CATALOG["nuro.gone"], nuro_gone_message(kind), headers=headers)
        return headers

    async def _begin(self, call: Call, *, billable: bool) -> Begun:
        """The preamble; a forced ``nuro.gone`` looks like the real one (migration text and headers)."""
        try:
            return await call.begin(self.errors, texts=self.rules.texts, billable=billable)
        except MockError as error:
            if error.spec.id != "nuro.gone":
                raise
            mode = self.ctx.config.nuro
            gone = mode if mode.sunset_at is not None else NuroMode.parse("gone")
            headers = deprecation_headers(gone, call.base_url, None)
            raise MockError(error.spec, headers={**headers, **error.headers}) from None

    @staticmethod
    async def _kind_hint(call: Call) -> str | None:
        """The ``type`` of a create body, read leniently (only to word the 410 message)."""
        try:
            data = json_or_none(await call.raw_bytes())
        except MockError:
            return None
        kind = data.get("type") if isinstance(data, dict) else None
        return kind if isinstance(kind, str) and kind in SUCCESSORS else None

    async def create(self, call: Call) -> Response:
        """Create a vocal or bgm task: gateway checks, debit, upstream checks, plan."""
        ctx, rules = self.ctx, self.rules
        headers = self._gate(call, await self._kind_hint(call) if ctx.config.nuro.kind != "legacy" else None)
        begun = await self._begin(call, billable=True)
        violations = rules.cross_field_violations(begun.body)
        if violations:
            raise MockError(CATALOG["request.validation"], "; ".join(map(str, violations)))
        with charge(ctx, self.errors, call.op.operation_id, begun.api_key, forced=begun.forced) as paid:
            rules.check_language(begun.body)  # upstream: refunded at once when it fails
            result = rules.result_for(paid.ref_id, begun.body, begun.schema)
            task = start_task(ctx, paid, family="nuro", timing=self.timing, result=result)
        return JSONResponse({"message": "success", "task_id": task.id}, headers=headers)

    async def get_task(self, call: Call) -> Response:
        """Read a task as it is at this instant."""
        headers = self._gate(call, None)
        begun = await self._begin(call, billable=False)
        task, refund = read_task(self.ctx, self.errors, "nuro", begun.api_key, call.path_param("task_id"))
        audio_url = f"{call.base_url}/cdn/audio/{task.id}.wav"
        return JSONResponse(task_body(task, call.now, audio_url, refund), headers=headers)
