"""The Python API: MockControl / MockServer over a real server, AsyncMockServer, and the in-process MockApp."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.client import AsyncMockControl, MockControl, MockControlError
from mockserver.config import DEFAULT_COSTS, Config, ConfigError, NuroMode
from mockserver.testing import DEFAULT_API_KEY, AsyncMockServer, MockApp, MockServer, asgi_app, make_config

BGM = {"type": "bgm", "description": "calm piano", "duration": 30}
VOCAL = {"type": "vocal", "lyrics": "Hello world, la la la"}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer.start(clock="manual", nuro="legacy") as mock:
        yield mock


@pytest.fixture
def mock(server: MockServer) -> MockServer:
    server.reset()
    server.api_key = DEFAULT_API_KEY
    return server


@pytest.fixture
def http(mock: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mock.url, headers=mock.headers) as client:
        yield client


def create(http: httpx.Client, body: dict[str, Any] = BGM) -> str:
    response = http.post("/api/v1/nuro/create", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["task_id"])


def poll(http: httpx.Client, task_id: str) -> dict[str, Any]:
    response = http.get(f"/api/v1/nuro/task/{task_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- MockServer: starting it ------------------------------------------------------------------------


def test_start_factory_maps_settings_onto_config() -> None:
    with MockServer.start(
        clock="manual",
        nuro="legacy",
        seed=7,
        initial_credits=50,
        initial_extra_credits=5,
        costs={"nuroCreate": 3},
        api_key="sk_mine",
    ) as mock:
        assert mock.running and mock.config.clock == "manual" and mock.config.seed == 7
        assert mock.config.nuro == NuroMode.parse("legacy")
        assert mock.balance() == {**mock.balance("sk_mine"), "api_key": "sk_mine"}
        with httpx.Client(base_url=mock.url, headers=mock.headers) as http:
            create(http)
            assert http.get("/api/v1/get-credits").json() == {"credits": 50, "extra_credits": 2}
    assert not mock.running
    with pytest.raises(RuntimeError, match="not running"):
        mock.clock()


def test_instance_start_still_works_and_is_idempotent() -> None:
    server = MockServer(Config(clock="manual", nuro=NuroMode.parse("legacy")))
    assert not server.running
    assert server.start() is server
    url = server.url
    try:
        assert server.start() is server and server.url == url  # already running: nothing happens
        assert server.clock()["profile"] == "manual"
        assert "127.0.0.1" in repr(server)
    finally:
        server.stop()
    with MockServer(Config(), clock="instant") as other:  # keyword settings on top of a Config
        assert other.clock()["profile"] == "instant" and other.config.nuro.kind == "gone"


def test_make_config() -> None:
    base = Config(seed=3, scenarios=("a.yaml",))
    config = make_config(
        base,
        nuro="2030-01-01T00:00:00Z",
        costs={"nuroCreate": 4, "someOp": 15},
        scenario=Path("b.yaml"),
        scenarios=["c.yaml"],
        default_qps=2.5,
    )
    assert config.seed == 3 and config.nuro.kind == "sunset" and config.default_qps == 2.5
    assert dict(config.costs) == {**DEFAULT_COSTS, "nuroCreate": 4, "someOp": 15}  # on top of the defaults
    assert config.scenarios == ("a.yaml", "b.yaml", "c.yaml")
    assert make_config(nuro=NuroMode.parse("legacy")).nuro.kind == "legacy"
    assert make_config() == Config()
    with pytest.raises(TypeError, match="unknown mock setting.*colour"):
        make_config(colour="red")  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match="clock must be one of"):
        make_config(clock="slow")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="--nuro takes"):
        make_config(nuro="later")


# --- the control methods, on a running server ------------------------------------------------------


def test_create_advance_poll(mock: MockServer, http: httpx.Client) -> None:
    task_id = create(http)
    before = mock.clock()
    assert mock.task(task_id)["status"] == "pending"
    assert poll(http, task_id)["status"] == "pending"
    after = mock.advance(120)
    assert after["epoch"] == pytest.approx(before["epoch"] + 120)
    assert mock.clock() == after
    body = poll(http, task_id)
    assert body["status"] == "succeeded" and body["progress"] == 100
    assert [t["task_id"] for t in mock.tasks()] == [task_id]
    assert mock.tasks(api_key="sk_nobody") == []
    assert [(r["operation"], r["status"]) for r in mock.requests] == [("nuroCreate", 200)] + [("nuroGetTask", 200)] * 2
    assert [r["seq"] for r in mock.journal(limit=1)] == [3]


def test_fail_a_task_at_a_progress(mock: MockServer, http: httpx.Client) -> None:
    task_id = create(http, VOCAL)
    state = mock.fail(task_id, "nuro.algorithm_error", at_progress=40)
    assert state["failure"] is not None and state["failure"]["progress"] == 40
    mock.advance(200)
    body = poll(http, task_id)
    assert body["status"] == "failed" and body["progress"] == 40
    assert body["error"]["message"] == "Algorithm error" and body["error"]["refund_processed"] is True
    assert mock.balance()["credits"] == 1000
    ledger = mock.ledger(mock.api_key)
    assert [e["reason"] for e in ledger["entries"]] == ["grant", "debit", "refund"]
    assert ledger["totals"]["balance"] == 1000 and ledger["totals"]["refunded"] == 10


def test_complete_then_complete_again_is_a_conflict(mock: MockServer, http: httpx.Client) -> None:
    task_id = create(http)
    assert mock.complete(task_id)["status"] == "succeeded"
    assert poll(http, task_id)["status"] == "succeeded"
    with pytest.raises(MockControlError) as info:
        mock.complete(task_id)
    assert info.value.status == 409 and info.value.error_id == "control.task_finished"


def test_unknown_task_raises_mock_control_error(mock: MockServer) -> None:
    with pytest.raises(MockControlError) as info:
        mock.task("no-such-task")
    error = info.value
    assert (error.status, error.error_id, error.type) == (404, "control.task_not_found", "not_found")
    assert "no-such-task" in error.message and "control.task_not_found" in str(error)
    with pytest.raises(MockControlError, match="control.task_not_found.*'no such\\?task'"):
        mock.fail("no such?task", "nuro.timeout")  # ids are quoted into the path


def test_fail_next_and_bad_rules(mock: MockServer, http: httpx.Client) -> None:
    rule = mock.fail_next("nuroGetTask", "nuro.api_error", times=2, api_key=mock.api_key)
    assert (rule["times"], rule["api_key"], rule["remaining"]) == (2, mock.api_key, 2)
    assert [http.get("/api/v1/nuro/task/x").status_code for _ in range(3)] == [500, 500, 404]
    assert mock.faults()[0]["hits"] == 2
    mock.clear_faults()
    assert mock.faults() == []
    with pytest.raises(MockControlError) as info:
        mock.fail_next("mockReset", "nuro.api_error")
    assert info.value.status == 400 and info.value.error_id == "request.validation"
    assert "not an operation of the API" in info.value.message


def test_fail_randomly_is_seeded(mock: MockServer, http: httpx.Client) -> None:
    def statuses() -> list[int]:
        mock.reset()
        rule = mock.fail_randomly("nuroGetTask", "nuro.api_error", 0.5)
        assert rule["probability"] == 0.5 and rule["times"] is None
        return [http.get("/api/v1/nuro/task/x").status_code for _ in range(30)]

    first = statuses()
    assert first == statuses() and 0 < first.count(500) < 30


def test_set_balance_sends_only_given_fields(mock: MockServer, http: httpx.Client) -> None:
    mock.set_balance(credits=5, extra_credits=3, qps=2, usage_limit=9)
    state = mock.set_balance(credits=8)
    assert (state["credits"], state["extra_credits"], state["qps"], state["usage_limit"]) == (8, 3, 2, 9)
    state = mock.set_balance(mock.api_key, qps=None)  # None removes a limit
    assert state["qps"] is None and state["usage_limit"] == 9
    assert mock.set_balance("sk_other", credits=1)["credits"] == 1
    assert mock.balance()["credits"] == 8  # another key's change does not touch ours
    mock.set_balance(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
    assert mock.balance()["expires_at"] == "2000-01-01T00:00:00.000Z"
    assert http.post("/api/v1/nuro/create", json=BGM).json()["message"] == "Authorization expired"
    with pytest.raises(TypeError, match="unknown limits"):
        mock.set_balance(colour="red")  # type: ignore[call-arg]
    with pytest.raises(MockControlError) as info:
        mock.set_balance(credits=-1)
    assert info.value.status == 400 and "credits" in info.value.message


def test_keys_and_errors(mock: MockServer) -> None:
    mock.balance("sk_mock_expired")
    keys = {k["api_key"]: k for k in mock.keys()}
    assert keys["sk_mock_expired"]["magic"] is True
    catalog = {e["id"]: e for e in mock.errors()}
    assert catalog["nuro.queue_full"]["status"] == 403 and catalog["nuro.timeout"]["task_failure"] is True


def test_reset_forgets_everything(mock: MockServer, http: httpx.Client) -> None:
    task_id = create(http)
    mock.set_balance(credits=1)
    mock.fail_next("nuroCreate", "nuro.queue_full")
    mock.reset()
    assert mock.tasks() == [] and mock.faults() == [] and mock.requests == []
    assert mock.balance()["credits"] == 1000
    assert http.get(f"/api/v1/nuro/task/{task_id}").status_code == 404


# --- MockControl on its own -------------------------------------------------------------------------


def test_mock_control_from_url_and_from_client(mock: MockServer, http: httpx.Client) -> None:
    task_id = create(http)
    with MockControl(mock.url) as control:
        assert control.task(task_id)["api_key"] == mock.api_key
        with pytest.raises(TypeError, match="no api_key"):
            control.balance()
    with httpx.Client(base_url=mock.url) as client:
        control = MockControl(client=client, api_key=mock.api_key)
        control.advance(120)
        assert control.balance()["credits"] == 990
        control.close()  # a client passed in is left open
        assert not client.is_closed
    assert poll(http, task_id)["status"] == "succeeded"
    with pytest.raises(TypeError, match="base_url or a client"):
        MockControl()


def test_mock_control_error_from_a_non_control_answer() -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="bad gateway")

    with MockControl("http://mock.invalid", transport=httpx.MockTransport(gateway)) as control:
        with pytest.raises(MockControlError) as info:
            control.clock()
    assert (info.value.status, info.value.error_id, info.value.message) == (502, None, "bad gateway")


# --- asyncio ----------------------------------------------------------------------------------------


def test_async_mock_server() -> None:
    async def scenario() -> None:
        async with AsyncMockServer(clock="manual", nuro="legacy") as mock:
            async with httpx.AsyncClient(base_url=mock.url, headers=mock.headers) as http:
                task_id = (await http.post("/api/v1/nuro/create", json=BGM)).json()["task_id"]
                assert (await mock.task(task_id))["status"] == "pending"
                await mock.advance(120)
                assert (await http.get(f"/api/v1/nuro/task/{task_id}")).json()["status"] == "succeeded"
                second = (await http.post("/api/v1/nuro/create", json=VOCAL)).json()["task_id"]
                await mock.fail(second, "nuro.timeout")
                assert (await http.get(f"/api/v1/nuro/task/{second}")).json()["status"] == "failed"
                await mock.fail_next("nuroCreate", "nuro.queue_full")
                assert (await http.post("/api/v1/nuro/create", json=BGM)).status_code == 403
            assert (await mock.balance())["credits"] == 990
            assert len(await mock.requests()) == 5
            with pytest.raises(MockControlError) as info:
                await mock.complete("nope")
            assert info.value.error_id == "control.task_not_found"
            await mock.reset()
            assert await mock.tasks() == []
        assert not mock.server.running

    asyncio.run(scenario())


def test_mock_app_in_process_with_asgi_transport() -> None:
    async def scenario() -> None:
        async with MockApp(clock="manual", nuro="legacy") as mock:
            transport = httpx.ASGITransport(app=mock.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://api.test", headers={"Authorization": "Bearer sk_asgi"}
            ) as http:
                created = await http.post("/api/v1/nuro/create", json=BGM)
                assert created.status_code == 200, created.text
                task_id = created.json()["task_id"]
                assert (await http.get(f"/api/v1/nuro/task/{task_id}")).json()["status"] == "pending"
                await mock.advance(120)
                body = (await http.get(f"/api/v1/nuro/task/{task_id}")).json()
                assert body["status"] == "succeeded"
                audio = await http.get(body["audio_url"].replace("http://api.test", ""))
                assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
            assert (await mock.balance("sk_asgi"))["credits"] == 990
            assert mock.state.store.get_task(task_id) is not None
            async with mock.client() as own:  # authenticated as mock.api_key
                assert (await own.get(f"/api/v1/nuro/task/{task_id}")).status_code == 404
                assert (await own.get("/api/v1/get-credits")).json()["credits"] == 1000

    asyncio.run(scenario())


def test_asgi_app_tuple() -> None:
    async def scenario() -> None:
        app, control = asgi_app(nuro="gone")
        async with control, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            response = await http.get("/api/v1/nuro/task/x", headers={"Authorization": "Bearer k"})
            assert response.status_code == 410
            assert [r["status"] for r in await control.requests()] == [410]
            await control.fail_next("getCredits", "auth.expired")
            assert (await http.get("/api/v1/get-credits", headers={"Authorization": "Bearer k"})).status_code == 401

    asyncio.run(scenario())
    with pytest.raises(TypeError, match="base_url, a client or a transport"):
        AsyncMockControl()
