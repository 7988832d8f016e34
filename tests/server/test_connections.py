"""Connections of a ``musicapi-mock serve`` process: the cap under stalled clients, and SIGTERM (audit D11, D14).

Real processes on 127.0.0.1, with their own file limits where the test is about them.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.test_durable import serving

KEY = {"Authorization": "Bearer sk_conn"}
PRODUCER = {"task_type": "create_music", "sound": "lofi"}
UNLIMITED = ("--initial-credits", "100000000", "--default-qps", "1000000", "--default-queue-capacity", "1000000")


def test_stalled_connections_at_the_file_limit_do_not_lock_out_a_working_client(tmp_path: Path) -> None:
    # 300 clients that never finish their headers, against a process that may open 256 files: uvicorn alone
    # held them all and refused the next client ("Server disconnected"); the cap closes the longest stalled.
    with serving(tmp_path, "--clock", "manual", "--read-timeout", "60", files=256) as server:
        stalled = []
        try:
            for _ in range(300):
                sock = socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
                sock.sendall(b"GET /api/v1/sonic/task/x HTTP/1.1\r\nHost: x\r\n")
                stalled.append(sock)
            time.sleep(0.5)
            with httpx.Client(base_url=server.url, headers=KEY, timeout=10) as http:
                answer = http.post("/api/v1/producer/create", json=PRODUCER)
            assert answer.status_code == 200, answer.text
            closed = sum(1 for sock in stalled if _closed(sock))
            assert closed >= 300 - 256, closed  # the oldest stalled ones made room
        finally:
            for sock in stalled:
                sock.close()
        assert "connection cap" in server.log.read_text()


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(0.05)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


async def _hammer(url: str, clients: int, seconds_before: float, signal_at: list[float], kill: Any) -> list[Any]:
    """``clients`` keep-alive clients creating in a loop; SIGTERM after ``seconds_before``; (sent, done, outcome)."""
    events: list[tuple[float, float, Any]] = []
    stop = asyncio.Event()
    async with httpx.AsyncClient(
        base_url=url, headers=KEY, timeout=30, limits=httpx.Limits(max_connections=clients)
    ) as c:

        async def client() -> None:
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    outcome: Any = (await c.post("/api/v1/producer/create", json=PRODUCER)).status_code
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                events.append((sent, time.monotonic(), outcome))
                if not isinstance(outcome, int):
                    await asyncio.sleep(0.05)

        running = [asyncio.create_task(client()) for _ in range(clients)]
        await asyncio.sleep(seconds_before)
        signal_at.append(time.monotonic())
        kill()
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.gather(*running)
    return events


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_answers_every_request_already_sent(tmp_path: Path, workers: str) -> None:
    # The audit saw 30-38 of 64 in-flight keep-alive requests cut off (ReadError) with --workers 2: idle
    # connections were closed under a request just written, and the parent's listening socket queued new
    # connections nobody accepted. Now each request that reached the server is answered.
    with serving(tmp_path, "--workers", workers, "--clock", "manual", *UNLIMITED) as server:
        signal_at: list[float] = []
        events = asyncio.run(
            _hammer(server.url, 48, 1.5, signal_at, lambda: server.process.send_signal(signal.SIGTERM))
        )
        assert server.process.wait(timeout=20) == 0
    sigterm = signal_at[0]
    before = Counter(outcome for sent, done, outcome in events if done < sigterm)
    in_flight = Counter(outcome for sent, done, outcome in events if sent < sigterm <= done)
    assert set(before) == {200}, before
    assert sum(in_flight.values()) >= 24, in_flight
    # answered, or refused before being sent (a closed connection, then a closed port): never cut off
    assert set(in_flight) <= {200, "ConnectError"}, in_flight
    assert in_flight[200] >= 1, in_flight


@pytest.fixture
def slow_receiver() -> Iterator[str]:
    """A webhook receiver that takes 4 s to answer each delivery."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(4)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_a_request_outlasting_the_graceful_shutdown_gets_503_in_the_api_format(
    tmp_path: Path, slow_receiver: str
) -> None:
    # An advance delivers a Sonic task's two events in two rounds of 4 s; SIGTERM 1 s in leaves it 5 s.
    # uvicorn then cancels it: it answered a plain-text 500 and logged a CancelledError traceback.
    sonic = {
        "custom_mode": True,
        "mv": "sonic-v4-5",
        "prompt": "[Verse] la",
        "tags": "pop",
        "webhook_url": slow_receiver,
    }
    with serving(tmp_path, "--clock", "manual") as server, server.client("sk_conn") as http:
        assert http.post("/api/v1/sonic/create", json=sonic).status_code == 200
        timer = threading.Timer(1.0, server.process.send_signal, (signal.SIGTERM,))
        timer.start()
        answer = http.post("/_mock/clock/advance", json={"seconds": 600})
        timer.join()
        assert server.process.wait(timeout=20) == 0
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error_id"] == "request.shutting_down"
    log = server.log.read_text()
    assert "Traceback" not in log and "CancelledError" not in log, log
