"""Layer 4: every error of the mock's catalog, forced on every operation it names, answered as documented.

The list comes from the served catalog (``GET /_mock/errors``), not from a copy: one test per (error,
operation). Each is forced twice — with a fault rule (``POST /_mock/faults``, scoped to a fresh key) and
with the ``X-Mock-Scenario`` header — and the answer must have the catalog's status, type and message,
conform to the operation's documented response, name the error in ``X-Mock-Error-Id``, carry the refund
flags exactly when the documents say (Nuro's error format), and leave the ledger as documented: a gateway
error moves nothing, an upstream error is refunded at once when its type qualifies, and a task failure
is refunded exactly once when first observed.

Mock only (the control plane): skipped on live.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from contracts import families, mockplane
from contracts.session import ContractSession, Target, current, response_problems

CONTRACT = current()
MAX_PRICE = max((p.price for p in CONTRACT.pricing.operations), default=0)
#: Families whose error bodies carry ``refund_processed``/``already_refunded`` (the Nuro error format).
REFUND_FLAGS_IN_ERRORS = frozenset({"nuro"})
TRIGGERS = ("fault-rule", "x-mock-scenario")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per (catalog error, operation it names), from the served catalog."""
    if "forced" not in metafunc.fixturenames:
        return
    contract = current()
    if not contract.main.control:
        metafunc.parametrize("forced", [pytest.param(None, id="live")])
        return
    operations = {op.operation_id for op in families.product_operations(contract.spec)}
    params = [
        pytest.param((entry, op), id=f"{entry['id']}-{op}")
        for entry in mockplane.served_catalog(contract, contract.main)
        for op in entry["operations"]
        if op in operations
    ]
    metafunc.parametrize("forced", params)


def nuro_failure(body: dict[str, Any]) -> tuple[str | None, str | None] | None:
    """Nuro: ``status: failed`` with ``error {type, message}``."""
    if body.get("status") != "failed":
        return None
    error = body.get("error") or {}
    return error.get("type"), error.get("message")


def sonic_failure(body: dict[str, Any]) -> tuple[str | None, str | None] | None:
    """Sonic: every clip ``state: failed`` with the ``error_message``."""
    clips = body.get("data")
    if not isinstance(clips, list) or not clips or any(c.get("state") != "failed" for c in clips):
        return None
    return None, clips[0].get("error_message")


def producer_failure(body: dict[str, Any]) -> tuple[str | None, str | None] | None:
    """Producer: ``status: FAILED`` with the failure ``type`` (the message says whether credits came back)."""
    if body.get("status") != "FAILED":
        return None
    return body.get("type"), None


#: How each family's poll body shows a failed task: (type, message); None where the family does not say.
FAILURE_READERS: dict[str, Callable[[dict[str, Any]], tuple[str | None, str | None] | None]] = {
    "nuro": nuro_failure,
    "sonic": sonic_failure,
    "producer": producer_failure,
}


def creator_of(contract: ContractSession, poll: str) -> tuple[str, str] | None:
    """The create operation whose OpenAPI link leads to ``poll``, and the JSON pointer of the id."""
    for op in families.product_operations(contract.spec):
        link = families.linked_poll(contract.spec, op.operation_id)
        if link is not None and link[0] == poll:
            return op.operation_id, link[1]
    return None


class Caller:
    """Makes the forced call of one operation with one key (creating a task first for a poll)."""

    def __init__(self, contract: ContractSession, target: Target, operation_id: str, key: str) -> None:
        self.contract, self.target, self.key = contract, target, key
        self.op = contract.spec.operations[operation_id]
        self.body = families.valid_body(contract.spec, operation_id)
        if self.op.body is not None and self.body is None:
            pytest.skip(f"no valid example body for {operation_id} in the spec")

    def create(self, http: httpx.Client, operation_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """A create call with the operation's valid body."""
        op = self.contract.spec.operations[operation_id]
        return http.request(
            op.method, op.path, json=families.valid_body(self.contract.spec, operation_id), headers=headers or {}
        )

    def prepare(self, http: httpx.Client) -> None:
        """Make the state the body refers to: finished clips of the caller, by the family's create (spec-derived)."""
        creator = families.clip_maker(self.contract.spec, self.op.operation_id)
        if creator is None or not isinstance(self.body, dict):
            return
        link = families.linked_poll(self.contract.spec, creator)
        assert link is not None, f"{creator} has no link to its poll"
        made = self.create(http, creator)
        assert made.status_code == 200, f"{creator} (to make a clip): {made.status_code} {made.text}"
        poll = self.contract.spec.operations[link[0]]
        mockplane.advance(self.contract, self.target, 3600)
        done = http.get(poll.path.replace("{task_id}", str(families.pointer(made.json(), link[1]))))
        assert done.status_code == 200, done.text
        data = done.json()["data"]
        clip_ids = [str(item["clip_id"]) for item in data]
        for name in [k for k in self.body if k.endswith("clip_ids")]:
            self.body[name] = clip_ids[:2]
        for name in [k for k in self.body if k.endswith("clip_id")]:
            self.body[name] = clip_ids[0]

    def path(self, http: httpx.Client) -> str:
        """The concrete path (a real task id for a poll, made by its linked create)."""
        if "{task_id}" not in self.op.path:
            return self.op.path
        creator = creator_of(self.contract, self.op.operation_id)
        task_id = "contract-unknown-task"
        if creator is not None:
            made = self.create(http, creator[0])
            assert made.status_code == 200, f"{creator[0]} (to get a task id): {made.status_code} {made.text}"
            task_id = str(families.pointer(made.json(), creator[1]))
        return self.op.path.replace("{task_id}", task_id)

    def call(self, http: httpx.Client, path: str, headers: dict[str, str]) -> httpx.Response:
        """The call that is to fail."""
        if self.op.body is None:
            return http.request(self.op.method, path, headers=headers)
        return http.request(self.op.method, path, json=self.body, headers=headers)


@pytest.mark.control_plane("the error catalog and its triggers are the mock's (GET /_mock/errors)")
@pytest.mark.cost(credits=4 * MAX_PRICE)
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_catalog_error_is_answered_as_documented(
    contract: ContractSession, forced: tuple[dict[str, Any], str], trigger: str
) -> None:
    """Force one catalog error on one operation and check the answer and the ledger."""
    entry, operation_id = forced
    target = contract.main
    family = families.family_of(operation_id, contract.spec)
    if family == "nuro" and target.nuro_gone and entry["id"] != "nuro.gone":
        pytest.skip(f"Nuro answers 410 on {target.label} before any other error")
    key = contract.fresh_key("catalog")
    caller = Caller(contract, target, operation_id, key)
    if entry["task_failure"]:
        check_task_failure(contract, target, caller, entry, trigger)
        return
    start = contract.credits(key, target)
    with contract.client(target, key) as http:
        caller.prepare(http)
        path = caller.path(http)
        before = contract.credits(key, target)
        headers: dict[str, str] = {}
        if trigger == "fault-rule":
            mockplane.add_fault(contract, target, operation_id, entry["id"], key)
        else:
            headers["X-Mock-Scenario"] = entry["id"]
        response = caller.call(http, path, headers)
    body = check_error_answer(contract, operation_id, entry, response)
    billable = contract.pricing.billed(operation_id)
    book = mockplane.ledger(contract, target, key)
    after = contract.credits(key, target)
    flags = {k: body[k] for k in ("refund_processed", "already_refunded") if k in body}
    if entry["after_debit"] and billable:
        if family in REFUND_FLAGS_IN_ERRORS:
            assert flags == {"refund_processed": entry["refunds"], "already_refunded": False}, body
        assert book.of("debit"), f"{entry['id']} happens after the debit of a billed call, but nothing was debited"
        debit = book.of("debit")[-1]
        assert debit["task_id"] is not None, book.entries
        refunds = [e for e in book.of("refund") if e["task_id"] == debit["task_id"]]
        if entry["refunds"]:
            assert len(refunds) == 1 and refunds[0]["amount"] == -debit["amount"], book.entries
            assert after == before, f"a refunded {entry['id']} moved the balance {before} -> {after}"
        else:
            assert not refunds and after == before + debit["amount"], book.entries
    else:
        assert not flags, f"{entry['id']} happens before any debit: no refund fields expected, got {flags}"
        assert after == before, f"{entry['id']} on {operation_id} moved the balance {before} -> {after}"
    assert start - after == book.totals["debited"] - book.totals["refunded"], book.totals


def check_error_answer(
    contract: ContractSession, operation_id: str, entry: dict[str, Any], response: httpx.Response
) -> dict[str, Any]:
    """Status, type, message, id header and documented shape of a forced error."""
    assert response.status_code == entry["status"], (
        f"{entry['id']} on {operation_id}: {response.status_code} {response.text}"
    )
    problems = response_problems(
        contract.spec, operation_id, response.status_code, response.headers.get("content-type"), response.content
    )
    assert not problems, "; ".join(problems)
    body: dict[str, Any] = response.json()
    assert body.get("type") == entry["type"], body
    assert body.get("message") == entry["message"], body
    assert response.headers.get("x-mock-error-id") == entry["id"], dict(response.headers)
    return body


def check_task_failure(
    contract: ContractSession, target: Target, caller: Caller, entry: dict[str, Any], trigger: str
) -> None:
    """A task-failure error: the create is accepted; the task fails at 30 % and is refunded exactly once."""
    family = caller.op.family
    reader = FAILURE_READERS.get(family)
    link = families.linked_poll(contract.spec, caller.op.operation_id)
    if reader is None or link is None:
        pytest.skip(f"no way to read a failed {family} task yet (contracts/test_layer4_catalog.py FAILURE_READERS)")
    key = caller.key
    with contract.client(target, key) as http:
        caller.prepare(http)
    start = contract.credits(key, target)
    with contract.client(target, key) as http:
        headers: dict[str, str] = {}
        if trigger == "fault-rule":
            mockplane.add_fault(contract, target, caller.op.operation_id, entry["id"], key, at_progress=30)
        else:
            headers["X-Mock-Scenario"] = f"{entry['id']}@30"
        created = caller.call(http, caller.op.path, headers)
        assert created.status_code == 200, (
            f"{entry['id']} is a later task failure; the create must succeed: {created.status_code} {created.text}"
        )
        poll = contract.spec.operations[link[0]]
        path = poll.path.replace("{task_id}", str(families.pointer(created.json(), link[1])))
        mockplane.advance(contract, target, 3600)
        reads = [http.get(path) for _ in range(2)]
    for response in reads:
        assert response.status_code == 200, response.text
        problems = response_problems(
            contract.spec, poll.operation_id, 200, response.headers.get("content-type"), response.content
        )
        assert not problems, "; ".join(problems)
    bodies = [r.json() for r in reads]
    failures = [reader(b) for b in bodies]
    assert all(f is not None for f in failures), f"the task did not fail with {entry['id']}: {bodies}"
    for kind, message in (f for f in failures if f is not None):
        assert kind in (None, entry["type"]) and message in (None, entry["message"]), (kind, message, entry)
    if family in REFUND_FLAGS_IN_ERRORS:
        flags = [(b["error"].get("refund_processed"), b["error"].get("already_refunded")) for b in bodies]
        assert flags == [(entry["refunds"], False), (False, entry["refunds"])], flags
    book = mockplane.ledger(contract, target, key)
    assert book.refunds_per_task() == (
        {str(families.pointer(created.json(), link[1])): 1} if entry["refunds"] else {}
    ), book.entries
    assert contract.credits(key, target) == (start if entry["refunds"] else start - book.totals["debited"])
