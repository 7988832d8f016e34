"""Every Sonic, Producer and Studio catalog error, forced over real HTTP on each operation it applies to."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver.catalog import CATALOG
from mockserver.config import Config
from mockserver.errors import ErrorSpec
from mockserver.spec import ApiSpec
from mockserver.testing import MockServer
from tests.helpers import advance, assert_matches_spec

#: Bodies of the operations the spec's own examples do not make ready to send (fixed ids filled in below).
SAMPLES: dict[str, Any] = {
    "sonicCreate": {"custom_mode": True, "mv": "sonic-v4-5", "prompt": "la"},
    "sunoCreate": {"custom_mode": True, "mv": "sonic-v4-5", "prompt": "la"},
    "sonicUpload": {"url": "https://example.org/a.mp3"},
    "sonicPersona": {"name": "p", "continue_clip_id": "{clip_id}"},
    "producerCreate": {"task_type": "create_music", "sound": "lofi"},
    "studioCreate": {},
}


def request_of(operation: str) -> tuple[str, str, Any]:
    """Method, path template and body of one call of ``operation``: a sample, else the spec's first example."""
    op = _spec().operations[operation]
    body: Any = None
    if op.body is not None:
        body = SAMPLES.get(operation)
        if body is None:
            media = op.raw["requestBody"]["content"]["application/json"]
            body = next(iter(media["examples"].values()))["value"]
    return op.method, op.path, body


def _fill(value: Any, ids: dict[str, str], producer: bool) -> Any:
    """A body with its clip ids made real: finished clips of the test key (Producer songs for Producer)."""
    if not isinstance(value, dict):
        return value
    filled = dict(value)
    for name in filled:
        if name.endswith("clip_id"):
            filled[name] = ids["producer_clip"] if producer else ids["clip_id"]
        elif name.endswith("clip_ids"):
            filled[name] = [ids["clip_id"], ids["clip_id_2"]]
    return filled


CASES = [
    (spec, op) for spec in CATALOG if spec.id.split(".")[0] in ("sonic", "producer", "studio") for op in spec.operations
]


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(Config(clock="manual")) as mock:
        yield mock


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k"}) as c:
        c.post("/_mock/reset").raise_for_status()
        yield c


def _prepare(client: httpx.Client) -> dict[str, str]:
    """A finished Sonic task (for its clips) and a Producer task, for the operations that need ids."""
    sonic = client.post("/api/v1/sonic/create", json=SAMPLES["sonicCreate"]).json()["task_id"]
    producer = client.post("/api/v1/producer/create", json=SAMPLES["producerCreate"]).json()["task_id"]
    advance(client, 400)
    clips = client.get(f"/api/v1/sonic/task/{sonic}").json()["data"]
    song = client.get(f"/api/v1/producer/task/{producer}").json()["data"][0]["clip_id"]
    return {
        "sonicGetTask": sonic,
        "sunoGetTask": sonic,
        "producerGetTask": producer,
        "clip_id": clips[0]["clip_id"],
        "clip_id_2": clips[1]["clip_id"],
        "producer_clip": song,
    }


def _credits(client: httpx.Client) -> int:
    body = client.get("/api/v1/get-credits").json()
    return int(body["credits"]) + int(body["extra_credits"])


@pytest.mark.parametrize(("spec", "operation"), CASES, ids=[f"{s.id}-{o}" for s, o in CASES])
def test_forced_error(client: httpx.Client, spec: ErrorSpec, operation: str) -> None:
    method, path, body = request_of(operation)
    needs_ids = "{task_id}" in path or (isinstance(body, dict) and any("clip_id" in k for k in body))
    ids = _prepare(client) if needs_ids else {}
    path = path.replace("{task_id}", ids.get(operation, "x"))
    body = _fill(body, ids, operation.startswith("producer"))
    start = _credits(client)
    response = client.request(method, path, json=body, headers={"X-Mock-Scenario": f"{spec.id}@10"})
    if spec.task_failure:  # accepted, then the task fails and is refunded
        assert response.status_code == 200, response.text
        task_id = response.json()["task_id"]
        advance(client, 400)
        family = _spec().operations[operation].family
        polled = client.get(f"/api/v1/{family}/task/{task_id}").json()
        if family == "sonic":
            assert {c["state"] for c in polled["data"]} == {"failed"}
            assert polled["data"][0]["error_message"].startswith(spec.message.split(".")[0])
        else:
            assert polled["status"] == "FAILED" and polled["type"] == spec.type
        assert _credits(client) == start
        return
    assert response.status_code == spec.status, response.text
    payload = response.json()
    assert (payload["code"], payload["message"], payload["type"]) == (spec.status, spec.message, spec.type)
    if str(spec.status) in _declared(operation):
        assert_matches_spec(operation, spec.status, payload)
    assert _credits(client) == start  # refunded at once, or never debited


@functools.cache
def _declared(operation: str) -> frozenset[str]:
    return frozenset(_spec().operations[operation].raw["responses"])


@functools.cache
def _spec() -> ApiSpec:
    return ApiSpec.load()


def test_every_successor_error_is_declared_in_its_spec() -> None:
    for spec, operation in CASES:
        if not spec.task_failure:
            assert str(spec.status) in _declared(operation), f"{spec.id} ({spec.status}) not declared on {operation}"


def test_no_error_after_a_debit_is_unrefundable() -> None:
    """An error raised after the debit that did not refund would silently cost credits."""
    for spec in CATALOG:
        if spec.after_debit:
            assert spec.refunds, f"{spec.id} happens after the debit but its type {spec.type} does not refund"


def test_natural_queue_limit_on_sonic_costs_nothing(client: httpx.Client) -> None:
    client.put("/_mock/keys/k", json={"queue_capacity": 1}).raise_for_status()
    assert client.post("/api/v1/sonic/create", json=SAMPLES["sonicCreate"]).status_code == 200
    start = _credits(client)
    full = client.post("/api/v1/sonic/create", json=SAMPLES["sonicCreate"])
    assert full.status_code == 429 and full.json()["message"].startswith("Too many tasks in progress")
    assert _credits(client) == start
