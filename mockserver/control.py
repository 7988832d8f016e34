"""The control plane under ``/_mock/``: reset, clock, errors, keys, ledger, faults, tasks, journal, webhooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from starlette.responses import Response

from mockserver import __version__
from mockserver.catalog import CATALOG
from mockserver.clock import format_instant
from mockserver.engine.accounts import balance, configure_key
from mockserver.engine.context import Context
from mockserver.engine.ledger import totals
from mockserver.engine.records import Account, Entry, Task
from mockserver.engine.settlement import settle_key
from mockserver.engine.triggers import magic_preset
from mockserver.engine.webhooks import Dispatcher
from mockserver.errors import ClockError, ConfigError, MockError, TaskStateError
from mockserver.http.call import Call, Handler
from mockserver.http.endpoint import key_fingerprint
from mockserver.http.responses import JSONResponse
from mockserver.spec import CONTROL_SPEC, ApiSpec

R = TypeVar("R")


def _iso(instant: float | None) -> str | None:
    return None if instant is None else format_instant(instant)


def _key_body(account: Account) -> dict[str, Any]:
    return {
        "api_key": account.api_key,
        "credits": account.credits,
        "extra_credits": account.extra_credits,
        "qps": account.qps,
        "queue_capacity": account.queue_capacity,
        "expires_at": _iso(account.expires_at),
        "usage_limit": account.usage_limit,
        "usage": account.usage,
        "magic": magic_preset(account.api_key) is not None,
    }


def _entry_body(entry: Entry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "api_key": entry.api_key,
        "reason": entry.reason,
        "credits": entry.credits,
        "extra_credits": entry.extra_credits,
        "amount": entry.amount,
        "instant": format_instant(entry.instant),
        "task_id": entry.task_id,
        "operation": entry.operation,
        "error_id": entry.error_id,
    }


def _page(call: Call, rows: Sequence[R]) -> tuple[Sequence[R], int | None]:
    """One page of a listing (``offset``, ``limit`` from the query, checked against the spec) and the next offset."""
    offset, limit = call.query_int("offset"), call.query_int("limit")
    page = rows[offset : offset + limit]
    return page, offset + limit if offset + limit < len(rows) else None


#: The detail fields of a journal entry recorded before the journal kept them (an older state file).
NO_DETAIL: Mapping[str, Any] = {
    "query": "",
    "request_headers": {},
    "request_body": None,
    "request_body_truncated": False,
    "response_body": None,
    "response_body_truncated": False,
}


def journal_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """A journal row as the control plane answers it: the summary, the instant as text, the detail."""
    detail = row.get("detail")
    summary = {name: value for name, value in row.items() if name != "detail"}
    return {**summary, "instant": format_instant(row["instant"]), **(orjson.loads(detail) if detail else NO_DETAIL)}


def _journal_filter(call: Call) -> Callable[[Mapping[str, Any]], bool] | None:
    """``operation``, ``status`` and ``body_contains`` of ``GET /_mock/requests`` as one test (None: none)."""
    params = call.request.query_params
    operation = params.get("operation") or None
    status = call.query_int("status") if "status" in params else None
    needle = params.get("body_contains") or None
    if operation is None and status is None and needle is None:
        return None

    def wanted(row: Mapping[str, Any]) -> bool:
        if (operation is not None and row["operation"] != operation) or (
            status is not None and row["status"] != status
        ):
            return False
        if needle is None:
            return True
        detail = row.get("detail")
        return detail is not None and needle in (orjson.loads(detail).get("request_body") or "")

    return wanted


class ControlHandlers:
    """The ``/_mock/*`` operations over the mock's context, spec and webhook dispatcher.

    ``reset`` is the composition root's: it forgets all state and applies the scenario files again.
    """

    def __init__(self, ctx: Context, spec: ApiSpec, webhooks: Dispatcher, reset: Callable[[], None]) -> None:
        self.ctx = ctx
        self.spec = spec
        self.webhooks = webhooks
        self.reset = reset
        self.started = ctx.clock.source()

    def routes(self) -> Mapping[str, Handler]:
        """The handlers by operationId."""
        return {
            "mockIndex": self.index,
            "mockReset": self.reset_all,
            "mockHealth": self.health,
            "mockGetClock": self.get_clock,
            "mockAdvanceClock": self.advance_clock,
            "mockListErrors": self.list_errors,
            "mockListKeys": self.list_keys,
            "mockGetKey": self.get_key,
            "mockPutKey": self.put_key,
            "mockLedger": self.ledger,
            "mockListFaults": self.list_faults,
            "mockAddFault": self.add_fault,
            "mockClearFaults": self.clear_faults,
            "mockListTasks": self.list_tasks,
            "mockGetTask": self.get_task,
            "mockFailTask": self.fail_task,
            "mockCompleteTask": self.complete_task,
            "mockRequests": self.requests,
            "mockListWebhooks": self.list_webhooks,
        }

    def _clock_body(self, call: Call) -> dict[str, object]:
        clock = self.ctx.clock
        now = clock.now()
        return {"now": format_instant(now), "epoch": now, "mode": clock.mode, "profile": self.ctx.config.clock}

    def _task_body(self, call: Call, task: Task) -> dict[str, Any]:
        view = task.view(self.ctx.clock.now())
        failure = task.failure
        return {
            "task_id": task.id,
            "family": task.family,
            "api_key": task.api_key,
            "operation": task.operation,
            "status": view.status.value,
            "progress": view.progress,
            "created_at": format_instant(task.created_at),
            "started_at": format_instant(task.started_at),
            "ends_at": format_instant(task.ends_at),
            "failure": None
            if failure is None
            else {"error": failure.error_id, "at": format_instant(failure.at), "progress": failure.progress},
            "charged": {"credits": task.charged[0], "extra_credits": task.charged[1]},
            "refunded": self.ctx.store.refund_of(task.id) is not None,
        }

    def _task(self, call: Call) -> Task:
        task = self.ctx.store.get_task(call.request.path_params["task_id"])
        if task is None:
            raise MockError(
                CATALOG["control.task_not_found"],
                f"No task {call.request.path_params['task_id']!r}; GET /_mock/tasks lists them",
            )
        return task

    async def index(self, call: Call) -> Response:
        """``GET /_mock/``: the version and every endpoint of the control plane (from its spec)."""
        endpoints = [
            {"method": op.method, "path": op.path, "summary": str(op.raw.get("summary", ""))}
            for op in self.spec.operations.values()
            if op.spec_name == CONTROL_SPEC and op.family == "control"
        ]
        return JSONResponse(
            {
                "name": "musicapi-mock",
                "version": __version__,
                "spec": "/_mock/openapi.json",
                "product_spec": "/openapi.json",
                "dashboard": "/_mock/ui",
                "docs": "/docs",
                "endpoints": endpoints,
            }
        )

    async def reset_all(self, call: Call) -> Response:
        """Forget all state (scenario files are applied again)."""
        self.reset()
        return JSONResponse({"ok": True})

    async def health(self, call: Call) -> Response:
        """``GET /_mock/health``: 200 while the store answers, 503 when it does not."""
        store: dict[str, Any] = {"kind": "sqlite" if self.ctx.config.state else "memory", "reachable": True}
        try:
            self.ctx.clock.sync()  # one read of the shared state: the store answers
        except Exception as exc:  # a probe reports what is wrong; it must not fail itself
            store.update(reachable=False, error=f"{type(exc).__name__}: {exc}"[:300])
        body = {
            "status": "ok" if store["reachable"] else "unavailable",
            "version": __version__,
            "uptime_seconds": round(max(0.0, self.ctx.clock.source() - self.started), 3),
            "store": store,
            "clock": self._clock_body(call),
            "nuro": self.ctx.config.nuro.describe(),
            "workers": self.ctx.config.workers,
        }
        return JSONResponse(body, status_code=200 if store["reachable"] else 503)

    async def get_clock(self, call: Call) -> Response:
        """The virtual clock."""
        return JSONResponse(self._clock_body(call))

    async def advance_clock(self, call: Call) -> Response:
        """Move the virtual clock forward."""
        body, _ = await call.body()
        try:
            self.ctx.clock.advance(float(body["seconds"]))
        except ClockError as exc:
            raise MockError(CATALOG["request.validation"], str(exc)) from None
        self.ctx.events.moved()
        await self.webhooks.tick(settle=True)  # what became due is delivered before this call answers
        self.webhooks.kick()  # the next due instant moved
        return JSONResponse(self._clock_body(call))

    async def list_webhooks(self, call: Call) -> Response:
        """Webhook deliveries, oldest first, with their attempts."""
        await self.webhooks.tick()
        task_id = call.request.query_params.get("task_id")
        page, next_offset = _page(call, self.webhooks.deliveries(task_id or None))
        return JSONResponse({"deliveries": [d.as_dict(format_instant) for d in page], "next_offset": next_offset})

    async def list_errors(self, call: Call) -> Response:
        """The error catalog, or (``operation``) the entries that operation can answer."""
        operation = call.request.query_params.get("operation")
        if operation is not None:
            self._product_operation(operation)
        entries = CATALOG if operation is None else CATALOG.for_operation(operation)
        return JSONResponse(
            {
                "errors": [
                    {
                        "id": e.id,
                        "status": e.status,
                        "type": e.type,
                        "message": e.message,
                        "refunds": e.refunds,
                        "task_failure": e.task_failure,
                        "after_debit": e.after_debit,
                        "operations": list(e.operations),
                        "source": e.source,
                    }
                    for e in entries
                ]
            }
        )

    async def list_keys(self, call: Call) -> Response:
        """Every account."""
        accounts = [balance(self.ctx, a.api_key) for a in self.ctx.store.accounts()]
        return JSONResponse({"keys": [_key_body(a) for a in accounts]})

    async def get_key(self, call: Call) -> Response:
        """One account (opened with the starting balance if new)."""
        return JSONResponse(_key_body(balance(self.ctx, call.request.path_params["api_key"])))

    async def put_key(self, call: Call) -> Response:
        """Set a key's balances and limits."""
        body, _ = await call.body()
        try:
            account = configure_key(self.ctx, call.request.path_params["api_key"], body)
        except ConfigError as exc:
            raise MockError(CATALOG["request.validation"], f"expires_at: {exc}") from None
        return JSONResponse(_key_body(account))

    async def ledger(self, call: Call) -> Response:
        """Ledger entries and totals, for one key or all."""
        api_key = call.request.query_params.get("api_key")
        keys = [api_key] if api_key else [a.api_key for a in self.ctx.store.accounts()]
        for key in keys:
            settle_key(self.ctx, key, self.ctx.clock.now())
        entries = self.ctx.store.entries(api_key or None)
        page, next_offset = _page(call, entries)  # the totals are of every entry, the list one page of them
        body = {"entries": [_entry_body(e) for e in page], "totals": totals(entries), "next_offset": next_offset}
        return JSONResponse(body)

    async def list_faults(self, call: Call) -> Response:
        """The active fault rules."""
        return JSONResponse({"faults": [rule.as_dict() for rule in self.ctx.faults.rules]})

    async def add_fault(self, call: Call) -> Response:
        """Add a fault rule."""
        body, _ = await call.body()
        operation = body["operation"]
        self._product_operation(operation)
        rule = self.ctx.faults.add(
            operation,
            body["error"],
            times=body.get("times"),
            probability=body.get("probability"),
            api_key=body.get("api_key"),
            at_progress=body.get("at_progress"),
        )
        return JSONResponse(rule.as_dict())

    def _product_operation(self, operation: str) -> None:
        """A 400 unless ``operation`` is an operationId of the product API."""
        op = self.spec.operations.get(operation)
        if op is None or op.spec_name == CONTROL_SPEC:
            products = sorted(o for o, v in self.spec.operations.items() if v.spec_name != CONTROL_SPEC)
            raise MockError(
                CATALOG["request.validation"],
                f"operation: {operation!r} is not an operation of the API; one of {products}",
            )

    async def clear_faults(self, call: Call) -> Response:
        """Remove every fault rule."""
        self.ctx.faults.clear()
        return JSONResponse({"ok": True})

    async def list_tasks(self, call: Call) -> Response:
        """Tasks with their timelines."""
        api_key = call.request.query_params.get("api_key") or None
        page, next_offset = _page(call, list(self.ctx.store.tasks(api_key)))
        return JSONResponse({"tasks": [self._task_body(call, t) for t in page], "next_offset": next_offset})

    async def get_task(self, call: Call) -> Response:
        """One task's timeline, and the body its family's poll would answer now (clips, media links)."""
        task = self._task(call)
        family = self.webhooks.families.get(task.family)
        poll = None if family is None else family.poll_body(self.ctx, task, self.ctx.clock.now(), call.base_url)
        return JSONResponse({**self._task_body(call, task), "poll": poll})

    async def fail_task(self, call: Call) -> Response:
        """Make a task fail now or at a progress."""
        body, _ = await call.body()
        with self.ctx.store.transaction():
            task = self._task(call)
            spec = CATALOG.get(body["error"])
            if spec is None or not spec.task_failure or (spec.operations and task.operation not in spec.operations):
                allowed = [
                    e.id for e in CATALOG if e.task_failure and (not e.operations or task.operation in e.operations)
                ]
                raise MockError(
                    CATALOG["request.validation"],
                    f"error: {body['error']!r} is not a failure of a {task.operation} task; one of {allowed}",
                )
            try:
                updated = task.failed(self.ctx.clock.now(), spec.id, body.get("at_progress"))
            except TaskStateError as exc:
                raise MockError(CATALOG["control.task_finished"], str(exc)) from None
            self.ctx.store.put_task(updated)
            self.ctx.events.stored(updated)
        return JSONResponse(self._task_body(call, updated))

    async def complete_task(self, call: Call) -> Response:
        """Make a task succeed now."""
        with self.ctx.store.transaction():
            task = self._task(call)
            try:
                updated = task.completed(self.ctx.clock.now())
            except TaskStateError as exc:
                raise MockError(CATALOG["control.task_finished"], str(exc)) from None
            self.ctx.store.put_task(updated)
            self.ctx.events.stored(updated)
        return JSONResponse(self._task_body(call, updated))

    async def requests(self, call: Call) -> Response:
        """The request journal: the last ``limit`` entries, or (``after``) a page of those after a ``seq``."""
        params = call.request.query_params
        limit = call.query_int("limit") if "limit" in params else None
        after = call.query_int("after") if "after" in params else None
        key = key_fingerprint(params.get("api_key") or None)
        wanted = _journal_filter(call)
        # Unfiltered, the store pages (one row more than asked after a seq: whether a page follows);
        # filtered, the whole journal (bounded by its size) is read and filtered here.
        fetch = None if wanted is not None or limit is None else limit + (after is not None)
        rows = self.ctx.store.journal_entries(key, fetch, after)
        if wanted is not None:
            rows = [row for row in rows if wanted(row)]
        next_after = None
        if limit is not None and after is None:
            rows = rows[-limit:]
        elif limit is not None and len(rows) > limit:
            rows = rows[:limit]
            next_after = rows[-1]["seq"]
        body = [journal_entry(row) for row in rows]
        return JSONResponse({"requests": body, "next_after": next_after})
