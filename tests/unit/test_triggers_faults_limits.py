"""Triggers, fault rules and the QPS limiter: pure rules over a memory store."""

from __future__ import annotations

import pytest

from mockserver.engine.limits import QpsLimiter
from mockserver.engine.triggers import (
    TriggerHeaders,
    forced_error,
    from_prefer,
    from_values,
    magic_preset,
    parse_forced,
    raise_forced,
    raise_gateway,
)
from mockserver.errors import MockError
from tests.unit.engine_kit import Kit


def test_magic_keys_and_their_suffixes() -> None:
    assert magic_preset("sk_mock_expired") == {"expires_at": 0.0}
    assert magic_preset("sk_mock_expired_team_a") == {"expires_at": 0.0}
    assert magic_preset("sk_mock_expiredx") is None and magic_preset("sk_test") is None


def test_parse_forced_names_the_error_and_progress_or_refuses() -> None:
    forced = parse_forced("nuro.algorithm_error@40", "nuroCreate", "test")
    assert (forced.spec.id, forced.at_progress) == ("nuro.algorithm_error", 40)
    for text, words in (("nope", "Unknown error id"), ("sonic.rate_limited", "cannot happen on nuroCreate")):
        with pytest.raises(MockError, match=words) as raised:
            parse_forced(text, "nuroCreate", "test")
        assert raised.value.spec.id == "request.bad_scenario"
    with pytest.raises(MockError, match="progress must be 0-99"):
        parse_forced("nuro.algorithm_error@100", "nuroCreate", "test")


def test_prefer_code_picks_the_operations_own_error_first() -> None:
    forced = from_prefer("code=404", "nuroGetTask")
    assert forced is not None and forced.spec.id == "nuro.task_not_found"
    assert from_prefer("code=200", "nuroGetTask") is None
    with pytest.raises(MockError, match="matches no documented error"):
        from_prefer("code=418", "nuroGetTask")


def test_magic_values_are_found_in_any_string() -> None:
    forced = from_values([None, 3, "la la #mock:nuro.semantic_error@7 la"], "nuroCreate")
    assert forced is not None and (forced.spec.id, forced.at_progress) == ("nuro.semantic_error", 7)
    assert from_values(["#mock: nothing"], "nuroCreate") is None


def test_trigger_precedence_header_then_prefer_then_fault_then_value() -> None:
    kit = Kit()
    faults = kit.ctx.faults
    faults.add("nuroCreate", "nuro.queue_full", times=1)
    values = ["#mock:nuro.algorithm_error"]
    header = TriggerHeaders(scenario="nuro.timeout", prefer="code=403")
    assert forced_error(faults, "nuroCreate", "k", header, values).spec.id == "nuro.timeout"  # type: ignore[union-attr]
    prefer = forced_error(faults, "nuroCreate", "k", TriggerHeaders(prefer="code=504"), values)
    assert prefer is not None and prefer.spec.id == "nuro.timeout"
    fault = forced_error(faults, "nuroCreate", "k", TriggerHeaders(), values)
    assert fault is not None and fault.spec.id == "nuro.queue_full"
    value = forced_error(faults, "nuroCreate", "k", TriggerHeaders(), values)  # the fault is used up
    assert value is not None and value.spec.id == "nuro.algorithm_error"


def test_gateway_and_forced_stages() -> None:
    after_debit = parse_forced("nuro.queue_full", "nuroCreate", "t")
    task_failure = parse_forced("nuro.algorithm_error", "nuroCreate", "t")
    raise_gateway(after_debit)  # left for billing
    raise_gateway(task_failure)
    raise_forced(task_failure)  # a task failure never answers a request
    with pytest.raises(MockError):
        raise_forced(after_debit)  # nothing is billed: every stage is now


def test_fault_rules_count_down_and_probabilities_are_reproducible() -> None:
    kit = Kit()
    rule = kit.ctx.faults.add("nuroGetTask", "nuro.api_error", times=2, api_key="sk_a")
    hits = [kit.ctx.faults.match("nuroGetTask", key) for key in ("sk_b", "sk_a", "sk_a", "sk_a")]
    assert [h is not None for h in hits] == [False, True, True, False]
    assert kit.ctx.faults.rules[0].hits == 2 and rule.id == 1

    def draws(seed: int) -> list[bool]:
        other = Kit(config=Kit().config.with_(seed=seed))
        other.ctx.faults.add("nuroGetTask", "nuro.api_error", probability=0.5)
        return [other.ctx.faults.match("nuroGetTask", None) is not None for _ in range(40)]

    assert draws(7) == draws(7) and 5 < sum(draws(7)) < 35 and draws(7) != draws(8)
    with pytest.raises(MockError, match="exactly one of times or probability"):
        kit.ctx.faults.add("nuroGetTask", "nuro.api_error")


def test_qps_windows_on_the_virtual_clock() -> None:
    kit = Kit()
    limiter = QpsLimiter(kit.store)
    now = kit.ctx.clock.now()
    assert [limiter.admit("k", 2, now) for _ in range(3)] == [True, True, False]
    assert limiter.admit("k", 2, now + 1.0)
    assert [limiter.admit("slow", 1 / 3, now + t) for t in (0, 2.9, 3.0)] == [True, False, True]
    assert not limiter.admit("none", 0, now) and limiter.admit("free", None, now)
