"""Layer 3, Sonic and Producer: one create followed to its end — on the mock's virtual clock or on real
time, with the same checks (``contracts.follow``, ``contracts.histories``). Runs live too.

For each family's main create, within the budget:

* the create answers its documented 200 with a task id (schema-checked);
* every poll, at the documented interval, matches the spec and the task's history: states only forward,
  terminal states stay, progress never back, audio exactly when succeeded; Sonic makes **two clips**,
  Producer one song;
* the task finishes before the documented deadline and every finished result's audio URL answers a
  ``HEAD`` (or a ranged ``GET``) with audio;
* the balance, read before and after with get-credits, fell by exactly the documented price (a price
  change is reported with both values), and a succeeded task is not refunded.

The only control-plane use is moving a mock's clock instead of sleeping (``VirtualClock``).
"""

from __future__ import annotations

import pytest

from contracts import families
from contracts.follow import audio_problems, clock_for, follow, poll_plan
from contracts.session import ContractSession, current, response_problems

CONTRACT = current()


def documented_price(contract: ContractSession, operation_id: str) -> int:
    """The documented price of one create with the sample body (the operation's base price)."""
    return contract.pricing.base_price(operation_id)


def follow_create(contract: ContractSession, create: str) -> None:
    """Create with the operation's sample body and follow the task to its end (see the module docs)."""
    if create not in contract.spec.operations:
        pytest.skip(f"{create} is not in the product spec")
    link = families.linked_poll(contract.spec, create)
    body = families.valid_body(contract.spec, create)
    assert link is not None and body is not None, f"{create} needs a link and a valid example"
    poll = link[0]
    target = contract.main
    key = contract.options.key if contract.live else contract.fresh_key(create)
    price = documented_price(contract, create)
    clock = clock_for(contract, target)
    before = contract.credits(key, target)
    op = contract.spec.operations[create]
    with contract.client(target, key) as http:
        made = http.request(op.method, op.path, json=body)
        problems = response_problems(
            contract.spec, create, made.status_code, made.headers.get("content-type"), made.content
        )
        assert made.status_code == 200 and not problems, f"{create}: {made.status_code} {made.text[:300]} {problems}"
        task_id = str(families.pointer(made.json(), link[1]))
        charged = before - contract.credits(key, target)
        plan = poll_plan(contract, poll)
        contract.say(
            f"{create}: task {task_id}, {charged} credits debited; polling every {plan.interval:g} s "
            f"until it finishes (deadline {plan.deadline:g} s)"
        )
        done = follow(contract, http, poll, task_id, clock, contract.say)
    assert charged == price, (
        f"{create} debited {charged} credits; the documented price is {price} (a price change is a finding: "
        f"update mockserver.config.DEFAULT_COSTS and openapi/ERRATA.md if the service changed)"
    )
    assert done.history.succeeded(), f"{task_id} finished without succeeding: {done.bodies[-1]}"
    urls = done.history.audio_urls()
    assert urls, f"{task_id} succeeded without audio: {done.bodies[-1]}"
    for url in urls:
        problems = audio_problems(url)
        assert not problems, "; ".join(problems)
    after = contract.credits(key, target)
    assert before - after == price, f"a succeeded {create} cost {before - after} credits by the end, not {price}"


@pytest.mark.lifecycle
@pytest.mark.cost(credits=CONTRACT.pricing.base_price("sonicCreate"))
def test_sonic_create_makes_two_clips_that_finish(contract: ContractSession) -> None:
    """A Sonic create yields two clips that move forward to succeeded with their audio, at its price."""
    follow_create(contract, "sonicCreate")


@pytest.mark.lifecycle
@pytest.mark.cost(credits=CONTRACT.pricing.base_price("producerCreate"))
def test_producer_task_moves_forward_to_one_song(contract: ContractSession) -> None:
    """A Producer task goes PENDING → RUNNING → SUCCESS, never back, and ends with one song, at its price."""
    follow_create(contract, "producerCreate")
