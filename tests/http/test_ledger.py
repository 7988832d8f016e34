"""The credit ledger over HTTP: debits at create, free polling, extra credits first, exactly-once refunds."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.helpers import KEY, ServerFactory, advance

VOCAL = {"type": "vocal", "lyrics": "Hello world, la la la"}
FAILING = {"type": "vocal", "lyrics": "la la #mock:nuro.algorithm_error@10"}


def credits(client: httpx.Client, key: str = KEY) -> dict[str, int]:
    body: dict[str, int] = client.get("/api/v1/get-credits", headers={"Authorization": f"Bearer {key}"}).json()
    return body


def test_get_credits_shape_and_starting_balance(legacy: httpx.Client) -> None:
    assert credits(legacy) == {"credits": 1000, "extra_credits": 0}
    entries = legacy.get("/_mock/ledger", params={"api_key": KEY}).json()["entries"]
    assert [(e["reason"], e["amount"]) for e in entries] == [("grant", 1000)]


def test_debit_at_create_polling_free_extra_first(legacy: httpx.Client) -> None:
    legacy.put(f"/_mock/keys/{KEY}", json={"credits": 100, "extra_credits": 15}).raise_for_status()
    task_id = legacy.post("/api/v1/nuro/create", json=VOCAL).json()["task_id"]
    assert credits(legacy) == {"credits": 100, "extra_credits": 5}
    for _ in range(5):
        legacy.get(f"/api/v1/nuro/task/{task_id}")
    assert credits(legacy) == {"credits": 100, "extra_credits": 5}
    legacy.post("/api/v1/nuro/create", json=VOCAL)
    assert credits(legacy) == {"credits": 95, "extra_credits": 0}  # 5 extra, then 5 regular


def test_refund_returns_each_pool_what_it_took(legacy: httpx.Client) -> None:
    legacy.put(f"/_mock/keys/{KEY}", json={"credits": 100, "extra_credits": 4}).raise_for_status()
    task_id = legacy.post("/api/v1/nuro/create", json=FAILING).json()["task_id"]
    assert credits(legacy) == {"credits": 94, "extra_credits": 0}
    advance(legacy, 120)
    assert credits(legacy) == {"credits": 100, "extra_credits": 4}  # settled by the balance read
    error = legacy.get(f"/api/v1/nuro/task/{task_id}").json()["error"]
    # the first read of the task says so, whichever call settled the refund (fidelity audit D10)
    assert error["refund_processed"] is True and error["already_refunded"] is False
    again = legacy.get(f"/api/v1/nuro/task/{task_id}").json()["error"]
    assert again["refund_processed"] is False and again["already_refunded"] is True
    refund = legacy.get("/_mock/ledger", params={"api_key": KEY}).json()["entries"][-1]
    assert (refund["reason"], refund["credits"], refund["extra_credits"]) == ("refund", 6, 4)
    task = legacy.get(f"/_mock/tasks/{task_id}").json()
    assert task["refunded"] is True and refund["instant"] == task["failure"]["at"]


def test_costs_are_configurable(start_server: ServerFactory) -> None:
    from mockserver.config import NuroMode

    server = start_server(
        clock="manual",
        nuro=NuroMode.parse("legacy"),
        costs={"nuroCreate": 3},
        initial_credits=7,
        initial_extra_credits=1,
    )
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k"}) as client:
        assert credits(client, "k") == {"credits": 7, "extra_credits": 1}
        assert client.post("/api/v1/nuro/create", json=VOCAL).status_code == 200
        assert credits(client, "k") == {"credits": 5, "extra_credits": 0}


async def _burst(url: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, limits=limits) as client:
        return list(await asyncio.gather(*(client.post("/api/v1/nuro/create", json=b) for b in bodies)))


def test_fifty_concurrent_clients_conserve_credits(legacy: httpx.Client) -> None:
    """Room for only some: the balance never goes negative, accepted tasks are debited once, every
    failed one refunded once, and start == balance + debits - refunds."""
    legacy.put(f"/_mock/keys/{KEY}", json={"credits": 250, "queue_capacity": 15}).raise_for_status()
    start = 1000 - 1000 + 250  # granted 1000, adjusted to 250
    accepted: list[str] = []
    for _round in range(3):
        bodies = [FAILING if i % 2 else VOCAL for i in range(50)]
        responses = asyncio.run(_burst(str(legacy.base_url), bodies))
        ok = [r for r in responses if r.status_code == 200]
        rejected = [r.json() for r in responses if r.status_code != 200]
        assert len(ok) <= 15, "queue capacity exceeded"
        assert {(r["type"], r["message"]) for r in rejected} <= {
            ("forbidden", "Queue is full"),
            ("forbidden", "The remaining credits are not enough. You can buy more one-time credit packs or subscribe."),
        }
        for body in rejected:  # queue full: debited then refunded at once; no credits: never debited
            queue_full = body["message"] == "Queue is full"
            assert ("refund_processed" in body) is queue_full
            assert body.get("refund_processed", True) is True
        accepted += [r.json()["task_id"] for r in ok]
        assert credits(legacy)["credits"] >= 0
        advance(legacy, 200)  # everything finishes (half fail at 10 %)
    for task_id in accepted:
        legacy.get(f"/api/v1/nuro/task/{task_id}")  # reads settle refunds; a second read must not refund again
        legacy.get(f"/api/v1/nuro/task/{task_id}")

    ledger = legacy.get("/_mock/ledger", params={"api_key": KEY}).json()
    entries, totals = ledger["entries"], ledger["totals"]
    running = 0
    for entry in entries:
        running += entry["amount"]
        assert running >= 0, "the balance went negative"
    debits = [e for e in entries if e["reason"] == "debit"]
    refunds = [e for e in entries if e["reason"] == "refund"]
    accepted_debits = {e["task_id"] for e in debits} & set(accepted)
    assert accepted_debits == set(accepted), "every accepted task is debited"
    assert len([e for e in debits if e["task_id"] in accepted]) == len(accepted), "debited exactly once"
    refunded_tasks = [e["task_id"] for e in refunds if e["task_id"] in accepted]
    failed = [t for t in accepted if legacy.get(f"/_mock/tasks/{t}").json()["status"] == "failed"]
    assert sorted(refunded_tasks) == sorted(failed), "each failed task refunded exactly once"
    assert len(failed) > 0 and len(accepted) > len(failed)
    balance = credits(legacy)["credits"]
    assert start == balance + totals["debited"] - totals["refunded"]
    assert totals["balance"] == balance
