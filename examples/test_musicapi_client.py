"""Tests of the example client, written with the musicapi-mock pytest plugin (no credits, no sleeping).

The client waits with ``sleep``; here that moves the mock's virtual clock instead of real time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from musicapi_client import AuthError, Gone, MusicApiClient, RateLimited, Rejected, TaskFailed

from mockserver.testing import MockServer

LYRICS = "[Verse]\nStars they shine above me\n[Chorus]\nStarry night"


@pytest.fixture
def client(musicapi_mock: MockServer) -> Iterator[MusicApiClient]:
    def sleep(seconds: float) -> None:  # the client waits on the mock's virtual clock
        musicapi_mock.advance(seconds)

    with MusicApiClient(musicapi_mock.url, musicapi_mock.api_key or "", sleep=sleep) as c:
        yield c


def test_song_is_made_downloaded_and_paid_for(client: MusicApiClient) -> None:
    song = client.song(LYRICS, title="Stars", tags="pop")
    assert song.title == "Stars" and song.duration > 10
    mp3 = client.download(song)
    assert mp3[0] == 0xFF and mp3[1] & 0xE0 == 0xE0  # an MPEG audio frame: Sonic serves MP3
    assert client.credits() == 1000 - 14


def test_instrumental_from_producer(client: MusicApiClient) -> None:
    song = client.instrumental("lofi beat, mellow piano", title="Study")
    assert song.audio_url.endswith(".wav") and client.download(song)[8:12] == b"WAVE"
    assert client.credits() == 1000 - 10


def test_failed_task_is_reported_with_its_refund(client: MusicApiClient, musicapi_mock: MockServer) -> None:
    musicapi_mock.fail_next("sonicCreate", "sonic.timeout")
    with pytest.raises(TaskFailed) as failure:
        client.song(LYRICS, title="Stars", tags="pop")
    assert failure.value.refunded and "timeout" in failure.value.message
    assert client.credits() == 1000


@pytest.mark.musicapi_mock(nuro="gone")  # as the live service; the fixture's default is legacy
def test_nuro_is_gone(client: MusicApiClient) -> None:
    with pytest.raises(Gone, match="POST /api/v1/sonic/create"):
        client.nuro_song(LYRICS)


def test_nuro_legacy_still_answers_on_demand(client: MusicApiClient) -> None:
    assert client.nuro_song(LYRICS)


def test_qps_limit_is_retried_with_backoff(client: MusicApiClient, musicapi_mock: MockServer) -> None:
    musicapi_mock.set_balance(qps=1)
    song = client.song(LYRICS, title="Stars", tags="pop")  # polls trip the limit; the client backs off
    assert song.duration > 10
    limited = [r for r in musicapi_mock.requests if r["status"] == 429]
    assert limited, "the limit was never hit: the test proves nothing"


def test_queue_full_gives_up_after_retries_without_cost(client: MusicApiClient, musicapi_mock: MockServer) -> None:
    musicapi_mock.set_balance(queue_capacity=0)
    with pytest.raises(RateLimited, match="Too many tasks in progress"):
        client.song(LYRICS, title="Stars", tags="pop")
    assert len(musicapi_mock.requests) == 1 + client.retries
    assert client.credits() == 1000


def test_expired_key_is_not_retried(client: MusicApiClient, musicapi_mock: MockServer) -> None:
    musicapi_mock.set_balance(expires_at=0)
    with pytest.raises(AuthError, match="Authorization expired"):
        client.song(LYRICS, title="Stars", tags="pop")
    assert len(musicapi_mock.requests) == 1


def test_bad_input_is_rejected_with_the_documented_message(client: MusicApiClient) -> None:
    with pytest.raises(Rejected, match="The title character length should be less than 80."):
        client.song(LYRICS, title="x" * 81, tags="pop")


def test_webhook_is_delivered_and_signed(client: MusicApiClient, musicapi_mock: MockServer) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            received.append((dict(self.headers.items()), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        song = client.song(
            LYRICS, title="Stars", tags="pop", webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook"
        )
    finally:
        server.shutdown()
        server.server_close()
    headers, raw = received[-1]
    assert headers["X-Webhook-Event"] == "song.completed"
    secret = "musicapi-mock-default-webhook-secret"  # no webhook_secret given: the default one signs
    expected = hmac.new(secret.encode(), f"{headers['X-Webhook-Timestamp']}.".encode() + raw, hashlib.sha256)
    assert headers["X-Webhook-Signature"] == f"sha256={expected.hexdigest()}"
    assert json.loads(raw)["task_id"] == song.task_id
    assert [d["state"] for d in musicapi_mock.webhooks] == ["delivered", "delivered"]
