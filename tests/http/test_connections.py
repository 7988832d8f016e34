"""Reading requests: deadlines, size limits while reading, answers in the API's format (audit D11, D15).

Every request here is written byte for byte on a raw socket, as a slow, broken or hostile client would.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver.config import Config, NuroMode
from mockserver.http.protocol import MAX_URL_BYTES
from mockserver.testing import MockServer

READ_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    """A mock that gives clients half a second to send a head or resume a body."""
    with MockServer(Config(clock="manual", nuro=NuroMode.parse("legacy"), read_timeout=READ_TIMEOUT)) as mock:
        yield mock


def exchange(server: MockServer, data: bytes, timeout: float = 10.0) -> tuple[bytes, float]:
    """Write ``data``, read until the server closes; the answer and the seconds it took."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(timeout)
        started = time.monotonic()
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks), time.monotonic() - started


def parse(answer: bytes) -> tuple[int, dict[str, str], Any]:
    """Status, headers (lower-case names) and JSON body of one HTTP/1.1 answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    assert headers["content-type"] == "application/json", answer[:300]
    return int(lines[0].split()[1]), headers, json.loads(body)


HEAD = b"Host: x\r\nAuthorization: Bearer sk_conn\r\nConnection: close\r\n"

REFUSED = [
    pytest.param(b"GARBAGE /x HTTP/1.1\r\n\r\n", 400, "request.invalid_http", "nuro", id="invalid-request-line"),
    pytest.param(
        b"GET /api/v1/sonic/task/" + b"a" * (MAX_URL_BYTES + 1) + b" HTTP/1.1\r\n" + HEAD + b"\r\n",
        414,
        "request.uri_too_long",
        "general",
        id="long-url",
    ),
    pytest.param(
        b"GET /api/v1/producer/task/x HTTP/1.1\r\n" + HEAD + b"X-Big: " + b"a" * 200_000 + b"\r\n\r\n",
        431,
        "request.headers_too_large",
        "general",
        id="one-huge-header",
    ),
    pytest.param(
        b"GET /api/v1/nuro/task/x HTTP/1.1\r\n"
        + HEAD
        + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 100) for i in range(1000))
        + b"\r\n",
        431,
        "request.headers_too_large",
        "nuro",
        id="many-headers",
    ),
    pytest.param(
        b"GET /_mock/tasks HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 16 * 1024 * 1024 + b"\r\n\r\n",
        431,
        "request.headers_too_large",
        "mock",
        id="16-MiB-header",
    ),
]


@pytest.mark.parametrize(("data", "status", "error_id", "fmt"), REFUSED)
def test_a_request_refused_while_reading_is_answered_in_its_paths_format(
    server: MockServer, data: bytes, status: int, error_id: str, fmt: str
) -> None:
    answer, _ = exchange(server, data)
    got, headers, body = parse(answer)
    assert (got, headers["x-mock-error-id"], headers["connection"]) == (status, error_id, "close")
    expected_keys = {
        "nuro": {"type", "message"},
        "general": {"code", "message", "error", "detail", "type"},
        "mock": {"type", "message", "error_id"},
    }[fmt]
    assert set(body) == expected_keys, body
    assert "limit" in body["message"] or "malformed" in body["message"]


def test_headers_that_stop_arriving_get_408_after_the_read_timeout(server: MockServer) -> None:
    answer, took = exchange(server, b"GET /api/v1/sonic/task/x HTTP/1.1\r\n" + HEAD)  # no blank line: stalled
    status, headers, body = parse(answer)
    assert (status, headers["x-mock-error-id"], body["code"]) == (408, "request.timeout", 408)
    assert f"within {READ_TIMEOUT:g} s" in body["message"]
    assert READ_TIMEOUT <= took < READ_TIMEOUT + 3


def test_a_body_that_stops_arriving_gets_408_and_is_journaled(server: MockServer) -> None:
    server.control.reset()
    head = (
        b"POST /api/v1/nuro/create HTTP/1.1\r\n" + HEAD + b"Content-Type: application/json\r\nContent-Length: 100\r\n"
    )
    answer, took = exchange(server, head + b"\r\n" + b'{"type":')
    status, headers, body = parse(answer)
    assert (status, headers["x-mock-error-id"]) == (408, "request.timeout")
    assert body == {"type": "request_timeout", "message": f"Request body stalled: no data for {READ_TIMEOUT:g} s"}
    assert READ_TIMEOUT <= took < READ_TIMEOUT + 3
    journal = httpx.get(f"{server.url}/_mock/requests").json()["requests"]
    assert [(r["operation"], r["status"], r["error_id"]) for r in journal] == [("nuroCreate", 408, "request.timeout")]


def test_a_slow_but_steady_body_is_read_whole(server: MockServer) -> None:
    body = json.dumps({"type": "vocal", "lyrics": "Hello world, la la la"}).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(10)
        sock.sendall(
            b"POST /api/v1/nuro/create HTTP/1.1\r\n"
            + HEAD
            + b"Content-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        for start in range(0, len(body), 8):  # each pause is under the timeout, the whole send is over it
            time.sleep(READ_TIMEOUT / 3)
            sock.sendall(body[start : start + 8])
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    status, _, parsed = parse(answer)
    assert status == 200, parsed
    assert "task_id" in parsed
