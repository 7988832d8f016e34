"""Layer 3: what no schema can say about Nuro's task lifecycle and credits — a hypothesis
``RuleBasedStateMachine`` plus deterministic walkthroughs.

Promises checked (openapi/nuro.yaml ``NuroTask``/``NuroError``, README "Credits and refunds"):

* status only moves forward (pending → running → succeeded | failed); terminal states stay;
* progress never decreases, is 0 while pending and 100 exactly at success; ``duration`` never changes;
* ``audio_url`` is set exactly when succeeded; ``error`` exactly when failed, with the catalog's type and
  message; a task fails only when told to (magic value, control plane), never on its own;
* unknown ids get the documented not-found; Nuro answers 410 once retired (sunset);
* credits are conserved: start = balance + debits − refunds, every debit is the documented price, a
  refused create is refunded at once, a failed task is refunded exactly once (``refund_processed`` true
  on one read at most, ``already_refunded`` after), and nothing else is refunded.

Needs the control plane (virtual clock, ledger, task failures): skipped on live.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from contracts import families, mockplane
from contracts.session import ContractSession, Target, current, response_problems

CONTRACT = current()
PRICE = CONTRACT.pricing.list_price("nuroCreate")
TASK_FAILURES = sorted(e.id for e in CONTRACT.catalog if "nuroCreate" in e.operations and e.task_failure)
UPSTREAM = sorted(
    e.id for e in CONTRACT.catalog if "nuroCreate" in e.operations and e.after_debit and not e.task_failure
)
EXAMPLES, STEPS = 25, 30
CONTROL = "needs the mock's control plane (virtual clock, ledger, task failures)"


def machine_target(contract: ContractSession) -> tuple[Target, bool]:
    """Where the state machine runs: the suite's own sunset mock (reset per example, so it may retire
    Nuro), or your mock (never reset; Nuro must be served there)."""
    if contract.options.mode == "own" and contract.targets.sunset is not None:
        return contract.targets.sunset, True
    return lifecycle_target(contract), False


def lifecycle_target(contract: ContractSession, *, manual_clock: bool = False) -> Target:
    """Where the deterministic lifecycle tests run: the main target, if it serves Nuro (and, for tests that
    time every read, if its clock moves only when told)."""
    if contract.main.nuro_gone:
        pytest.skip(f"Nuro answers 410 on {contract.main.label}; its lifecycle needs a legacy mock")
    if manual_clock:
        with contract.control(contract.main) as control:
            profile = control.get("/_mock/clock").json().get("profile")
        if profile != "manual":
            pytest.skip(
                f"the walkthrough times every read; {contract.main.label} runs a {profile} clock "
                "(start it with --clock manual)"
            )
    return contract.main


def with_marker(body: dict[str, Any], marker: str) -> dict[str, Any]:
    """A Nuro body with a magic ``#mock:`` marker in its text."""
    out = dict(body)
    field = "lyrics" if out["type"] == "vocal" else "description"
    out[field] = f"{out[field]} {marker}"
    return out


@dataclass
class TaskModel:
    """What the machine knows about one task."""

    task_id: str
    #: The catalog id of a planned failure; None means the task must succeed.
    planned: str | None
    status: str | None = None
    progress: int = 0
    duration: float | None = None
    processed_reads: int = 0
    already_seen: bool = False


class NuroLifecycle(RuleBasedStateMachine):
    """One key, its tasks, the clock, and the ledger: every read is checked against the model."""

    contract: ContractSession
    target: Target
    resettable: bool
    catalog: dict[str, dict[str, Any]]
    tasks = Bundle("tasks")

    def __init__(self) -> None:
        super().__init__()
        if self.resettable:
            mockplane.reset(self.contract, self.target)
        self.key = self.contract.fresh_key("lifecycle")
        self._client = self.contract.client(self.target, self.key)
        self.http: httpx.Client = self._client.__enter__()
        self.start = self.contract.credits(self.key, self.target)
        self.model: dict[str, TaskModel] = {}
        self.debits = 0
        self.upstream_refunds = 0
        self.retired = False

    def teardown(self) -> None:
        """Conservation at the end, then close the client."""
        try:
            self.check_balance()
        finally:
            self._client.__exit__(None, None, None)

    # --- creating ---------------------------------------------------------------------------------

    @initialize(
        target=tasks,
        kind=st.sampled_from(sorted(families.NURO_BODIES)),
        fate=st.sampled_from([None, *TASK_FAILURES]),
        at=st.integers(1, 99),
    )
    def first_task(self, kind: str, fate: str | None, at: int) -> Any:
        """Every example starts with a task to watch."""
        return self.create(kind, fate, at)

    @rule(
        target=tasks,
        kind=st.sampled_from(sorted(families.NURO_BODIES)),
        fate=st.sampled_from([None, *TASK_FAILURES]),
        at=st.integers(1, 99),
    )
    def create(self, kind: str, fate: str | None, at: int) -> Any:
        """Create a task, maybe with a planned failure (``#mock:<error>@<progress>``)."""
        body = dict(families.NURO_BODIES[kind])
        if fate is not None:
            body = with_marker(body, f"#mock:{fate}@{at}")
        response = self.http.post("/api/v1/nuro/create", json=body)
        if self.retired:
            self.expect_gone(response)
            return multiple()
        self.conforms("nuroCreate", response)
        assert response.status_code == 200, f"create {kind}: {response.status_code} {response.text}"
        task_id = response.json()["task_id"]
        assert task_id not in self.model, f"task id {task_id} given twice"
        self.model[task_id] = TaskModel(task_id, fate)
        self.debits += 1
        return task_id

    @rule(error=st.sampled_from(UPSTREAM))
    def create_refused_after_debit(self, error: str) -> None:
        """A create refused upstream (after the debit) is refunded at once, and says so."""
        response = self.http.post(
            "/api/v1/nuro/create", json=with_marker(families.NURO_BODIES["bgm_v1"], f"#mock:{error}")
        )
        if self.retired:
            self.expect_gone(response)
            return
        entry = self.catalog[error]
        body = self.conforms("nuroCreate", response)
        assert (response.status_code, body.get("type"), body.get("message")) == (
            entry["status"],
            entry["type"],
            entry["message"],
        ), body
        assert body.get("refund_processed") is entry["refunds"] and body.get("already_refunded") is False, (
            f"{error}: refund flags {body}"
        )
        self.debits += 1
        self.upstream_refunds += 1 if entry["refunds"] else 0

    @rule()
    def create_invalid(self) -> None:
        """A body the schema rejects is refused before any debit (no refund fields)."""
        response = self.http.post("/api/v1/nuro/create", json={"type": "bgm"})
        if self.retired:
            self.expect_gone(response)
            return
        body = self.conforms("nuroCreate", response)
        assert response.status_code == 400 and body["type"] == "bad_request", body
        assert "refund_processed" not in body and "already_refunded" not in body, body

    # --- time and the control plane ------------------------------------------------------------------

    @rule(seconds=st.integers(1, 25))
    def advance(self, seconds: int) -> None:
        """Let virtual time pass."""
        mockplane.advance(self.contract, self.target, seconds)

    @rule(task=tasks, error=st.sampled_from(TASK_FAILURES), at=st.one_of(st.none(), st.integers(0, 99)))
    def fail(self, task: str, error: str, at: int | None) -> None:
        """Make a task fail now or at a progress; a finished task refuses with 409."""
        status, body = mockplane.fail_task(self.contract, self.target, task, error, at)
        if status == 200:
            self.model[task].planned = error
        else:
            assert status == 409 and body.get("error_id") == "control.task_finished", body

    @rule(task=tasks)
    def complete(self, task: str) -> None:
        """Make a task succeed now; a finished task refuses with 409."""
        status, body = mockplane.complete_task(self.contract, self.target, task)
        if status == 200:
            self.model[task].planned = None
        else:
            assert status == 409 and body.get("error_id") == "control.task_finished", body

    @precondition(lambda self: self.resettable and not self.retired and self.target.sunset_at is not None)
    @rule()
    def retire(self) -> None:
        """Move past Nuro's sunset: from now on every Nuro call answers 410 Gone."""
        assert self.target.sunset_at is not None
        gap = self.target.sunset_at - mockplane.now(self.contract, self.target)
        mockplane.advance(self.contract, self.target, max(gap, 0) + 3600)
        self.retired = True

    # --- reading ------------------------------------------------------------------------------------

    @rule(task=tasks)
    def poll(self, task: str) -> None:
        """Read a task and check it against everything seen before."""
        response = self.http.get(f"/api/v1/nuro/task/{task}")
        if self.retired:
            self.expect_gone(response)
            return
        body = self.conforms("nuroGetTask", response)
        assert response.status_code == 200, body
        self.check_task(self.model[task], body)

    @rule(seconds=st.integers(1, 12))
    def watch(self, seconds: int) -> None:
        """Let a little time pass, then read every task (how a client polls)."""
        mockplane.advance(self.contract, self.target, seconds)
        for task in list(self.model):
            self.poll(task)

    @rule()
    def poll_unknown(self) -> None:
        """An id nobody has: the documented not-found."""
        response = self.http.get(f"/api/v1/nuro/task/{uuid.uuid4()}")
        if self.retired:
            self.expect_gone(response)
            return
        body = self.conforms("nuroGetTask", response)
        entry = self.catalog["nuro.task_not_found"]
        assert (response.status_code, body["type"], body["message"]) == (
            entry["status"],
            entry["type"],
            entry["message"],
        ), body

    @rule()
    def check_balance(self) -> None:
        """start = balance + debits − refunds; debits at the documented price; each refund once, and due."""
        balance = self.contract.credits(self.key, self.target)
        book = mockplane.ledger(self.contract, self.target, self.key)
        totals = book.totals
        assert totals["balance"] == balance, f"ledger balance {totals['balance']} != get-credits {balance}"
        assert self.start == balance + totals["debited"] - totals["refunded"], (
            f"credits not conserved: start {self.start}, balance {balance}, ledger {totals}"
        )
        debits = book.of("debit")
        assert [-e["amount"] for e in debits] == [PRICE] * self.debits, (
            f"expected {self.debits} debits of {PRICE}, ledger has {[e['amount'] for e in debits]}"
        )
        per_task = book.refunds_per_task()
        twice = {task: n for task, n in per_task.items() if n > 1}
        assert not twice, f"refunded more than once: {twice}"
        for entry in book.of("refund"):
            assert entry["amount"] == PRICE, entry
            if entry["error_id"] in UPSTREAM:
                continue
            model = self.model.get(str(entry["task_id"]))
            assert model is not None and model.planned is not None, f"a refund nothing explains: {entry}"
        for model in self.model.values():
            if model.status == "failed":  # observed failed, and a balance read settles every due refund
                assert per_task[model.task_id] == 1, f"failed task {model.task_id} not refunded: {book.entries}"
        upstream = [e for e in book.of("refund") if e["error_id"] in UPSTREAM]
        assert len(upstream) == self.upstream_refunds, (
            f"{len(upstream)} upstream refunds, expected {self.upstream_refunds}"
        )

    # --- checks ---------------------------------------------------------------------------------------

    def conforms(self, operation_id: str, response: httpx.Response) -> Any:
        """The answer matches the spec; its JSON body."""
        problems = response_problems(
            self.contract.spec,
            operation_id,
            response.status_code,
            response.headers.get("content-type"),
            response.content,
        )
        assert not problems, "; ".join(problems)
        return response.json()

    def expect_gone(self, response: httpx.Response) -> None:
        """After the sunset every Nuro call is 410 Gone."""
        assert response.status_code == 410, f"after the sunset: {response.status_code} {response.text}"
        body = response.json()
        assert body["type"] == "gone", body

    def check_task(self, model: TaskModel, body: dict[str, Any]) -> None:
        """One read of a task, against its history."""
        assert body["task_id"] == model.task_id, body
        problems = families.nuro_task_problems(body)
        assert not problems, "; ".join(problems)
        status, progress = body["status"], body["progress"]
        if model.status is not None:
            rank = families.NURO_RANK
            assert rank[status] >= rank[model.status], f"status went back: {model.status} -> {status}"
            if rank[model.status] == 2:
                assert status == model.status, f"terminal state left: {model.status} -> {status}"
            assert progress >= model.progress, f"progress went back: {model.progress} -> {progress} ({status})"
            assert body["duration"] == model.duration, f"duration changed: {model.duration} -> {body['duration']}"
        if status == "failed":
            assert model.planned is not None, f"task {model.task_id} failed on its own: {body['error']}"
            entry = self.catalog[model.planned]
            error = body["error"]
            assert (error["type"], error["message"]) == (entry["type"], entry["message"]), error
            flags = (error.get("refund_processed"), error.get("already_refunded"))
            assert all(isinstance(flag, bool) for flag in flags), (
                f"a charged task's error must say whether it was refunded: {error}"
            )
            if error["refund_processed"]:
                assert not error["already_refunded"], error
                model.processed_reads += 1
                assert model.processed_reads == 1 and not model.already_seen, (
                    f"refund_processed on more than one read of {model.task_id}"
                )
            else:
                assert error["already_refunded"], f"a refundable failure was never refunded: {error}"
                model.already_seen = True
        if status == "succeeded":
            assert model.planned is None, f"task {model.task_id} succeeded though told to fail with {model.planned}"
        model.status, model.progress, model.duration = status, progress, body["duration"]


def served_catalog(contract: ContractSession, target: Target) -> dict[str, dict[str, Any]]:
    """The served catalog by id."""
    return {e["id"]: e for e in mockplane.served_catalog(contract, target)}


@pytest.mark.control_plane(CONTROL)
@pytest.mark.cost(credits=EXAMPLES * STEPS * PRICE)
def test_nuro_lifecycle_state_machine(contract: ContractSession) -> None:
    """Random sequences of creates, polls, clock moves, failures, completions and balance reads."""
    target, resettable = machine_target(contract)
    NuroLifecycle.contract, NuroLifecycle.target, NuroLifecycle.resettable = contract, target, resettable
    NuroLifecycle.catalog = served_catalog(contract, target)
    try:
        run_state_machine_as_test(
            NuroLifecycle,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            ),
        )
    finally:
        if resettable:
            mockplane.reset(contract, target)


@pytest.mark.control_plane(CONTROL)
@pytest.mark.cost(credits=PRICE)
@pytest.mark.parametrize("kind", sorted(families.NURO_BODIES))
def test_nuro_task_walks_forward_to_success(contract: ContractSession, kind: str) -> None:
    """Polled every 2 virtual seconds, a task goes pending → running → succeeded and never back."""
    target = lifecycle_target(contract, manual_clock=True)
    key = contract.fresh_key("walk")
    with contract.client(target, key) as http:
        created = http.post("/api/v1/nuro/create", json=families.NURO_BODIES[kind])
        assert created.status_code == 200, created.text
        model = TaskModel(created.json()["task_id"], None)
        NuroLifecycle.catalog = served_catalog(contract, target)
        checker = NuroLifecycle.__new__(NuroLifecycle)
        checker.contract, checker.target = contract, target
        seen: list[tuple[str, int]] = []
        for _ in range(200):
            response = http.get(f"/api/v1/nuro/task/{model.task_id}")
            body = checker.conforms("nuroGetTask", response)
            checker.check_task(model, body)
            seen.append((body["status"], body["progress"]))
            if body["status"] == "succeeded":
                break
            mockplane.advance(contract, target, 2)
    statuses = [s for s, _ in seen]
    assert statuses[0] == "pending" and "running" in statuses and statuses[-1] == "succeeded", seen
    assert len({p for s, p in seen if s == "running"}) >= 3, f"too few running reads to judge progress: {seen}"


@pytest.mark.control_plane(CONTROL)
@pytest.mark.cost(credits=PRICE)
@pytest.mark.parametrize("error", TASK_FAILURES)
def test_failed_task_is_refunded_exactly_once(contract: ContractSession, error: str) -> None:
    """A task that fails at 40 % says refund_processed once, already_refunded after; one refund entry."""
    target = lifecycle_target(contract)
    key = contract.fresh_key("refund")
    start = contract.credits(key, target)
    catalog = served_catalog(contract, target)
    with contract.client(target, key) as http:
        created = http.post("/api/v1/nuro/create", json=with_marker(families.NURO_BODIES["vocal"], f"#mock:{error}@40"))
        assert created.status_code == 200, created.text
        task_id = created.json()["task_id"]
        assert contract.credits(key, target) == start - PRICE
        mockplane.advance(contract, target, 600)
        reads = [http.get(f"/api/v1/nuro/task/{task_id}").json() for _ in range(3)]
    errors = [r.get("error") or {} for r in reads]
    assert all(r["status"] == "failed" and r["progress"] == 40 for r in reads), reads
    assert all((e.get("type"), e.get("message")) == (catalog[error]["type"], catalog[error]["message"]) for e in errors)
    assert [(e.get("refund_processed"), e.get("already_refunded")) for e in errors] == [
        (True, False),
        (False, True),
        (False, True),
    ], errors
    assert contract.credits(key, target) == start
    book = mockplane.ledger(contract, target, key)
    assert book.refunds_per_task() == {task_id: 1}, book.entries
    assert start == contract.credits(key, target) + book.totals["debited"] - book.totals["refunded"]


@pytest.mark.control_plane("needs a mock the suite started with a Nuro sunset (its clock is moved past it)")
@pytest.mark.cost(credits=PRICE)
def test_nuro_sunset_retires_existing_tasks(contract: ContractSession) -> None:
    """Before the sunset Nuro works (with Deprecation/Sunset headers); after it, create and poll are 410."""
    target = contract.targets.sunset
    if target is None or target.sunset_at is None:
        pytest.skip("needs a mock the suite started itself (no --mock-url)")
    mockplane.reset(contract, target)
    key = contract.fresh_key("sunset")
    with contract.client(target, key) as http:
        created = http.post("/api/v1/nuro/create", json=families.NURO_BODIES["bgm_v1"])
        assert created.status_code == 200, created.text
        assert "deprecation" in created.headers and "sunset" in created.headers, created.headers
        task_id = created.json()["task_id"]
        mockplane.advance(contract, target, target.sunset_at - mockplane.now(contract, target) + 60)
        after = [
            http.get(f"/api/v1/nuro/task/{task_id}"),
            http.post("/api/v1/nuro/create", json=families.NURO_BODIES["bgm_v1"]),
        ]
    for response in after:
        assert response.status_code == 410, response.text
        assert response.json()["type"] == "gone"
    mockplane.reset(contract, target)
