"""Nuro is retired: 410 Gone by default, with the notice's migration message and RFC headers."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from mockserver.config import NURO_GONE_SINCE, NuroMode, format_instant, parse_instant
from tests.helpers import KEY, ServerFactory, advance

AUTH = {"Authorization": f"Bearer {KEY}"}
VOCAL = {"type": "vocal", "lyrics": "la la la"}
BGM = {"type": "bgm", "description": "calm piano"}


def assert_gone_headers(response: httpx.Response, sunset: float, successors: list[str]) -> None:
    assert response.headers["deprecation"] == f"@{int(sunset)}"
    assert parsedate_to_datetime(response.headers["sunset"]).timestamp() == int(sunset)
    links = response.headers["link"]
    for path in successors:
        assert f'{path}>; rel="successor-version"' in links
    assert links.count('rel="successor-version"') == len(successors)


@pytest.mark.parametrize(
    ("body", "successor"),
    [
        (VOCAL, "/api/v1/sonic/create"),
        (BGM, "/api/v1/producer/create"),
        ({"x": 1}, None),
    ],
)
def test_create_is_gone_by_default(start_server: ServerFactory, body: Any, successor: str | None) -> None:
    server = start_server()
    response = httpx.post(f"{server.url}/api/v1/nuro/create", json=body, headers=AUTH)
    assert response.status_code == 410
    payload = response.json()
    assert payload["type"] == "gone"
    assert payload["message"].startswith("The Nuro API has been deprecated and is no longer available.")
    successors = [successor] if successor else ["/api/v1/sonic/create", "/api/v1/producer/create"]
    for path in successors:
        assert f"POST {path}" in payload["message"]
    assert_gone_headers(response, parse_instant(NURO_GONE_SINCE), successors)


def test_get_is_gone_by_default_even_without_auth(start_server: ServerFactory) -> None:
    server = start_server()
    response = httpx.get(f"{server.url}/api/v1/nuro/task/whatever")
    assert response.status_code == 410
    assert "Existing task IDs can no longer be queried" in response.json()["message"]
    assert_gone_headers(response, parse_instant(NURO_GONE_SINCE), ["/api/v1/sonic/create", "/api/v1/producer/create"])


def test_legacy_mode_has_no_deprecation_headers(legacy: httpx.Client) -> None:
    response = legacy.post("/api/v1/nuro/create", json=VOCAL)
    assert response.status_code == 200
    assert "deprecation" not in response.headers and "sunset" not in response.headers


def test_sunset_instant_on_the_virtual_clock(start_server: ServerFactory) -> None:
    probe = start_server(clock="manual")
    now = httpx.get(f"{probe.url}/_mock/clock").json()["epoch"]
    sunset = float(int(now) + 3600)
    server = start_server(clock="manual", nuro=NuroMode.parse(format_instant(sunset)))
    with httpx.Client(base_url=server.url, headers=AUTH) as client:
        created = client.post("/api/v1/nuro/create", json=VOCAL)
        assert created.status_code == 200
        assert_gone_headers(created, sunset, ["/api/v1/sonic/create"])
        task_id = created.json()["task_id"]
        advance(client, 120)
        polled = client.get(f"/api/v1/nuro/task/{task_id}")
        assert polled.status_code == 200 and polled.json()["status"] == "succeeded"
        assert_gone_headers(polled, sunset, ["/api/v1/sonic/create", "/api/v1/producer/create"])

        advance(client, 3600)  # past the sunset
        assert client.get(f"/api/v1/nuro/task/{task_id}").status_code == 410
        gone = client.post("/api/v1/nuro/create", json=BGM)
        assert gone.status_code == 410
        assert "POST /api/v1/producer/create" in gone.json()["message"]


def test_gone_is_checked_before_validation(start_server: ServerFactory) -> None:
    server = start_server()
    response = httpx.post(
        f"{server.url}/api/v1/nuro/create", content=b"{broken", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 410
