"""Refunds of tasks that failed after they were accepted: each one exactly once.

A task that fails later is refunded when the failure is first observed (any read of the task or of
the key's balance); the entry carries the failure instant, and every later read says
``already_refunded: true``.
"""

from __future__ import annotations

from mockserver.catalog import CATALOG
from mockserver.engine.context import Context
from mockserver.engine.ledger import credit_back
from mockserver.engine.ports import Store
from mockserver.engine.records import Entry, Status, Task
from mockserver.errors import Refund


def refund(
    store: Store,
    api_key: str,
    task_id: str,
    amounts: tuple[int, int],
    instant: float,
    operation_id: str | None,
    error_id: str | None,
) -> Entry:
    """Return ``amounts`` (credits, extra credits) of debit ``task_id`` to the key; the ledger entry.

    The caller holds the transaction and has checked that no refund of ``task_id`` exists yet.
    """
    account = store.get_account(api_key)
    assert account is not None, f"refund for unknown key {api_key!r}"
    credits, extra = amounts
    store.put_account(credit_back(account, credits, extra))
    return store.add_entry(Entry(0, api_key, "refund", credits, extra, instant, task_id, operation_id, error_id))


def settle_task(ctx: Context, task: Task, now: float) -> Refund | None:
    """Refund a charged task that has failed by ``now``, exactly once; what its error body says."""
    view = task.view(now)
    if view.status is not Status.FAILED or not any(task.charged) or view.error_id is None:
        return None
    store = ctx.store
    if store.refund_of(task.id) is not None:
        return Refund(processed=False, already=True)
    spec = CATALOG[view.error_id]
    if not spec.refunds:
        return Refund(processed=False, already=False)
    assert task.failure is not None
    with store.transaction():
        if store.refund_of(task.id) is not None:  # settled concurrently (another worker)
            return Refund(processed=False, already=True)
        refund(store, task.api_key, task.id, task.charged, task.failure.at, task.operation, spec.id)
    ctx.events.refunded(task, task.failure.at, task.charged)
    return Refund(processed=True, already=False)


def settle_key(ctx: Context, api_key: str, now: float) -> None:
    """Refund every failed, charged task of a key (before its balance is read or spent)."""
    for task_id in ctx.store.unsettled_task_ids(api_key):
        task = ctx.store.get_task(task_id)
        if task is not None:
            settle_task(ctx, task, now)
