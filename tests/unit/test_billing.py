"""Billing and settlement, driven directly: gateway → debit → work, refunds exactly once."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.catalog import CATALOG, family_errors
from mockserver.engine.accounts import balance, configure_key
from mockserver.engine.billing import charge
from mockserver.engine.ledger import totals
from mockserver.engine.lifecycle import TIMINGS
from mockserver.engine.records import Status
from mockserver.engine.settlement import settle_task
from mockserver.engine.tasks import read_task, start_task
from mockserver.engine.triggers import Forced
from mockserver.errors import MockError
from tests.unit.engine_kit import Kit

NURO = family_errors("nuro")
SONIC = family_errors("sonic")
KEY = "sk_unit"


def create(kit: Kit, *, forced: Forced | None = None, fail_inside: str | None = None) -> str:
    """One Nuro create through billing; ``fail_inside`` raises that catalog error from the work."""
    with charge(kit.ctx, NURO, "nuroCreate", KEY, forced=forced) as paid:
        if fail_inside is not None:
            raise MockError(CATALOG[fail_inside])
        task = start_task(kit.ctx, paid, family="nuro", timing=TIMINGS["manual"], result={"duration": 30.0})
    return task.id


def test_a_charge_debits_the_configured_price_and_records_it() -> None:
    kit = Kit()
    task_id = create(kit)
    assert balance(kit.ctx, KEY).credits == 1000 - kit.config.cost("nuroCreate")
    (debit,) = [e for e in kit.store.entries(KEY) if e.reason == "debit"]
    assert (debit.task_id, debit.amount, debit.operation) == (task_id, -10, "nuroCreate")


def test_gateway_errors_take_nothing_and_say_nothing_of_refunds() -> None:
    kit = Kit()
    configure_key(kit.ctx, KEY, {"credits": 5})
    with pytest.raises(MockError) as raised:
        create(kit)
    assert raised.value.spec.id == "nuro.insufficient_credits" and raised.value.refund is None
    assert [e.reason for e in kit.store.entries(KEY)] == ["grant", "adjust"]


def test_a_domain_error_inside_the_work_is_refunded_at_once() -> None:
    """The hole the callbacks left (a debit with no task and no refund) cannot happen with ``with``."""
    kit = Kit()
    with pytest.raises(MockError) as raised:
        create(kit, fail_inside="nuro.language_not_supported")
    assert raised.value.refund is not None and raised.value.refund.processed
    assert balance(kit.ctx, KEY).credits == 1000
    assert [e.reason for e in kit.store.entries(KEY)] == ["grant", "debit", "refund"]
    assert kit.store.task_count() == 0


def test_a_non_refundable_error_inside_keeps_the_debit_and_says_so() -> None:
    kit = Kit()
    with pytest.raises(MockError) as raised:
        create(kit, fail_inside="nuro.task_not_found")  # type not_found: not a refund type
    assert raised.value.refund is not None and not raised.value.refund.processed
    assert balance(kit.ctx, KEY).credits == 990


def test_a_forced_upstream_error_is_refunded_and_a_forced_gateway_error_costs_nothing() -> None:
    kit = Kit()
    with pytest.raises(MockError) as upstream:
        create(kit, forced=Forced(CATALOG["nuro.queue_full"], "test"))
    assert upstream.value.refund is not None and upstream.value.refund.processed
    with pytest.raises(MockError) as gateway:
        create(kit, forced=Forced(CATALOG["nuro.qps_limit"], "test"))
    assert gateway.value.refund is None
    assert balance(kit.ctx, KEY).credits == 1000


def test_a_full_queue_that_does_not_refund_is_checked_before_the_debit() -> None:
    kit = Kit()
    configure_key(kit.ctx, KEY, {"queue_capacity": 0})
    with pytest.raises(MockError) as raised, charge(kit.ctx, SONIC, "sonicCreate", KEY, forced=None):
        pass
    assert raised.value.spec.id == "sonic.queue_full" and raised.value.refund is None
    assert balance(kit.ctx, KEY).credits == 1000


def test_a_failed_task_is_refunded_once_on_first_read_then_already_refunded() -> None:
    kit = Kit()
    task_id = create(kit, forced=Forced(CATALOG["nuro.algorithm_error"], "test", at_progress=10))
    task = kit.store.get_task(task_id)
    assert task is not None
    kit.advance(120)
    assert task.view(kit.ctx.clock.now()).status is Status.FAILED
    first = read_task(kit.ctx, NURO, "nuro", KEY, task_id)[1]
    again = settle_task(kit.ctx, task, kit.ctx.clock.now())
    assert first is not None and (first.processed, first.already) == (True, False)
    assert again is not None and (again.processed, again.already) == (False, True)
    refunds = [e for e in kit.store.entries(KEY) if e.reason == "refund"]
    assert len(refunds) == 1 and refunds[0].instant == task.failure.at  # type: ignore[union-attr]


def test_unknown_or_foreign_tasks_are_the_familys_not_found() -> None:
    kit = Kit()
    task_id = create(kit)
    for family, key in (("nuro", "sk_other"), ("sonic", KEY)):
        with pytest.raises(MockError) as raised:
            read_task(kit.ctx, NURO, family, key, task_id)
        assert raised.value.spec.id == "nuro.task_not_found"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from([None, "nuro.language_not_supported", "fail_later", "gateway"]),
        max_size=25,
    ),
    st.integers(0, 60),
)
def test_every_debit_has_a_task_or_a_refund_and_the_ledger_balances(steps: list[str | None], credits: int) -> None:
    """Refundable errors anywhere after the debit (the only kind the families raise there) never keep it."""
    kit = Kit()
    configure_key(kit.ctx, KEY, {"credits": credits})
    for step in steps:
        forced = None
        if step == "fail_later":
            forced = Forced(CATALOG["nuro.semantic_error"], "test", at_progress=0)
        elif step == "gateway":
            forced = Forced(CATALOG["nuro.usage_limit"], "test")
        inside = step if step == "nuro.language_not_supported" else None
        try:
            create(kit, forced=forced, fail_inside=inside)
        except MockError:
            pass
        kit.advance(100)
    account = balance(kit.ctx, KEY)
    entries = kit.store.entries(KEY)
    sums = totals(entries)
    assert sums["balance"] == account.credits + account.extra_credits >= 0
    refunded = {e.task_id for e in entries if e.reason == "refund"}
    for debit in (e for e in entries if e.reason == "debit"):
        assert kit.store.get_task(str(debit.task_id)) is not None or debit.task_id in refunded
    assert len(refunded) == len([e for e in entries if e.reason == "refund"])  # never twice
