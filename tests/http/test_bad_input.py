"""The audit's hand-crafted bad input (reliability-audit.md §2): every case, byte for byte on a raw socket.

The cases (``bad_input_cases.py``, those of ``reliability-scripts/badinput.py``) run against a manual-clock
mock with Nuro in legacy mode and a finished Nuro task. Each must answer one of the statuses the case
allows, in time, never with a 5xx (but the deliberate ``Prefer: code=500``) or a traceback, and every
4xx/5xx in the API's JSON error format with the catalog id in ``X-Mock-Error-Id`` (a 416 and a HEAD
answer have no body).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from mockserver.config import Config, NuroMode
from mockserver.testing import MockServer
from tests.http.bad_input_cases import CASES, TASK, Request


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[MockServer, str]]:
    """The audit's server, and its finished Nuro task."""
    with MockServer(Config(clock="manual", nuro=NuroMode.parse("legacy"))) as mock:
        with httpx.Client(base_url=mock.url, headers={"Authorization": "Bearer sk_bad"}) as http:
            task = http.post("/api/v1/nuro/create", json={"type": "bgm", "description": "calm piano"}).json()["task_id"]
            http.post("/_mock/clock/advance", json={"seconds": 600}).raise_for_status()
            assert http.get(f"/api/v1/nuro/task/{task}").json()["status"] == "succeeded"
        yield mock, task


def exchange(port: int, data: bytes, timeout: float) -> bytes:
    """Write ``data`` (as much as the server reads), then read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before the whole request was read: the answer is still there
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            raise AssertionError(f"no complete answer within {timeout} s")
        return b"".join(chunks)


@pytest.mark.parametrize(("name", "request_", "expect", "timeout"), CASES, ids=[c[0][:80] for c in CASES])
def test_bad_input_gets_a_clear_answer_in_the_api_format(
    server: tuple[MockServer, str], name: str, request_: Request, expect: tuple[int, ...], timeout: float
) -> None:
    mock, task = server
    data = request_() if callable(request_) else request_
    answer = exchange(mock.port, data.replace(TASK.encode(), task.encode()), timeout)
    assert answer, "the server closed without answering"
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:])}
    assert status in expect, (status, body[:300])
    assert b"Traceback" not in body
    if status >= 500:
        assert name == "Prefer: code=500", body[:300]
    if status >= 400 and status != 416 and not data.startswith(b"HEAD "):
        assert headers.get("content-type") == "application/json", (headers, body[:300])
        parsed = json.loads(body)
        assert isinstance(parsed, dict) and parsed.get("message"), parsed
        assert headers.get("x-mock-error-id"), headers
