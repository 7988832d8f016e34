"""The control plane: clock and reset."""

from __future__ import annotations

import httpx
import pytest

from mockserver.config import parse_instant
from tests.helpers import ServerFactory


def test_clock_read_and_advance(legacy: httpx.Client) -> None:
    before = legacy.get("/_mock/clock").json()
    assert before["mode"] == "manual" and before["profile"] == "manual"
    assert parse_instant(before["now"]) == pytest.approx(before["epoch"], abs=0.001)
    after = legacy.post("/_mock/clock/advance", json={"seconds": 90.5}).json()
    assert after["epoch"] == pytest.approx(before["epoch"] + 90.5)
    assert legacy.get("/_mock/clock").json()["epoch"] == after["epoch"]  # manual: time stands still


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"seconds": -1}, "seconds: must be at least 0"),
        ({"seconds": "ten"}, "seconds: must be of type number"),
        ({}, "seconds: is required"),
        ({"seconds": 1, "extra": True}, "Additional properties"),
    ],
)
def test_advance_rejects_bad_input(legacy: httpx.Client, body: object, fragment: str) -> None:
    response = legacy.post("/_mock/clock/advance", json=body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["type"] == "bad_request" and payload["error_id"] == "request.validation"
    assert fragment in payload["message"]


def test_running_clock_moves_and_advances(start_server: ServerFactory) -> None:
    server = start_server(clock="fast")
    first = httpx.get(f"{server.url}/_mock/clock").json()
    assert first["mode"] == "running"
    moved = httpx.post(f"{server.url}/_mock/clock/advance", json={"seconds": 1000}).json()
    assert moved["epoch"] >= first["epoch"] + 1000


def test_reset_forgets_tasks_and_restarts_ids(legacy: httpx.Client) -> None:
    body = {"type": "bgm", "description": "calm"}
    first = legacy.post("/api/v1/nuro/create", json=body).json()["task_id"]
    legacy.post("/_mock/clock/advance", json={"seconds": 100})
    assert legacy.post("/_mock/reset").json() == {"ok": True}
    assert legacy.get(f"/api/v1/nuro/task/{first}").status_code == 404
    assert legacy.post("/api/v1/nuro/create", json=body).json()["task_id"] == first


def test_specs_are_served(legacy: httpx.Client) -> None:
    product = legacy.get("/openapi.json").json()
    assert "/api/v1/nuro/create" in product["paths"]
    assert not any(path.startswith("/_mock") for path in product["paths"])
    control = legacy.get("/_mock/openapi.json").json()
    assert "/_mock/clock/advance" in control["paths"]
