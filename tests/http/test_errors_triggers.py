"""Every Nuro catalog error, reached over real HTTP through each trigger that applies to it.

Each case checks the documented status, type and message, the refund flags, and that the ledger
agrees afterwards (the key's balance is back where it started whenever a refund is due).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mockserver.catalog import CATALOG
from mockserver.errors import ErrorSpec
from tests.helpers import KEY, advance

VOCAL = {"type": "vocal", "lyrics": "Hello world, la la la"}
START = 1000  # the default starting balance
COST = 10  # Nuro: 10 credits per generation
NURO_CREATE_ERRORS = [
    e for e in CATALOG.for_operation("nuroCreate") if e.id.startswith("nuro.") and e.id != "nuro.gone"
]
NURO_GET_ERRORS = [e for e in CATALOG.for_operation("nuroGetTask") if e.id.startswith("nuro.") and e.id != "nuro.gone"]


def balance(client: httpx.Client, key: str = KEY) -> int:
    body = client.get("/api/v1/get-credits", headers={"Authorization": f"Bearer {key}"}).json()
    return int(body["credits"]) + int(body["extra_credits"])


def ledger_totals(client: httpx.Client, key: str = KEY) -> dict[str, int]:
    totals: dict[str, int] = client.get("/_mock/ledger", params={"api_key": key}).json()["totals"]
    return totals


def check_error(response: httpx.Response, spec: ErrorSpec) -> dict[str, Any]:
    assert response.status_code == spec.status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == spec.type
    assert body["message"] == spec.message
    assert response.headers["x-mock-error-id"] == spec.id
    return body


def expect_create_error(client: httpx.Client, spec: ErrorSpec, response: httpx.Response) -> None:
    """A create that failed with ``spec``: refund flags as documented, ledger back to even."""
    body = check_error(response, spec)
    if spec.after_debit:
        assert body["refund_processed"] is spec.refunds and body["already_refunded"] is False
        entries = client.get("/_mock/ledger", params={"api_key": KEY}).json()["entries"]
        assert [e["reason"] for e in entries][-2:] == ["debit", "refund"]
        assert entries[-1]["error_id"] == spec.id and entries[-1]["amount"] == COST
    else:
        assert "refund_processed" not in body and "already_refunded" not in body
    assert balance(client) == START
    totals = ledger_totals(client)
    assert totals["granted"] - totals["debited"] + totals["refunded"] == totals["balance"] == START


def expect_task_failure(client: httpx.Client, spec: ErrorSpec, response: httpx.Response, progress: int) -> None:
    """A create accepted, then the task fails with ``spec`` at ``progress`` and is refunded exactly once."""
    assert response.status_code == 200, response.text
    task_id = response.json()["task_id"]
    assert balance(client) == START - COST
    advance(client, 200)
    first = client.get(f"/api/v1/nuro/task/{task_id}").json()
    assert first["status"] == "failed" and first["progress"] == progress
    assert first["audio_url"] == ""
    assert first["error"] == {
        "type": spec.type,
        "message": spec.message,
        "refund_processed": True,
        "already_refunded": False,
    }
    second = client.get(f"/api/v1/nuro/task/{task_id}").json()
    assert second["error"]["refund_processed"] is False and second["error"]["already_refunded"] is True
    assert balance(client) == START
    refunds = [
        e for e in client.get("/_mock/ledger", params={"api_key": KEY}).json()["entries"] if e["reason"] == "refund"
    ]
    assert len(refunds) == 1 and refunds[0]["task_id"] == task_id and refunds[0]["error_id"] == spec.id


def created_task(client: httpx.Client) -> str:
    response = client.post("/api/v1/nuro/create", json=VOCAL)
    assert response.status_code == 200, response.text
    return str(response.json()["task_id"])


# --- 1. the X-Mock-Scenario header ---------------------------------------------------------------


@pytest.mark.parametrize("spec", NURO_CREATE_ERRORS, ids=lambda e: e.id)
def test_header_on_create(legacy: httpx.Client, spec: ErrorSpec) -> None:
    response = legacy.post("/api/v1/nuro/create", json=VOCAL, headers={"X-Mock-Scenario": f"{spec.id}@30"})
    if spec.task_failure:
        expect_task_failure(legacy, spec, response, progress=30)
    else:
        expect_create_error(legacy, spec, response)


@pytest.mark.parametrize("spec", NURO_GET_ERRORS, ids=lambda e: e.id)
def test_header_on_get(legacy: httpx.Client, spec: ErrorSpec) -> None:
    task_id = created_task(legacy)
    body = check_error(legacy.get(f"/api/v1/nuro/task/{task_id}", headers={"X-Mock-Scenario": spec.id}), spec)
    assert "refund_processed" not in body  # polling is free: nothing to refund


def test_header_with_unknown_or_misplaced_error(legacy: httpx.Client) -> None:
    unknown = legacy.post("/api/v1/nuro/create", json=VOCAL, headers={"X-Mock-Scenario": "nuro.nope"})
    assert unknown.status_code == 400 and "Unknown error id 'nuro.nope'" in unknown.json()["message"]
    misplaced = legacy.get("/api/v1/nuro/task/x", headers={"X-Mock-Scenario": "nuro.queue_full"})
    assert misplaced.status_code == 400 and "cannot happen on nuroGetTask" in misplaced.json()["message"]
    assert balance(legacy) == START


# --- 2. fault rules through the control plane ------------------------------------------------------


@pytest.mark.parametrize("spec", NURO_CREATE_ERRORS, ids=lambda e: e.id)
def test_fault_rule_on_create(legacy: httpx.Client, spec: ErrorSpec) -> None:
    rule = legacy.post(
        "/_mock/faults", json={"operation": "nuroCreate", "error": spec.id, "times": 1, "at_progress": 70}
    )
    assert rule.status_code == 200, rule.text
    response = legacy.post("/api/v1/nuro/create", json=VOCAL)
    if spec.task_failure:
        expect_task_failure(legacy, spec, response, progress=70)
    else:
        expect_create_error(legacy, spec, response)
    assert legacy.post("/api/v1/nuro/create", json=VOCAL).status_code == 200  # only the next 1 call
    faults = legacy.get("/_mock/faults").json()["faults"]
    assert faults[0]["hits"] == 1 and faults[0]["remaining"] == 0


@pytest.mark.parametrize("spec", NURO_GET_ERRORS, ids=lambda e: e.id)
def test_fault_rule_on_get(legacy: httpx.Client, spec: ErrorSpec) -> None:
    task_id = created_task(legacy)
    legacy.post("/_mock/faults", json={"operation": "nuroGetTask", "error": spec.id, "times": 2}).raise_for_status()
    for _ in range(2):
        check_error(legacy.get(f"/api/v1/nuro/task/{task_id}"), spec)
    assert legacy.get(f"/api/v1/nuro/task/{task_id}").status_code == 200
    assert legacy.delete("/_mock/faults").json() == {"ok": True}


def test_fault_rule_probability_is_seeded(legacy: httpx.Client) -> None:
    def run() -> list[int]:
        legacy.post("/_mock/reset").raise_for_status()
        legacy.post(
            "/_mock/faults", json={"operation": "nuroGetTask", "error": "nuro.api_error", "probability": 0.5}
        ).raise_for_status()
        return [legacy.get("/api/v1/nuro/task/x").status_code for _ in range(40)]

    first = run()
    assert first == run()  # same seed, same sequence
    assert 5 < first.count(500) < 35 and first.count(404) == 40 - first.count(500)


def test_fault_rule_for_one_key_only(legacy: httpx.Client) -> None:
    legacy.post(
        "/_mock/faults", json={"operation": "nuroCreate", "error": "nuro.queue_full", "times": 5, "api_key": "other"}
    ).raise_for_status()
    assert legacy.post("/api/v1/nuro/create", json=VOCAL).status_code == 200
    other = legacy.post("/api/v1/nuro/create", json=VOCAL, headers={"Authorization": "Bearer other"})
    assert other.status_code == 403


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"operation": "nuroCreate", "error": "nuro.nope", "times": 1}, "Unknown error id"),
        ({"operation": "mockReset", "error": "nuro.api_error", "times": 1}, "not an operation of the API"),
        ({"operation": "nuroGetTask", "error": "nuro.queue_full", "times": 1}, "cannot happen on nuroGetTask"),
        ({"operation": "nuroCreate", "error": "nuro.api_error"}, "exactly one of times or probability"),
        ({"operation": "nuroCreate", "error": "nuro.api_error", "times": 0}, "times: must be at least 1"),
        ({"operation": "nuroCreate", "error": "nuro.api_error", "probability": 2}, "probability: must be at most 1"),
    ],
)
def test_bad_fault_rules_are_refused(legacy: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    response = legacy.post("/_mock/faults", json=body)
    assert response.status_code == 400
    assert fragment in response.json()["message"]


# --- 3. Prism's Prefer: code=NNN ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "status", "expected"),
    [
        ("create", 403, "nuro.usage_limit"),
        ("create", 500, "nuro.api_error"),
        ("create", 401, "nuro.invalid_signature"),
        ("get", 404, "nuro.task_not_found"),
        ("get", 500, "nuro.api_error"),
        ("create", 410, "nuro.gone"),
    ],
)
def test_prefer_code(legacy: httpx.Client, operation: str, status: int, expected: str) -> None:
    headers = {"Prefer": f"code={status}"}
    if operation == "create":
        response = legacy.post("/api/v1/nuro/create", json=VOCAL, headers=headers)
    else:
        response = legacy.get(f"/api/v1/nuro/task/{created_task(legacy)}", headers=headers)
    assert response.status_code == status
    assert response.headers["x-mock-error-id"] == expected
    assert legacy.post("/api/v1/nuro/create", json=VOCAL, headers={"Prefer": "code=200"}).status_code == 200
    assert legacy.post("/api/v1/nuro/create", json=VOCAL, headers={"Prefer": "code=418"}).status_code == 400


# --- 4. magic values in content ---------------------------------------------------------------------


@pytest.mark.parametrize("spec", [e for e in NURO_CREATE_ERRORS if e.task_failure], ids=lambda e: e.id)
def test_magic_value_fails_task_later(legacy: httpx.Client, spec: ErrorSpec) -> None:
    body = {**VOCAL, "lyrics": f"[Verse] la la la #mock:{spec.id}@25"}
    expect_task_failure(legacy, spec, legacy.post("/api/v1/nuro/create", json=body), progress=25)


def test_magic_value_immediate_error_in_bgm_description(legacy: httpx.Client) -> None:
    body = {"type": "bgm", "description": "calm #mock:nuro.queue_full"}
    expect_create_error(legacy, CATALOG["nuro.queue_full"], legacy.post("/api/v1/nuro/create", json=body))


# --- 5. magic keys and natural causes ------------------------------------------------------------------


def call_with(client: httpx.Client, key: str, method: str = "POST") -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    if method == "POST":
        return client.post("/api/v1/nuro/create", json=VOCAL, headers=headers)
    return client.get("/api/v1/nuro/task/x", headers=headers)


@pytest.mark.parametrize(
    ("key", "error_id"),
    [
        ("sk_mock_invalid_signature", "nuro.invalid_signature"),
        ("sk_mock_expired", "nuro.authorization_expired"),
        ("sk_mock_expired_team_a", "nuro.authorization_expired"),
        ("sk_mock_usage_limit", "nuro.usage_limit"),
        ("sk_mock_qps_limit", "nuro.qps_limit"),
        ("sk_mock_queue_full", "nuro.queue_full"),
        ("sk_mock_no_credits", "nuro.insufficient_credits"),
    ],
)
def test_magic_keys(legacy: httpx.Client, key: str, error_id: str) -> None:
    spec = CATALOG[error_id]
    body = check_error(call_with(legacy, key), spec)
    assert ("refund_processed" in body) == spec.after_debit
    assert legacy.get(f"/_mock/keys/{key}").json()["magic"] is True


def test_expiry_on_the_virtual_clock(legacy: httpx.Client) -> None:
    now = legacy.get("/_mock/clock").json()["epoch"]
    from mockserver.config import format_instant

    legacy.put(f"/_mock/keys/{KEY}", json={"expires_at": format_instant(now + 60)}).raise_for_status()
    assert call_with(legacy, KEY, "GET").status_code == 404
    advance(legacy, 60)
    for method in ("GET", "POST"):
        check_error(call_with(legacy, KEY, method), CATALOG["nuro.authorization_expired"])
    legacy.put(f"/_mock/keys/{KEY}", json={"expires_at": None}).raise_for_status()
    assert call_with(legacy, KEY, "GET").status_code == 404


def test_qps_limit_is_real_and_per_key(legacy: httpx.Client) -> None:
    legacy.put(f"/_mock/keys/{KEY}", json={"qps": 2}).raise_for_status()
    statuses = [call_with(legacy, KEY, "GET").status_code for _ in range(3)]
    assert statuses == [404, 404, 403]
    check_error(call_with(legacy, KEY, "GET"), CATALOG["nuro.qps_limit"])
    assert call_with(legacy, "another-key", "GET").status_code == 404  # other keys unaffected
    advance(legacy, 1)
    assert call_with(legacy, KEY, "GET").status_code == 404
    legacy.put(f"/_mock/keys/{KEY}", json={"qps": 0.34}).raise_for_status()  # "1 request per 3 seconds"
    advance(legacy, 3)
    assert [call_with(legacy, KEY, "GET").status_code for _ in range(2)] == [404, 403]


def test_queue_capacity_counts_unfinished_tasks(legacy: httpx.Client) -> None:
    legacy.put(f"/_mock/keys/{KEY}", json={"queue_capacity": 2}).raise_for_status()
    first, _ = created_task(legacy), created_task(legacy)
    full = legacy.post("/api/v1/nuro/create", json=VOCAL)
    body = check_error(full, CATALOG["nuro.queue_full"])
    assert body["refund_processed"] is True
    assert balance(legacy) == START - 2 * COST
    assert legacy.post(f"/_mock/tasks/{first}/complete").json()["status"] == "succeeded"
    assert legacy.post("/api/v1/nuro/create", json=VOCAL).status_code == 200


def test_usage_limit_and_insufficient_credits(legacy: httpx.Client) -> None:
    legacy.put(f"/_mock/keys/{KEY}", json={"usage_limit": 1}).raise_for_status()
    created_task(legacy)
    check_error(legacy.post("/api/v1/nuro/create", json=VOCAL), CATALOG["nuro.usage_limit"])
    legacy.put(f"/_mock/keys/{KEY}", json={"usage_limit": None, "credits": 9, "extra_credits": 0}).raise_for_status()
    body = check_error(legacy.post("/api/v1/nuro/create", json=VOCAL), CATALOG["nuro.insufficient_credits"])
    assert "refund_processed" not in body
    assert balance(legacy) == 9


def test_natural_not_found_and_language(legacy: httpx.Client) -> None:
    check_error(legacy.get("/api/v1/nuro/task/does-not-exist"), CATALOG["nuro.task_not_found"])
    response = legacy.post("/api/v1/nuro/create", json={**VOCAL, "lyrics": "Привет, как дела"})
    expect_create_error(legacy, CATALOG["nuro.language_not_supported"], response)


def test_control_plane_fails_a_running_task(legacy: httpx.Client) -> None:
    task_id = created_task(legacy)
    advance(legacy, 20)
    progress = legacy.get(f"/api/v1/nuro/task/{task_id}").json()["progress"]
    state = legacy.post(f"/_mock/tasks/{task_id}/fail", json={"error": "nuro.semantic_error", "at_progress": 90})
    assert state.status_code == 200 and state.json()["failure"]["progress"] == 90
    assert 0 < progress < 90
    expect_task_failure(
        legacy, CATALOG["nuro.semantic_error"], httpx.Response(200, json={"task_id": task_id}), progress=90
    )
    again = legacy.post(f"/_mock/tasks/{task_id}/complete")
    assert again.status_code == 409 and again.json()["error_id"] == "control.task_finished"
    wrong = legacy.post(f"/_mock/tasks/{created_task(legacy)}/fail", json={"error": "nuro.queue_full"})
    assert wrong.status_code == 400 and "nuro.algorithm_error" in wrong.json()["message"]
    assert legacy.post("/_mock/tasks/nope/complete").status_code == 404


def test_catalog_and_journal(legacy: httpx.Client) -> None:
    catalog = legacy.get("/_mock/errors").json()["errors"]
    assert [e["id"] for e in catalog] == [e.id for e in CATALOG]
    queue = next(e for e in catalog if e["id"] == "nuro.queue_full")
    assert queue == {
        "id": "nuro.queue_full",
        "status": 403,
        "type": "forbidden",
        "message": "Queue is full",
        "refunds": True,
        "task_failure": False,
        "after_debit": True,
        "operations": ["nuroCreate"],
        "source": queue["source"],
    }
    legacy.get("/api/v1/nuro/task/x")
    legacy.post("/api/v1/nuro/create", json=VOCAL, headers={"X-Mock-Scenario": "nuro.queue_full"})
    rows = legacy.get("/_mock/requests", params={"api_key": KEY}).json()["requests"]
    assert [(r["method"], r["path"], r["status"], r["error_id"]) for r in rows][-2:] == [
        ("GET", "/api/v1/nuro/task/x", 404, "nuro.task_not_found"),
        ("POST", "/api/v1/nuro/create", 403, "nuro.queue_full"),
    ]
    assert all(r["api_key"] == KEY for r in rows)
    assert len(legacy.get("/_mock/requests", params={"limit": 1}).json()["requests"]) == 1
