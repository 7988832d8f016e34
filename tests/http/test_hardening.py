"""No input crashes the mock (the reliability audit's reproductions): each answer is a 4xx in the API's format."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.config import Config, NuroMode
from mockserver.testing import MockServer
from tests.helpers import advance
from tests.http.surface import finished_producer

PRODUCER = {"task_type": "create_music", "sound": "x"}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(Config(clock="manual", nuro=NuroMode.parse("legacy"))) as mock:
        yield mock


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer sk_hard"}, timeout=30) as c:
        c.post("/_mock/reset").raise_for_status()
        yield c


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
