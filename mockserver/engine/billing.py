"""Billing, one mechanism for every billable call: gateway checks → debit → the caller's work.

Creating a billable task has two stages. *Gateway* checks happen before any debit and carry no
refund fields: authentication, QPS, validation, usage cap, credits. *Upstream* errors happen after
the debit (queue full, unsupported language, system errors, and any domain error of the caller's
work): a refundable one is refunded at once and the error body says ``refund_processed: true``.

:func:`charge` is a context manager, so the caller's work runs inside the same transaction and the
same ``try``: no path can commit a debit without either a task or a refund::

    with billing.charge(ctx, errors, operation_id, api_key, forced=forced) as paid:
        task = tasks.start_task(ctx, paid, family=..., timing=..., result=...)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mockserver.catalog import CATALOG, FamilyErrors
from mockserver.engine.accounts import account_for
from mockserver.engine.context import Context
from mockserver.engine.ledger import debit
from mockserver.engine.records import Account, Entry
from mockserver.engine.settlement import refund, settle_key
from mockserver.engine.triggers import Forced, raise_gateway
from mockserver.errors import MockError, Refund


@dataclass(frozen=True, slots=True)
class Charge:
    """A debit taken: its id (the id of what it pays for), the amounts per pool, and the call's instant."""

    ref_id: str
    api_key: str
    operation_id: str
    credits: int
    extra_credits: int
    now: float
    forced: Forced | None

    @property
    def amounts(self) -> tuple[int, int]:
        """``(credits, extra_credits)`` taken."""
        return self.credits, self.extra_credits


@contextmanager
def charge(
    ctx: Context,
    errors: FamilyErrors,
    operation_id: str,
    api_key: str,
    *,
    forced: Forced | None,
    cost: int | None = None,
    variant: str | None = None,
    queued: bool = True,
) -> Iterator[Charge]:
    """Debit one call of ``operation_id``, run the ``with`` body, refund if a domain error leaves it.

    ``cost`` defaults to the configured price of ``operation_id`` (with its ``variant``, e.g. a task
    type); ``queued`` calls count against the key's queue capacity.
    """
    store = ctx.store
    now = ctx.clock.now()
    with store.transaction():
        # --- gateway: no debit yet, so no refund fields ---
        settle_key(ctx, api_key, now)
        raise_gateway(forced)
        account = account_for(ctx, api_key, now)
        price = ctx.config.cost(operation_id, variant) if cost is None else cost
        if account.usage_limit is not None and account.usage >= account.usage_limit:
            raise MockError(CATALOG[errors.usage_limit])
        if price > account.total:
            raise MockError(CATALOG[errors.insufficient_credits])
        # A full queue is upstream (after the debit, refunded) only where its error type refunds;
        # otherwise it is checked first, so a non-refundable error never costs credits.
        queue_after_debit = CATALOG[errors.queue_full].after_debit
        if queued and not queue_after_debit and queue_is_full(ctx, account, now):
            raise MockError(CATALOG[errors.queue_full])

        # --- debit ---
        ref_id = ctx.ids.new_id()
        charged, from_credits, from_extra = debit(account, price)
        store.put_account(charged)
        if price:
            store.add_entry(Entry(0, api_key, "debit", -from_credits, -from_extra, now, ref_id, operation_id))

        # --- upstream: a MockError from here on, the caller's work included, refunds at once ---
        try:
            if forced is not None and forced.spec.after_debit and not forced.spec.task_failure:
                raise MockError(forced.spec)
            if queued and queue_after_debit and queue_is_full(ctx, charged, now):
                raise MockError(CATALOG[errors.queue_full])
            yield Charge(ref_id, api_key, operation_id, from_credits, from_extra, now, forced)
        except MockError as error:
            answer = None
            if price:
                processed = error.spec.refunds
                if processed:
                    refund(store, api_key, ref_id, (from_credits, from_extra), now, operation_id, error.spec.id)
                answer = Refund(processed=processed, already=False)
            raise MockError(error.spec, error.message, refund=answer, headers=error.headers) from None


def queue_is_full(ctx: Context, account: Account, now: float) -> bool:
    """Whether the key has as many unfinished tasks as its queue holds (finished ones are forgotten)."""
    capacity = account.queue_capacity
    if capacity is None:
        return False
    store = ctx.store
    unfinished: list[str] = []
    finished: list[str] = []
    for task_id in store.open_task_ids(account.api_key):
        task = store.get_task(task_id)
        (finished if task is None or task.view(now).status.terminal else unfinished).append(task_id)
    store.close_tasks(account.api_key, finished)
    return len(unfinished) >= capacity
