"""Helpers for the live-surface behaviour tests: a manual-clock server, a key's balance, a local file server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.helpers import advance

KEY = "sk_surface"


def credits(client: httpx.Client) -> int:
    """The calling key's total balance."""
    body = client.get("/api/v1/get-credits").json()
    return int(body["credits"]) + int(body["extra_credits"])


def finished_sonic(client: httpx.Client, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The two finished clips of a new Sonic create."""
    made = client.post(
        "/api/v1/sonic/create",
        json=body or {"custom_mode": False, "mv": "sonic-v4-5", "gpt_description_prompt": "calm piano"},
    )
    assert made.status_code == 200, made.text
    advance(client, 400)
    polled = client.get(f"/api/v1/sonic/task/{made.json()['task_id']}").json()
    assert {clip["state"] for clip in polled["data"]} == {"succeeded"}, polled
    clips: list[dict[str, Any]] = polled["data"]
    return clips


def finished_producer(client: httpx.Client) -> dict[str, Any]:
    """The finished song of a new Producer create."""
    made = client.post("/api/v1/producer/create", json={"task_type": "create_music", "sound": "lofi"})
    assert made.status_code == 200, made.text
    advance(client, 120)
    polled = client.get(f"/api/v1/producer/task/{made.json()['task_id']}").json()
    assert polled["status"] == "SUCCESS", polled
    song: dict[str, Any] = polled["data"][0]
    return song


def poll_until_done(client: httpx.Client, path: str, *, step: float = 30, limit: int = 40) -> dict[str, Any]:
    """Poll ``path`` (advancing the clock) until the body is no longer pending."""
    for _ in range(limit):
        body: dict[str, Any] = client.get(path).json()
        states = {item.get("state") for item in body.get("data") or []}
        if (
            body.get("type") != "not_ready"
            and body.get("status") not in ("PENDING", "RUNNING")
            and not (states & {"pending", "running"})
        ):
            return body
        advance(client, step)
    raise AssertionError(f"{path} still pending")


@contextmanager
def file_server(content_type: str, status: int = 200) -> Iterator[str]:
    """A server on 127.0.0.1 answering every ``HEAD``/``GET`` with ``status`` and ``content_type``; its URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
            self._answer(b"ID3")

        def do_GET(self) -> None:  # noqa: N802
            self._answer(b"ID3")
            self.wfile.write(b"ID3")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/song.mp3"
    finally:
        server.shutdown()
        server.server_close()
