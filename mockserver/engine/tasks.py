"""Starting a paid task and reading one back (a poll), whatever its family."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.catalog import CATALOG, FamilyErrors
from mockserver.engine.billing import Charge
from mockserver.engine.context import Context
from mockserver.engine.lifecycle import Timing, plan
from mockserver.engine.records import Task
from mockserver.engine.settlement import settle_task
from mockserver.engine.triggers import DEFAULT_FAILURE_PROGRESS
from mockserver.errors import MockError, Refund
from mockserver.ids import rng_for

#: Expired tasks (``Config.retain_seconds``) deleted by each create, at most.
FORGET_PER_CREATE = 16


def start_task(ctx: Context, paid: Charge, *, family: str, timing: Timing, result: Mapping[str, Any]) -> Task:
    """Plan and store the task ``paid`` pays for (a forced task failure is planned into its timeline)."""
    failure = None
    forced = paid.forced
    if forced is not None and forced.spec.task_failure:
        at = forced.at_progress if forced.at_progress is not None else DEFAULT_FAILURE_PROGRESS
        failure = (forced.spec.id, at)
    task = plan(
        task_id=paid.ref_id,
        family=family,
        api_key=paid.api_key,
        now=paid.now,
        timing=timing,
        rng=rng_for(ctx.config.seed, "timeline", paid.ref_id),
        result=result,
        failure=failure,
        operation=paid.operation_id,
        charged=paid.amounts,
    )
    ctx.store.put_task(task)
    ctx.events.stored(task)
    if ctx.config.retain_seconds is not None:
        # Each create forgets a few expired tasks: more than one, so a backlog drains while load goes on.
        ctx.store.forget_tasks(paid.now - ctx.config.retain_seconds, limit=FORGET_PER_CREATE)
    return task


def read_task(
    ctx: Context, errors: FamilyErrors, family: str, api_key: str, task_id: str
) -> tuple[Task, Refund | None]:
    """A key's task of ``family`` (the family's not-found error otherwise) and its refund status now."""
    task = ctx.store.get_task(task_id)
    retain = ctx.config.retain_seconds
    gone = task is not None and retain is not None and ctx.clock.now() - task.created_at > retain
    if task is None or task.family != family or task.api_key != api_key or gone:
        raise MockError(CATALOG[errors.task_not_found])
    refund = settle_task(ctx, task, ctx.clock.now())
    if refund is not None and (refund.processed or refund.already):
        # The first read of the task says the refund was processed, whichever call settled it (a balance
        # read, another create of the key, a webhook); every later read says it already was.
        seen = f"refund-read/{task.id}"
        if ctx.store.get_ref(seen) is None:
            ctx.store.put_ref(seen, "1")
            refund = Refund(processed=True, already=False)
        else:
            refund = Refund(processed=False, already=True)
    return task, refund
