"""Layer 0: what costs nothing and runs everywhere, live included — the key, auth errors, unknown task ids,
Nuro's 410, rejected input, get-credits.

Each answer is checked against the spec (status documented, JSON, body matches the schema); on mocks the
exact documented type and message are checked too.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from contracts import families
from contracts.session import WRONG_KEY, ContractSession, Target, current, response_problems
from mockserver.spec import Operation

CONTRACT = current()
OPERATIONS = families.product_operations(CONTRACT.spec)
POLLS = [op for op in OPERATIONS if op.method == "GET" and "{task_id}" in op.path]
BODIED = [op for op in OPERATIONS if op.body is not None]


def ids(ops: list[Operation]) -> list[str]:
    """pytest ids: operationIds."""
    return [op.operation_id for op in ops]


def conforms(contract: ContractSession, operation_id: str, response: httpx.Response) -> Any:
    """Assert the answer matches the spec; return its JSON body."""
    problems = response_problems(
        contract.spec, operation_id, response.status_code, response.headers.get("content-type"), response.content
    )
    assert not problems, f"{response.request.method} {response.request.url.path}: " + "; ".join(problems)
    return response.json()


def retirement(contract: ContractSession, op: Operation, target: Target) -> set[int] | None:
    """The statuses an unavailable/retired operation may answer anything with, or None when it is served."""
    policy = contract.refusals(target)
    if not policy.unavailable(op.operation_id):
        return None
    return policy.retirement_statuses(op.operation_id)


def not_an_object(op: Operation) -> bytes:
    """A JSON body the operation's schema rejects."""
    assert op.body is not None and not op.body.is_valid([])
    return b"[]"


def path_of(op: Operation) -> str:
    """A concrete path of an operation (path parameters filled with an id nobody has)."""
    return op.path.replace("{task_id}", f"contract-unknown-{uuid.uuid4()}")


@pytest.mark.cost(credits=0)
def test_preflight_key_is_accepted(contract: ContractSession) -> None:
    """get-credits answers 200 with the run's key and 401 with a key nobody has (the wrong-token trap)."""
    with contract.client() as http:
        body = conforms(contract, "getCredits", http.get("/api/v1/get-credits"))
    assert body["credits"] >= 0 and body["extra_credits"] >= 0
    with contract.client(key=WRONG_KEY) as http:
        wrong = http.get("/api/v1/get-credits")
    assert wrong.status_code == 401, wrong.text
    conforms(contract, "getCredits", wrong)


@pytest.mark.cost(credits=0)
@pytest.mark.parametrize("op", OPERATIONS, ids=ids(OPERATIONS))
@pytest.mark.parametrize("header", [None, "Basic c2s6c2s=", "Bearer"], ids=["missing", "basic", "empty-bearer"])
def test_requests_without_a_usable_key_are_401(contract: ContractSession, op: Operation, header: str | None) -> None:
    """Every product operation refuses a missing or malformed Authorization header with 401 (documented)."""
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Authorization"] = header
    with contract.client(auth=False) as http:
        response = http.request(
            op.method, path_of(op), headers=headers, content=not_an_object(op) if op.body is not None else None
        )
    allowed = {401} | (retirement(contract, op, contract.main) or set())
    assert response.status_code in allowed, f"{op.label} without a usable key: {response.status_code} {response.text}"
    body = conforms(contract, op.operation_id, response)
    if not contract.live and response.status_code == 401:
        expected = "Authorization header is missing." if header is None else "Invalid authorization format."
        assert body.get("message") == expected, body


@pytest.mark.cost(credits=0)
@pytest.mark.parametrize("op", POLLS, ids=ids(POLLS))
def test_unknown_task_id_is_the_documented_not_found(contract: ContractSession, op: Operation) -> None:
    """Polling an id nobody has answers the documented not-found (never 200, never 5xx)."""
    with contract.client() as http:
        response = http.get(path_of(op))
    retired = retirement(contract, op, contract.main)
    if retired is not None:
        assert response.status_code in retired, response.text
        conforms(contract, op.operation_id, response)
        return
    body = conforms(contract, op.operation_id, response)
    expected_id = families.NOT_FOUND.get(op.operation_id)
    if expected_id is None:  # a family without its own rule yet: a documented client error, at least
        assert 400 <= response.status_code < 500 and response.status_code not in (401, 403), response.text
        return
    expected = contract.catalog[expected_id]
    assert response.status_code == expected.status, response.text
    assert body.get("type") == expected.type, body
    if not contract.live:
        assert body.get("message") == expected.message, body


@pytest.mark.cost(credits=0)
def test_nuro_is_410_gone_where_retired(contract: ContractSession) -> None:
    """Nuro is retired: create and poll answer 410 Gone (NuroError410), whatever the body."""
    target = contract.targets.gone
    if target is None and contract.live:
        pytest.fail(
            "openapi/nuro.yaml documents Nuro as retired (410 Gone), but the live service still serves "
            "it (an unknown task id was not answered 410)",
            pytrace=False,
        )
    if target is None:
        pytest.skip(f"Nuro is served on {contract.main.label}; the 410 is checked where it is retired")
    bodies: list[Any] = [{}]
    if target.control:  # a mock: a valid create costs nothing there, so try one too
        bodies.append(families.valid_body(contract.spec, "nuroCreate"))
    with contract.client(target) as http:
        answers = [http.post("/api/v1/nuro/create", json=body) for body in bodies]
        answers.append(http.get(f"/api/v1/nuro/task/contract-unknown-{uuid.uuid4()}"))
    for response in answers:
        assert response.status_code == 410, f"{response.request.url.path}: {response.status_code} {response.text}"
        body = conforms(contract, "nuroGetTask" if response.request.method == "GET" else "nuroCreate", response)
        if target.control:
            first_sentence = contract.catalog["nuro.gone"].message.split(". ")[0]  # the rest names the successor
            assert body["type"] == "gone" and body["message"].startswith(first_sentence), body
            for header in ("deprecation", "sunset", "link"):
                assert header in response.headers, f"410 without the documented {header} header"
            assert "successor-version" in response.headers["link"]


REJECTED: list[tuple[str, bytes, str]] = [
    ("not-an-object", b"[]", "application/json"),
    ("malformed-json", b'{"type": ', "application/json"),
    ("empty-body", b"", "application/json"),
    ("wrong-content-type", b'{"type": "vocal"}', "text/plain"),
]
#: On mocks: the catalog error each rejected input is (``X-Mock-Error-Id``).
REJECTED_AS = {
    "not-an-object": "request.validation",
    "malformed-json": "request.malformed_json",
    "empty-body": "request.body_required",
    "wrong-content-type": "request.unsupported_media_type",
}


@pytest.mark.cost(credits=0)
@pytest.mark.parametrize("op", BODIED, ids=ids(BODIED))
@pytest.mark.parametrize(("name", "content", "media"), REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected_input_is_a_documented_4xx_and_free(
    contract: ContractSession, op: Operation, name: str, content: bytes, media: str
) -> None:
    """Input the gateway must refuse gets a documented 4xx, and the balance does not move."""
    before = contract.credits()
    with contract.client() as http:
        response = http.request(op.method, op.path, content=content, headers={"Content-Type": media})
    retired = retirement(contract, op, contract.main)
    expected = retired if retired is not None else ({415} if name == "wrong-content-type" else {400})
    assert response.status_code in expected, f"{op.label} {name}: {response.status_code} {response.text}"
    body = conforms(contract, op.operation_id, response)
    if not contract.live and retired is None:
        entry = contract.catalog[REJECTED_AS[name]]
        assert response.headers.get("x-mock-error-id") == entry.id and body.get("type") == entry.type, body
        assert "refund_processed" not in body, f"a gateway error carries no refund fields: {body}"
    assert contract.credits() == before, f"{op.label} {name} moved the balance"


@pytest.mark.cost(credits=0)
@pytest.mark.control_plane("the mock serves its spec at /openapi.json; the live API does not")
def test_served_spec_is_the_spec_in_openapi(contract: ContractSession) -> None:
    """The mock's /openapi.json is exactly what openapi/ says (so every layer tests the served contract)."""
    with contract.client(auth=False) as http:
        served = http.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == contract.spec.product_document
