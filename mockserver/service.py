"""Family-agnostic application services: authenticate, bill, create and read tasks, settle refunds.

Creating a billable task has two stages. *Gateway* checks happen before any debit and carry no
refund fields: authentication, QPS, validation, usage cap, credits. *Upstream* errors happen after
the debit (queue full, unsupported language, system errors): a refundable one is refunded at once
and the error body says ``refund_processed: true``. A task that fails later is refunded when the
failure is first observed (any read of the task or of the key's balance); the entry carries the
failure instant, and every later read says ``already_refunded: true``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from mockserver.errors import CATALOG, MockError, Refund, family_errors
from mockserver.ids import rng_for
from mockserver.ledger import Account, Entry, credit_back, debit
from mockserver.scenarios import (
    DEFAULT_FAILURE_PROGRESS,
    Forced,
    apply_preset,
    from_prefer,
    from_values,
    magic_preset,
    parse_forced,
)
from mockserver.tasks import Status, Task, plan

if TYPE_CHECKING:
    from starlette.datastructures import Headers

    from mockserver.state import MockState

SCENARIO_HEADER = "x-mock-scenario"


def account_for(state: MockState, api_key: str, now: float) -> Account:
    """The key's account, opened with the configured starting balance (or a magic preset) on first sight."""
    store = state.store
    account = store.get_account(api_key)
    if account is not None:
        return account
    with store.transaction():
        account = store.get_account(api_key)  # opened meanwhile by another worker?
        if account is not None:
            return account
        config = state.config
        account = Account(
            api_key,
            config.initial_credits,
            config.initial_extra_credits,
            qps=config.default_qps,
            queue_capacity=config.default_queue_capacity,
        )
        preset = magic_preset(api_key)
        if preset is not None:
            account = apply_preset(account, preset)
        store.put_account(account)
        if account.credits or account.extra_credits:
            store.add_entry(Entry(0, api_key, "grant", account.credits, account.extra_credits, now))
    return account


def authenticate(state: MockState, family: str, api_key: str, now: float) -> Account:
    """Gateway checks every call passes: signature, expiry, QPS."""
    errors = family_errors(family)
    account = account_for(state, api_key, now)
    if account.invalid_signature:
        raise MockError(CATALOG[errors.invalid_signature])
    if account.expires_at is not None and now >= account.expires_at:
        raise MockError(CATALOG[errors.expired])
    if not state.limiter.admit(api_key, account.qps, now):
        raise MockError(CATALOG[errors.qps_limit])
    return account


def forced_error(
    state: MockState, operation_id: str, api_key: str, headers: Headers, values: Iterable[Any] = ()
) -> Forced | None:
    """What the request's triggers ask for: header, ``Prefer``, a fault rule, or a magic value."""
    scenario = headers.get(SCENARIO_HEADER)
    if scenario:
        return parse_forced(scenario, operation_id, "X-Mock-Scenario header")
    prefer = headers.get("prefer")
    if prefer:
        forced = from_prefer(prefer, operation_id)
        if forced is not None:
            return forced
    return state.faults.match(operation_id, api_key) or from_values(values, operation_id)


def raise_gateway(forced: Forced | None) -> None:
    """Raise a forced error that happens before any debit (on a billable call)."""
    if forced is not None and not forced.spec.after_debit and not forced.spec.task_failure:
        raise MockError(forced.spec)


def raise_forced(forced: Forced | None) -> None:
    """Raise a forced error on a call that bills nothing (every stage is "now")."""
    if forced is not None and not forced.spec.task_failure:
        raise MockError(forced.spec)


def configure_key(state: MockState, api_key: str, settings: Mapping[str, Any]) -> Account:
    """Set a key's balances and limits; balance changes are ledger ``adjust`` entries."""
    from dataclasses import replace

    from mockserver.config import parse_instant

    now = state.clock.now()
    changes = dict(settings)
    if isinstance(changes.get("expires_at"), str):
        changes["expires_at"] = parse_instant(changes["expires_at"])
    with state.store.transaction():
        settle_key(state, api_key, now)
        account = account_for(state, api_key, now)
        updated = replace(account, **changes)
        delta_credits = updated.credits - account.credits
        delta_extra = updated.extra_credits - account.extra_credits
        state.store.put_account(updated)
        if delta_credits or delta_extra:
            state.store.add_entry(Entry(0, api_key, "adjust", delta_credits, delta_extra, now))
    return updated


T = TypeVar("T")


def billed(
    state: MockState,
    *,
    family: str,
    operation_id: str,
    api_key: str,
    forced: Forced | None,
    work: Callable[[str, tuple[int, int]], T],
    upstream_check: Callable[[], None] = lambda: None,
    cost: int | None = None,
    queued: bool = True,
) -> T:
    """Gateway checks, the debit, upstream checks, then ``work(ref_id, (credits, extra))``.

    An upstream error refunds the debit at once (when its type qualifies) and says so in its body.
    ``queued`` calls count against the key's queue capacity.
    """
    store = state.store
    errors = family_errors(family)
    now = state.clock.now()
    with store.transaction():
        settle_key(state, api_key, now)
        raise_gateway(forced)
        account = account_for(state, api_key, now)
        cost = state.config.cost(operation_id) if cost is None else cost
        if account.usage_limit is not None and account.usage >= account.usage_limit:
            raise MockError(CATALOG[errors.usage_limit])
        if cost > account.total:
            raise MockError(CATALOG[errors.insufficient_credits])
        # A full queue is upstream (after the debit, refunded) only where its error type refunds;
        # otherwise it is checked first, so a non-refundable error never costs credits.
        queue_after_debit = CATALOG[errors.queue_full].after_debit
        if queued and not queue_after_debit and _queue_is_full(state, account, now):
            raise MockError(CATALOG[errors.queue_full])
        ref_id = state.ids.new_id()
        charged_account, from_credits, from_extra = debit(account, cost)
        store.put_account(charged_account)
        if cost:
            store.add_entry(Entry(0, api_key, "debit", -from_credits, -from_extra, now, ref_id, operation_id))
        try:
            if forced is not None and forced.spec.after_debit and not forced.spec.task_failure:
                raise MockError(forced.spec)
            if queued and queue_after_debit and _queue_is_full(state, charged_account, now):
                raise MockError(CATALOG[errors.queue_full])
            upstream_check()
        except MockError as error:
            refund = None
            if cost:
                processed = error.spec.refunds
                if processed:
                    _refund(state, api_key, ref_id, from_credits, from_extra, now, operation_id, error.spec.id)
                refund = Refund(processed=processed, already=False)
            raise MockError(error.spec, error.message, refund=refund, headers=error.headers) from None
        return work(ref_id, (from_credits, from_extra))


def create_task(
    state: MockState,
    *,
    family: str,
    operation_id: str,
    api_key: str,
    forced: Forced | None,
    result_for: Callable[[str], Mapping[str, Any]],
    upstream_check: Callable[[], None] = lambda: None,
    cost: int | None = None,
    on_created: Callable[[Task], None] = lambda task: None,
) -> Task:
    """Bill and plan a task, or raise the error a check or trigger calls for (refunding if due)."""

    def make(task_id: str, charged: tuple[int, int]) -> Task:
        failure = None
        if forced is not None and forced.spec.task_failure:
            at = forced.at_progress if forced.at_progress is not None else DEFAULT_FAILURE_PROGRESS
            failure = (forced.spec.id, at)
        task = plan(
            task_id=task_id,
            family=family,
            api_key=api_key,
            now=state.clock.now(),
            timing=state.timing(family),
            rng=rng_for(state.config.seed, "timeline", task_id),
            result=result_for(task_id),
            failure=failure,
            operation=operation_id,
            charged=charged,
        )
        state.store.put_task(task)
        on_created(task)
        return task

    return billed(
        state,
        family=family,
        operation_id=operation_id,
        api_key=api_key,
        forced=forced,
        work=make,
        upstream_check=upstream_check,
        cost=cost,
    )


def _queue_is_full(state: MockState, account: Account, now: float) -> bool:
    capacity = account.queue_capacity
    if capacity is None:
        return False
    store = state.store
    unfinished: list[str] = []
    finished: list[str] = []
    for task_id in store.open_task_ids(account.api_key):
        task = store.get_task(task_id)
        (finished if task is None or task.view(now).status.terminal else unfinished).append(task_id)
    store.close_tasks(account.api_key, finished)
    return len(unfinished) >= capacity


def _refund(
    state: MockState,
    api_key: str,
    task_id: str,
    credits: int,
    extra: int,
    instant: float,
    operation_id: str | None,
    error_id: str,
) -> Entry:
    account = state.store.get_account(api_key)
    assert account is not None
    state.store.put_account(credit_back(account, credits, extra))
    return state.store.add_entry(Entry(0, api_key, "refund", credits, extra, instant, task_id, operation_id, error_id))


def settle_task(state: MockState, task: Task, now: float) -> Refund | None:
    """Refund a charged task that has failed by ``now``, exactly once; what its error body says."""
    view = task.view(now)
    if view.status is not Status.FAILED or not any(task.charged) or view.error_id is None:
        return None
    if state.store.refund_of(task.id) is not None:
        return Refund(processed=False, already=True)
    spec = CATALOG[view.error_id]
    if not spec.refunds:
        return Refund(processed=False, already=False)
    assert task.failure is not None
    with state.store.transaction():
        if state.store.refund_of(task.id) is not None:  # settled concurrently (another worker)
            return Refund(processed=False, already=True)
        _refund(
            state, task.api_key, task.id, task.charged[0], task.charged[1], task.failure.at, task.operation, spec.id
        )
    return Refund(processed=True, already=False)


def settle_key(state: MockState, api_key: str, now: float) -> None:
    """Refund every failed, charged task of a key (before its balance is read or spent)."""
    for task_id in state.store.unsettled_task_ids(api_key):
        task = state.store.get_task(task_id)
        if task is not None:
            settle_task(state, task, now)


def read_task(state: MockState, family: str, api_key: str, task_id: str) -> tuple[Task, Refund | None]:
    """A key's task (404 in the family's format otherwise) and its refund status at this instant."""
    task = state.store.get_task(task_id)
    if task is None or task.family != family or task.api_key != api_key:
        raise MockError(CATALOG[family_errors(family).task_not_found])
    return task, settle_task(state, task, state.clock.now())


def balance(state: MockState, api_key: str) -> Account:
    """A key's account after settling refunds that are due."""
    now = state.clock.now()
    settle_key(state, api_key, now)
    return account_for(state, api_key, now)
