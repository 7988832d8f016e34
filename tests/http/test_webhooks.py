"""Webhooks to a receiver on 127.0.0.1: signed, once per delivery, retried, driven by the virtual clock."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.helpers import ServerFactory, advance

SONIC = {"custom_mode": True, "mv": "sonic-v4-5", "prompt": "[Verse] la la", "tags": "pop"}


@dataclass
class Receiver:
    """A webhook receiver that records every request and can fail the first N."""

    url: str = ""
    fail_first: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "raw": raw})
            status = 500 if len(state.received) <= state.fail_first else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # socketserver's 5 resets connections when both workers' bursts overlap

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


def verify(request: dict[str, Any], secret: str) -> dict[str, Any]:
    headers = request["headers"]
    expected = hmac.new(
        secret.encode(), f"{headers['x-webhook-timestamp']}.".encode() + request["raw"], hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(headers["x-webhook-signature"], f"sha256={expected}"), "bad signature"
    body: dict[str, Any] = json.loads(request["raw"])
    return body


@pytest.fixture
def client(start_server: ServerFactory) -> Iterator[httpx.Client]:
    server = start_server(clock="manual")
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k"}) as c:
        yield c


def test_sonic_events_signed_and_once(client: httpx.Client, receiver: Receiver) -> None:
    task_id = client.post(
        "/api/v1/sonic/create", json={**SONIC, "webhook_url": receiver.url, "webhook_secret": "s3cret"}
    ).json()["task_id"]
    assert receiver.received == []
    advance(client, 60)  # running: streaming
    assert [r["headers"]["x-webhook-event"] for r in receiver.received] == ["song.streaming"]
    advance(client, 400)
    events = [r["headers"]["x-webhook-event"] for r in receiver.received]
    assert events == ["song.streaming", "song.completed"]
    completed = verify(receiver.received[1], "s3cret")
    assert completed["task_id"] == task_id and completed["platform"] == "suno"
    assert [c["state"] for c in completed["data"]] == ["succeeded", "succeeded"]
    assert completed["data"][0]["audio_url"].endswith(".mp3")
    ids = [r["headers"]["x-webhook-id"] for r in receiver.received]
    assert len(set(ids)) == 2
    advance(client, 100)
    assert len(receiver.received) == 2  # each event once
    deliveries = client.get("/_mock/webhooks").json()["deliveries"]
    assert [(d["event"], d["state"], len(d["attempts"])) for d in deliveries] == [
        ("song.streaming", "delivered", 1),
        ("song.completed", "delivered", 1),
    ]


def test_retries_with_backoff_keep_the_id(client: httpx.Client, receiver: Receiver) -> None:
    receiver.fail_first = 2
    client.post(
        "/api/v1/producer/create", json={"task_type": "create_music", "sound": "x", "webhook_url": receiver.url}
    ).raise_for_status()
    advance(client, 60)
    assert len(receiver.received) == 1  # failed (500); next try in 2 s of virtual time
    advance(client, 1)
    assert len(receiver.received) == 1
    advance(client, 1)
    assert len(receiver.received) == 2  # failed again; next in 4 s
    advance(client, 4)
    assert len(receiver.received) == 3
    ids = {r["headers"]["x-webhook-id"] for r in receiver.received}
    assert len(ids) == 1
    body = verify(receiver.received[-1], "musicapi-mock-default-webhook-secret")  # no secret given
    assert body["platform"] == "producer" and body["status"] == "SUCCESS"
    delivery = client.get("/_mock/webhooks").json()["deliveries"][0]
    assert delivery["state"] == "delivered" and [a["status"] for a in delivery["attempts"]] == [500, 500, 200]


def test_failed_task_event(client: httpx.Client, receiver: Receiver) -> None:
    client.post(
        "/api/v1/sonic/create",
        json={**SONIC, "webhook_url": receiver.url, "webhook_secret": "s"},
        headers={"X-Mock-Scenario": "sonic.generation_failed@20"},
    ).raise_for_status()
    advance(client, 400)
    events = [r["headers"]["x-webhook-event"] for r in receiver.received]
    assert events == ["song.streaming", "song.failed"]
    body = verify(receiver.received[-1], "s")
    assert body["data"][0]["state"] == "failed" and "Generation failed" in body["data"][0]["error_message"]
    assert client.get("/api/v1/get-credits").json()["credits"] == 1000  # refunded


def test_only_loopback_targets(client: httpx.Client) -> None:
    client.post(
        "/api/v1/producer/create",
        json={"task_type": "create_music", "sound": "x", "webhook_url": "http://203.0.113.9/hook"},
    ).raise_for_status()
    advance(client, 60)
    delivery = client.get("/_mock/webhooks").json()["deliveries"][0]
    assert delivery["state"] == "blocked" and delivery["attempts"][0]["status"] is None
    assert "loopback" in delivery["attempts"][0]["error"]


def test_delivered_on_a_running_clock_too(start_server: ServerFactory, receiver: Receiver) -> None:
    server = start_server(clock="instant")
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k"}) as c:
        c.post(
            "/api/v1/producer/create", json={"task_type": "create_music", "sound": "x", "webhook_url": receiver.url}
        ).raise_for_status()
        for _ in range(100):  # the dispatcher ticks every 50 ms of real time
            if receiver.received:
                break
            threading.Event().wait(0.05)
        assert [r["headers"]["x-webhook-event"] for r in receiver.received] == ["song.completed"]


def test_python_api_lists_deliveries(receiver: Receiver) -> None:
    from mockserver.testing import MockServer

    with MockServer.start(clock="manual") as mock, httpx.Client(base_url=mock.url, headers=mock.headers) as c:
        task_id = c.post("/api/v1/sonic/create", json={**SONIC, "webhook_url": receiver.url}).json()["task_id"]
        assert mock.webhooks == []
        mock.advance(400)
        assert [d["event"] for d in mock.webhooks] == ["song.streaming", "song.completed"]
        assert [d["state"] for d in mock.deliveries(task_id)] == ["delivered", "delivered"]
        assert mock.deliveries("other") == []
