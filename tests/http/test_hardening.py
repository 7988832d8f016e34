"""No input crashes the mock (the reliability audit's reproductions): each answer is a 4xx in the API's format."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from mockserver.config import Config
from mockserver.testing import MockServer
from tests.helpers import advance
from tests.http.surface import finished_producer

PRODUCER = {"task_type": "create_music", "sound": "x"}


KEY = "sk_hard"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/a\tb",
        "http://127.0.0.1:9/\r\nX-Injected: 1",
        "http://user:secret@127.0.0.1:9/hook",
        "ftp://127.0.0.1/x",
    ],
)
def test_d1_d10_webhook_urls_with_control_characters_or_credentials_are_refused(client: httpx.Client, url: str) -> None:
    answer = client.post("/api/v1/producer/create", json={**PRODUCER, "webhook_url": url})
    assert answer.status_code == 400 and answer.json()["message"].startswith("webhook_url: must be an http(s) URL")
    advance(client, 120)
    assert client.post("/_mock/clock/advance", json={"seconds": 1}).status_code == 200  # the dispatcher lives


def test_d2_a_producer_clip_is_not_a_sonic_clip(client: httpx.Client) -> None:
    song = finished_producer(client)["clip_id"]
    for path, body in (
        ("persona", {"name": "p", "clip_id": song}),
        (
            "create",
            {
                "task_type": "extend_music",
                "continue_clip_id": song,
                "continue_at": 1,
                "custom_mode": True,
                "mv": "sonic-v4-5",
                "prompt": "la",
            },
        ),
        ("create", {"task_type": "concat_music", "continue_clip_id": song}),
    ):
        answer = client.post(f"/api/v1/sonic/{path}", json=body)
        assert answer.status_code == 400 and answer.json()["message"] == "continue_clip_id not found.", answer.text


@pytest.mark.parametrize("depth", [65, 1000, 1020])
def test_d3_deep_nesting_is_a_400(client: httpx.Client, depth: int) -> None:
    body = b'{"type":"bgm","description":' + b"[" * depth + b"]" * depth + b"}"
    answer = client.post("/api/v1/nuro/create", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "nested deeper" in answer.json()["message"]


@pytest.mark.parametrize("instant", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1900-01-01T00:00:00Z"])
def test_d4_out_of_range_instants_are_refused_and_not_stored(client: httpx.Client, instant: str) -> None:
    answer = client.put("/_mock/keys/sk_x", json={"expires_at": instant})
    assert answer.status_code == 400 and "out of range" in answer.json()["message"]
    assert client.get("/_mock/keys").status_code == 200 and client.get("/_mock/keys/sk_x").json()["expires_at"] is None


def test_d4_a_scenario_file_with_an_out_of_range_instant_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text('keys:\n  sk_a: {expires_at: "0001-01-01T00:00:00+01:00"}\n', encoding="utf-8")
    with pytest.raises(Exception, match="out of range"):
        MockServer(Config(scenarios=(str(path),))).start()


@pytest.mark.parametrize("value", [9223372036854775808, 18446744073709551615, 10**13])
def test_d5_integers_beyond_what_a_store_holds_are_refused(client: httpx.Client, value: int) -> None:
    assert client.put("/_mock/keys/k", json={"credits": value}).status_code == 400
    assert client.get("/_mock/ledger").status_code == 200
    assert client.get("/_mock/requests", params={"limit": "99999999999999999999"}).status_code == 400
    assert client.get("/_mock/requests", params={"limit": "0"}).status_code == 400


def test_d8_the_journal_keeps_a_fingerprint_and_huge_keys_are_refused(client: httpx.Client) -> None:
    key = "sk_live_" + "s3cret" * 10
    client.get("/api/v1/get-credits", headers={"Authorization": f"Bearer {key}"})
    (entry,) = client.get("/_mock/requests", params={"api_key": key}).json()["requests"]
    assert key not in entry["api_key"] and entry["api_key"].startswith("sk_live_")
    huge = client.get("/api/v1/get-credits", headers={"Authorization": "Bearer " + "k" * 2000})
    assert huge.status_code == 401
    headers = client.get("/api/v1/get-credits", headers={"X-Filler": "x" * 70_000})
    assert headers.status_code == 431 and headers.json()["code"] == 431


def test_d12_a_billion_laughs_scenario_file_is_refused_at_once(tmp_path: Path) -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 9) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(Exception, match="YAML aliases"):
        MockServer(Config(scenarios=(str(path),))).start()
    assert time.monotonic() - started < 10


def test_d13_a_crash_is_answered_in_format_and_journaled(client: httpx.Client, server: MockServer) -> None:
    store = server.state.store
    original = store.get_account

    def broken(api_key: str) -> None:
        raise RuntimeError("boom")

    store.get_account = broken  # type: ignore[method-assign]
    try:
        answer = client.get("/api/v1/get-credits")
    finally:
        store.get_account = original  # type: ignore[method-assign]
    assert answer.status_code == 500 and answer.json()["type"] == "api_error"
    journal = client.get("/_mock/requests").json()["requests"]
    assert journal[-1]["status"] == 500 and journal[-1]["error_id"] == "request.internal"


def test_d15_416_is_in_the_api_format_and_no_redirect_is_built_from_host(client: httpx.Client) -> None:
    song = finished_producer(client)
    ranged = client.get(song["wav_url"], headers={"Range": "bytes=999999999-"})
    assert ranged.status_code == 416 and ranged.json()["error_id"] == "request.range_not_satisfiable"
    assert ranged.headers["content-range"].startswith("bytes */")
    slash = client.get("/_mock/tasks/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert slash.status_code == 404 and "location" not in slash.headers


def test_d16_a_client_that_leaves_mid_body_is_one_quiet_line(server: MockServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    for _ in range(5):
        with socket.create_connection((host, int(port))) as raw:
            raw.sendall(
                b"POST /api/v1/nuro/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n"
                b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"type":'
            )
    assert httpx.get(f"{server.url}/_mock/clock").status_code == 200


def test_d18_a_405_names_every_method_of_the_path(client: httpx.Client) -> None:
    answer = client.patch("/_mock/faults")
    assert answer.status_code == 405 and set(answer.headers["allow"].split(", ")) >= {"GET", "POST", "DELETE"}
    key = client.patch("/_mock/keys/k")
    assert key.status_code == 405 and set(key.headers["allow"].split(", ")) >= {"GET", "PUT"}


def test_d9_a_control_token_is_required_when_set() -> None:
    with MockServer(Config(clock="manual", control_token="s3cret")) as mock:
        plain = httpx.get(f"{mock.url}/_mock/tasks")
        assert plain.status_code == 401 and plain.json()["error_id"] == "control.token_required"
        wrong = httpx.get(f"{mock.url}/_mock/tasks", headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 401
        assert httpx.get(f"{mock.url}/_mock/tasks", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert mock.tasks() == []  # the Python API sends the token it was configured with
        api = httpx.get(f"{mock.url}/api/v1/get-credits", headers={"Authorization": "Bearer sk_any"})
        assert api.status_code == 200  # the product API is not behind the token


def test_d9_a_public_bind_opens_the_control_plane_to_loopback_peers_only() -> None:
    import asyncio

    from mockserver.app import create_app

    async def scenario() -> None:
        app = create_app(Config(clock="manual", host="0.0.0.0"))  # noqa: S104 - the bind is never opened here
        remote = httpx.ASGITransport(app=app, client=("192.0.2.7", 5000))
        local = httpx.ASGITransport(app=app, client=("::1", 5000))
        async with httpx.AsyncClient(transport=remote, base_url="http://m") as far:
            refused = await far.post("/_mock/reset")
            assert refused.status_code == 403 and refused.json()["error_id"] == "control.loopback_only"
            key = {"Authorization": "Bearer sk_far"}
            assert (await far.get("/api/v1/get-credits", headers=key)).status_code == 200
        async with httpx.AsyncClient(transport=local, base_url="http://m") as near:
            assert (await near.post("/_mock/reset")).status_code == 200

    asyncio.run(scenario())


def test_d17_control_listings_page_with_offset_and_limit(client: httpx.Client) -> None:
    ids = [client.post("/api/v1/producer/create", json=PRODUCER).json()["task_id"] for _ in range(5)]
    first = client.get("/_mock/tasks", params={"limit": 2}).json()
    assert [t["task_id"] for t in first["tasks"]] == ids[:2] and first["next_offset"] == 2
    last = client.get("/_mock/tasks", params={"offset": 4, "limit": 2}).json()
    assert [t["task_id"] for t in last["tasks"]] == ids[4:] and last["next_offset"] is None
    ledger = client.get("/_mock/ledger", params={"api_key": "sk_hard", "limit": 1}).json()
    assert len(ledger["entries"]) == 1 and ledger["next_offset"] == 1
    every = client.get("/_mock/ledger", params={"api_key": "sk_hard"}).json()
    assert ledger["totals"] == every["totals"]  # totals count every entry, not the page
    for bad in ({"limit": 0}, {"limit": 100001}, {"offset": -1}, {"limit": "x"}):
        answer = client.get("/_mock/tasks", params=bad)
        assert answer.status_code == 400, (bad, answer.text)


def test_d17_the_journal_pages_and_follows_by_seq(client: httpx.Client, server: MockServer) -> None:
    for _ in range(5):
        client.get("/api/v1/get-credits")
    whole = client.get("/_mock/requests").json()
    seqs = [r["seq"] for r in whole["requests"]]
    assert len(seqs) == 5 and seqs == sorted(seqs) and whole["next_after"] is None
    assert [r["seq"] for r in client.get("/_mock/requests", params={"limit": 2}).json()["requests"]] == seqs[3:]
    page = client.get("/_mock/requests", params={"after": 0, "limit": 2}).json()
    assert [r["seq"] for r in page["requests"]] == seqs[:2] and page["next_after"] == seqs[1]
    pages = [page]
    while pages[-1]["next_after"] is not None:
        pages.append(client.get("/_mock/requests", params={"after": pages[-1]["next_after"], "limit": 2}).json())
    assert [r["seq"] for p in pages for r in p["requests"]] == seqs and len(pages) == 3
    client.get("/api/v1/get-credits")  # following the journal: what came after the last seq seen
    assert [r["seq"] for r in server.control.journal(after=seqs[-1])] == [seqs[-1] + 1]
    for bad in ({"after": -1}, {"after": "x"}, {"after": 10**19}):
        answer = client.get("/_mock/requests", params=bad)
        assert answer.status_code == 400 and answer.headers["x-mock-error-id"] == "request.validation", answer.text


def test_retention_forgets_old_tasks() -> None:
    with (
        MockServer(Config(clock="manual", retain_seconds=600)) as mock,
        httpx.Client(base_url=mock.url, headers=mock.headers) as http,
    ):
        task_id = http.post("/api/v1/producer/create", json=PRODUCER).json()["task_id"]
        mock.advance(599)
        assert http.get(f"/api/v1/producer/task/{task_id}").status_code == 200
        mock.advance(2)
        assert http.get(f"/api/v1/producer/task/{task_id}").status_code == 404


def test_retention_deletes_expired_tasks_after_settling_their_refunds() -> None:
    with (
        MockServer(Config(clock="manual", retain_seconds=60)) as mock,
        httpx.Client(base_url=mock.url, headers=mock.headers) as http,
    ):
        for _ in range(20):
            http.post("/api/v1/producer/create", json=PRODUCER).raise_for_status()
        failing = http.post(
            "/api/v1/producer/create", json=PRODUCER, headers={"X-Mock-Scenario": "producer.generation_failed"}
        ).json()["task_id"]
        mock.advance(61)
        http.post("/api/v1/producer/create", json=PRODUCER).raise_for_status()
        http.post("/api/v1/producer/create", json=PRODUCER).raise_for_status()
        assert mock.state.store.task_count() == 2  # 16 + 5 expired gone over two creates
        refunds = [e for e in mock.ledger(mock.api_key)["entries"] if e["reason"] == "refund"]
        assert [e["task_id"] for e in refunds] == [failing]  # settled before its task was forgotten
