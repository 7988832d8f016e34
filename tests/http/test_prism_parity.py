"""Prism's habits: ``Prefer: example=``, ``?__example=`` and ``?__code=`` (the README's table for Prism users)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mockserver.spec import ApiSpec

KEY = "sk_prism"
SONIC = {"custom_mode": True, "mv": "sonic-v4-5", "prompt": "[Verse] la la", "tags": "pop"}
SPEC = ApiSpec.load()


def spec_example(operation: str, status: str, name: str) -> Any:
    return SPEC.operations[operation].raw["responses"][status]["content"]["application/json"]["examples"][name]["value"]


def test_prefer_example_answers_the_named_example_and_touches_nothing(client: httpx.Client) -> None:
    balance = client.get("/api/v1/get-credits").json()
    answer = client.get("/api/v1/sonic/task/no-such-task", headers={"Prefer": "example=succeeded"})
    assert answer.status_code == 200 and answer.headers["x-mock-example"] == "succeeded"
    assert answer.json() == spec_example("sonicGetTask", "200", "succeeded")
    created = client.post("/api/v1/sonic/create?__example=success", json=SONIC)
    assert created.status_code == 200 and created.json() == spec_example("sonicCreate", "200", "success")
    assert client.get("/api/v1/get-credits").json() == balance  # no debit
    assert client.get("/_mock/tasks").json()["tasks"] == []  # no task


def test_prefer_code_with_example_picks_the_example_of_that_status(client: httpx.Client) -> None:
    answer = client.get("/api/v1/producer/task/x", headers={"Prefer": "code=202, example=not_ready"})
    assert answer.status_code == 202
    assert answer.json() == spec_example("producerGetTask", "202", "not_ready")
    query = client.get("/api/v1/producer/task/x", params={"__example": "not_ready", "__code": "202"})
    assert (query.status_code, query.json()) == (answer.status_code, answer.json())


@pytest.mark.parametrize(
    ("headers", "params"),
    [({"Prefer": "example=nope"}, {}), ({}, {"__example": "nope"}), ({}, {"__example": "success", "__code": "404"})],
)
def test_an_unknown_example_is_a_400_naming_the_ones_there_are(
    client: httpx.Client, headers: dict[str, str], params: dict[str, str]
) -> None:
    answer = client.post("/api/v1/sonic/create", json=SONIC, headers=headers, params=params)
    assert answer.status_code == 400 and answer.headers["x-mock-error-id"] == "request.bad_scenario"
    assert "has no response example" in answer.json()["message"]
    if "__code" not in params:
        assert "(examples: success)" in answer.json()["message"]


def test_query_code_is_prefer_code(client: httpx.Client) -> None:
    by_header = client.post("/api/v1/sonic/create", json=SONIC, headers={"Prefer": "code=429"})
    by_query = client.post("/api/v1/sonic/create", json=SONIC, params={"__code": "429"})
    assert by_header.status_code == by_query.status_code == 429
    assert by_header.headers["x-mock-error-id"] == by_query.headers["x-mock-error-id"]
    assert client.post("/api/v1/sonic/create", json=SONIC, params={"__code": "200"}).status_code == 200
    for params in ({"__code": "abc"}, {"__code": "abc", "__example": "success"}):
        bad = client.post("/api/v1/sonic/create", json=SONIC, params=params)
        assert bad.status_code == 400 and "__code: an HTTP status" in bad.json()["message"], params
