"""``GET /_mock/health``: the readiness probe a container or an orchestrator uses."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from mockserver import __version__
from mockserver.app import create_app
from mockserver.config import Config
from mockserver.testing import MockServer


def test_health_reports_version_uptime_store_and_clock(server: MockServer, client: httpx.Client) -> None:
    first = client.get("/_mock/health")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "ok" and body["version"] == __version__
    assert body["store"] == {"kind": "sqlite" if server.config.state else "memory", "reachable": True}
    assert body["clock"]["mode"] == "manual" and body["nuro"] == server.config.nuro.describe()
    assert body["workers"] == 1
    client.post("/_mock/clock/advance", json={"seconds": 90})
    later = server.control.health()  # the client reads it too
    assert later["uptime_seconds"] >= body["uptime_seconds"] >= 0
    assert later["clock"]["epoch"] - body["clock"]["epoch"] == pytest.approx(90)
    assert later["uptime_seconds"] < 90  # real time, not the virtual clock


def test_health_is_open_to_remote_probes_where_the_rest_of_the_control_plane_is_not() -> None:
    async def scenario() -> None:
        app = create_app(Config(clock="manual", host="0.0.0.0"))  # noqa: S104 - the bind is never opened here
        remote = httpx.ASGITransport(app=app, client=("192.0.2.7", 5000))
        async with httpx.AsyncClient(transport=remote, base_url="http://m") as far:
            assert (await far.get("/_mock/health")).status_code == 200
            assert (await far.get("/_mock/clock")).status_code == 403

    asyncio.run(scenario())


def test_a_store_that_does_not_answer_makes_health_503(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Config(clock="manual"))

    def broken(*args: Any) -> None:
        raise OSError("disk I/O error")

    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m") as http:
            monkeypatch.setattr(app.state.mock.ctx.store, "clock_state", broken)
            return await http.get("/_mock/health")

    answer = asyncio.run(scenario())
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert answer.json()["store"]["reachable"] is False
    assert answer.json()["store"]["error"] == "OSError: disk I/O error"
