"""The control plane under ``/_mock/``: reset, clock, errors, keys, ledger, faults, tasks, journal."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mockserver import service
from mockserver.clock import ClockError
from mockserver.config import ConfigError, format_instant
from mockserver.errors import CATALOG, MockError
from mockserver.http import Call, Handler, JSONResponse
from mockserver.ledger import Account, Entry
from mockserver.scenarios import magic_preset
from mockserver.spec import CONTROL_SPEC
from mockserver.tasks import Task, TaskStateError


def _clock_body(call: Call) -> dict[str, object]:
    clock = call.state.clock
    now = clock.now()
    return {"now": format_instant(now), "epoch": now, "mode": clock.mode, "profile": call.state.config.clock}


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


def _task_body(call: Call, task: Task) -> dict[str, Any]:
    view = task.view(call.state.clock.now())
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
        "refunded": call.state.store.refund_of(task.id) is not None,
    }


def _task(call: Call) -> Task:
    task = call.state.store.get_task(call.request.path_params["task_id"])
    if task is None:
        raise MockError(
            CATALOG["control.task_not_found"],
            f"No task {call.request.path_params['task_id']!r}; GET /_mock/tasks lists them",
        )
    return task


async def reset(call: Call) -> Response:
    """Forget all state (scenario files are applied again)."""
    call.state.reset()
    return JSONResponse({"ok": True})


async def get_clock(call: Call) -> Response:
    """The virtual clock."""
    return JSONResponse(_clock_body(call))


async def advance_clock(call: Call) -> Response:
    """Move the virtual clock forward."""
    body, _ = await call.body()
    try:
        call.state.clock.advance(float(body["seconds"]))
    except ClockError as exc:
        raise MockError(CATALOG["request.validation"], str(exc)) from None
    await call.state.webhooks.tick(settle=True)  # what became due is delivered before this call answers
    return JSONResponse(_clock_body(call))


async def list_webhooks(call: Call) -> Response:
    """Webhook deliveries, oldest first, with their attempts."""
    await call.state.webhooks.tick()
    task_id = call.request.query_params.get("task_id")
    rows = [d.as_dict(format_instant) for d in call.state.webhooks.deliveries(task_id or None)]
    return JSONResponse({"deliveries": rows})


async def list_errors(call: Call) -> Response:
    """The error catalog."""
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
                for e in CATALOG
            ]
        }
    )


async def list_keys(call: Call) -> Response:
    """Every account."""
    accounts = [service.balance(call.state, a.api_key) for a in call.state.store.accounts()]
    return JSONResponse({"keys": [_key_body(a) for a in accounts]})


async def get_key(call: Call) -> Response:
    """One account (opened with the starting balance if new)."""
    return JSONResponse(_key_body(service.balance(call.state, call.request.path_params["api_key"])))


async def put_key(call: Call) -> Response:
    """Set a key's balances and limits."""
    body, _ = await call.body()
    try:
        account = service.configure_key(call.state, call.request.path_params["api_key"], body)
    except ConfigError as exc:
        raise MockError(CATALOG["request.validation"], f"expires_at: {exc}") from None
    return JSONResponse(_key_body(account))


async def ledger(call: Call) -> Response:
    """Ledger entries and totals, for one key or all."""
    state = call.state
    api_key = call.request.query_params.get("api_key")
    keys = [api_key] if api_key else [a.api_key for a in state.store.accounts()]
    for key in keys:
        service.settle_key(state, key, state.clock.now())
    entries = state.store.entries(api_key or None)
    totals = {"granted": 0, "adjusted": 0, "debited": 0, "refunded": 0}
    for entry in entries:
        name = {"grant": "granted", "adjust": "adjusted", "debit": "debited", "refund": "refunded"}[entry.reason]
        totals[name] += -entry.amount if entry.reason == "debit" else entry.amount
    totals["balance"] = totals["granted"] + totals["adjusted"] - totals["debited"] + totals["refunded"]
    return JSONResponse({"entries": [_entry_body(e) for e in entries], "totals": totals})


async def list_faults(call: Call) -> Response:
    """The active fault rules."""
    return JSONResponse({"faults": [rule.as_dict() for rule in call.state.faults.rules]})


async def add_fault(call: Call) -> Response:
    """Add a fault rule."""
    body, _ = await call.body()
    operation = body["operation"]
    op = call.state.spec.operations.get(operation)
    if op is None or op.spec_name == CONTROL_SPEC:
        products = sorted(o for o, v in call.state.spec.operations.items() if v.spec_name != CONTROL_SPEC)
        raise MockError(
            CATALOG["request.validation"], f"operation: {operation!r} is not an operation of the API; one of {products}"
        )
    rule = call.state.faults.add(
        operation,
        body["error"],
        times=body.get("times"),
        probability=body.get("probability"),
        api_key=body.get("api_key"),
        at_progress=body.get("at_progress"),
    )
    return JSONResponse(rule.as_dict())


async def clear_faults(call: Call) -> Response:
    """Remove every fault rule."""
    call.state.faults.clear()
    return JSONResponse({"ok": True})


async def list_tasks(call: Call) -> Response:
    """Tasks with their timelines."""
    api_key = call.request.query_params.get("api_key") or None
    return JSONResponse({"tasks": [_task_body(call, t) for t in call.state.store.tasks(api_key)]})


async def get_task(call: Call) -> Response:
    """One task's timeline."""
    return JSONResponse(_task_body(call, _task(call)))


async def fail_task(call: Call) -> Response:
    """Make a task fail now or at a progress."""
    body, _ = await call.body()
    with call.state.store.transaction():
        task = _task(call)
        spec = CATALOG.get(body["error"])
        if spec is None or not spec.task_failure or (spec.operations and task.operation not in spec.operations):
            allowed = [e.id for e in CATALOG if e.task_failure and (not e.operations or task.operation in e.operations)]
            raise MockError(
                CATALOG["request.validation"],
                f"error: {body['error']!r} is not a failure of a {task.operation} task; one of {allowed}",
            )
        try:
            updated = task.failed(call.state.clock.now(), spec.id, body.get("at_progress"))
        except TaskStateError as exc:
            raise MockError(CATALOG["control.task_finished"], str(exc)) from None
        call.state.store.put_task(updated)
    return JSONResponse(_task_body(call, updated))


async def complete_task(call: Call) -> Response:
    """Make a task succeed now."""
    with call.state.store.transaction():
        task = _task(call)
        try:
            updated = task.completed(call.state.clock.now())
        except TaskStateError as exc:
            raise MockError(CATALOG["control.task_finished"], str(exc)) from None
        call.state.store.put_task(updated)
    return JSONResponse(_task_body(call, updated))


async def requests(call: Call) -> Response:
    """The request journal."""
    params = call.request.query_params
    limit = params.get("limit")
    if limit is not None and (not limit.isdigit() or int(limit) < 1):
        raise MockError(CATALOG["request.validation"], f"limit: must be a positive integer, not {limit!r}")
    rows = call.state.store.journal_entries(params.get("api_key") or None, int(limit) if limit else None)
    return JSONResponse({"requests": [{**row, "instant": format_instant(row["instant"])} for row in rows]})


def handlers() -> dict[str, Handler]:
    """The control-plane handlers by operationId."""
    return {
        "mockReset": reset,
        "mockGetClock": get_clock,
        "mockAdvanceClock": advance_clock,
        "mockListErrors": list_errors,
        "mockListKeys": list_keys,
        "mockGetKey": get_key,
        "mockPutKey": put_key,
        "mockLedger": ledger,
        "mockListFaults": list_faults,
        "mockAddFault": add_fault,
        "mockClearFaults": clear_faults,
        "mockListTasks": list_tasks,
        "mockGetTask": get_task,
        "mockFailTask": fail_task,
        "mockCompleteTask": complete_task,
        "mockRequests": requests,
        "mockListWebhooks": list_webhooks,
    }
