"""Verifying what a client sent: the journal's bodies and headers, its filters, ``calls`` and ``assert_called``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from mockserver.config import Config, NuroMode
from mockserver.testing import MockServer

KEY = "sk_verify"
PRODUCER = {"task_type": "create_music", "sound": "calm lofi piano"}


def test_the_journal_keeps_bodies_and_headers_with_secrets_redacted(client: httpx.Client) -> None:
    real_key = "sk_live_" + "x" * 40
    headers = {"Authorization": f"Bearer {real_key}", "Cookie": "session=s3cret", "X-Trace": "abc"}
    created = client.post("/api/v1/producer/create?src=test", json=PRODUCER, headers=headers)
    assert created.status_code == 200
    (entry,) = client.get("/_mock/requests", params={"operation": "producerCreate"}).json()["requests"]
    assert json.loads(entry["request_body"]) == PRODUCER and not entry["request_body_truncated"]
    assert json.loads(entry["response_body"]) == created.json()
    assert entry["query"] == "src=test"
    sent = entry["request_headers"]
    assert sent["x-trace"] == "abc" and sent["cookie"] == "[redacted]"
    assert real_key not in json.dumps(entry) and sent["authorization"].startswith("Bearer sk_live_")


def test_filters_by_operation_status_and_body(client: httpx.Client) -> None:
    client.post("/api/v1/producer/create", json=PRODUCER)
    client.post("/api/v1/producer/create", json={**PRODUCER, "sound": "loud metal"})
    client.post("/api/v1/producer/create", json={"task_type": "create_music"})  # 400: no sound
    client.get("/api/v1/get-credits")
    journal = "/_mock/requests"
    assert len(client.get(journal, params={"operation": "producerCreate"}).json()["requests"]) == 3
    assert len(client.get(journal, params={"operation": "producerCreate", "status": 400}).json()["requests"]) == 1
    metal = client.get(journal, params={"body_contains": "metal"}).json()["requests"]
    assert [json.loads(e["request_body"])["sound"] for e in metal] == ["loud metal"]
    page = client.get(journal, params={"operation": "producerCreate", "after": 0, "limit": 2}).json()
    assert len(page["requests"]) == 2 and page["next_after"] == page["requests"][1]["seq"]
    assert client.get(journal, params={"status": 99}).status_code == 400


def test_assert_called_passes_with_the_calls_and_fails_saying_what_was_called(
    server: MockServer, client: httpx.Client
) -> None:
    client.post("/api/v1/producer/create", json=PRODUCER)
    client.post("/api/v1/producer/create", json=PRODUCER)
    found = server.assert_called("producerCreate", times=2, body_contains="lofi")
    assert [e["status"] for e in found] == [200, 200]
    assert len(server.calls("producerCreate", status=200)) == 2
    with pytest.raises(AssertionError) as failed:
        server.assert_called("sonicCreate")
    message = str(failed.value)
    assert "expected sonicCreate called at least once; matched 0 call(s)" in message
    assert "producerCreate POST /api/v1/producer/create -> 200" in message
    with pytest.raises(AssertionError, match="called 1 time"):
        server.assert_called("producerCreate", times=1)


@pytest.fixture
def small_journal() -> Iterator[MockServer]:
    config = Config(clock="manual", nuro=NuroMode.parse("legacy"), journal_body_bytes=16, journal_bytes=4096)
    with MockServer(config, api_key=KEY) as mock:
        yield mock


def test_bodies_are_cut_and_the_journal_keeps_its_byte_cap(small_journal: MockServer) -> None:
    with httpx.Client(base_url=small_journal.url, headers=small_journal.headers) as http:
        assert http.post("/api/v1/producer/create", json=PRODUCER).status_code == 200
        (first,) = small_journal.control.journal()
        kept_body = first["request_body"]
        assert kept_body is not None and len(kept_body) == 16
        assert json.dumps(PRODUCER, separators=(",", ":")).startswith(kept_body)
        assert first["request_body_truncated"] and first["response_body_truncated"]
        for _ in range(600):  # each entry's detail is a few hundred bytes: far past 4 KiB in all
            http.get("/api/v1/get-credits")
        kept = small_journal.control.journal()
    assert 5 <= len(kept) < 600
    assert kept[-1]["seq"] == first["seq"] + 600  # the newest stay, the oldest went first
