"""The rest of the live Producer surface, over real HTTP: upload, download, lyrics, video, the 202 option."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import av
import httpx
import pytest

from mockserver.config import Config
from mockserver.testing import MockServer
from tests.helpers import advance, assert_matches_spec, audio_seconds
from tests.http.surface import KEY, credits, file_server, finished_producer, finished_sonic, poll_until_done


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(Config(clock="manual")) as mock:
        yield mock


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as c:
        c.post("/_mock/reset").raise_for_status()
        yield c


def task(client: httpx.Client, path: str, body: dict[str, object]) -> dict[str, Any]:
    """Create a Producer task and poll it to its end (checking every answer against the spec)."""
    made = client.post(f"/api/v1/producer/{path}", json=body)
    assert made.status_code == 200, made.text
    done = poll_until_done(client, f"/api/v1/producer/task/{made.json()['task_id']}", step=5)
    assert_matches_spec("producerGetTask", 200, done)
    return done


def test_a_song_is_served_as_mp3_and_wav(client: httpx.Client) -> None:
    song = finished_producer(client)
    mp3, wav = client.get(song["audio_url"]), client.get(song["wav_url"])
    assert (mp3.headers["content-type"], wav.headers["content-type"]) == ("audio/mpeg", "audio/wav")
    assert abs(audio_seconds(mp3.content) - song["duration"]) < 0.1
    assert abs(audio_seconds(wav.content) - song["duration"]) < 0.01


def test_upload_yields_a_clip_whose_audio_downloads(client: httpx.Client) -> None:
    start = credits(client)
    done = task(client, "upload", {"audio_url": "https://example.com/mine.mp3"})
    assert done["status"] == "SUCCESS" and done["task_type"] == "upload" and start - credits(client) == 2
    clip = done["data"][0]
    assert 6 <= audio_seconds(client.get(clip["audio_url"]).content) <= 60.2
    with file_server("audio/wav") as url:
        assert client.post("/api/v1/producer/upload", json={"audio_url": url}).status_code == 200
    refused = client.post("/api/v1/producer/upload", json={"audio_url": "http://192.168.1.20/a.mp3"})
    assert refused.status_code == 400 and refused.json()["message"].startswith("Audio URL is not accessible")


def test_download_prepares_the_song_in_the_asked_format(client: httpx.Client) -> None:
    song = finished_producer(client)
    for fmt, field, kind in (("wav", "wav_url", "audio/wav"), ("mp3", "audio_url", "audio/mpeg")):
        done = task(client, "download", {"clip_id": song["clip_id"], "format": fmt})
        assert done["task_type"] == "download"
        url = done["data"][0][field]
        assert client.get(url).headers["content-type"] == kind
    sonic_clip = finished_sonic(client)[0]["clip_id"]
    foreign = client.post("/api/v1/producer/download", json={"clip_id": sonic_clip, "format": "wav"})
    assert foreign.status_code == 400 and foreign.json()["message"] == "clip_id not found."


def test_lyrics_create_writes_lyrics(client: httpx.Client) -> None:
    start = credits(client)
    done = task(client, "lyrics-create", {"prompt": "the sea at night"})
    (lyrics,) = done["data"]
    assert done["task_type"] == "make_lyrics" and "[Chorus]" in lyrics["lyrics"] and start - credits(client) == 1
    assert client.post("/api/v1/producer/lyrics-create", json={"prompt": ""}).status_code == 400


def test_video_clip_is_a_real_mp4_of_the_song(client: httpx.Client) -> None:
    song = finished_producer(client)
    start = credits(client)
    done = task(client, "video-clip", {"clip_id": song["clip_id"]})
    video = client.get(done["data"][0]["video_url"])
    assert video.headers["content-type"] == "video/mp4" and start - credits(client) == 5
    with av.open(io.BytesIO(video.content), mode="r") as container:
        kinds = sorted(stream.type for stream in container.streams)
        assert kinds == ["audio", "video"] and abs((container.duration or 0) / 1e6 - song["duration"]) < 1.5


def test_a_failed_video_is_refunded_once(client: httpx.Client) -> None:
    song = finished_producer(client)
    start = credits(client)
    made = client.post(
        "/api/v1/producer/video-clip",
        json={"clip_id": song["clip_id"]},
        headers={"X-Mock-Scenario": "producer.generation_failed@40"},
    )
    done = poll_until_done(client, f"/api/v1/producer/task/{made.json()['task_id']}", step=5)
    assert done["status"] == "FAILED" and "refunded" in str(done["message"]) and credits(client) == start


def test_the_older_not_ready_body_is_an_option() -> None:
    with MockServer(Config(clock="manual", producer_not_ready_status=202)) as mock:
        with httpx.Client(base_url=mock.url, headers={"Authorization": "Bearer k"}) as client:
            made = client.post("/api/v1/producer/create", json={"task_type": "create_music", "sound": "x"}).json()
            pending = client.get(f"/api/v1/producer/task/{made['task_id']}")
            assert pending.status_code == 202 and pending.json()["type"] == "not_ready"
            assert_matches_spec("producerGetTask", 202, pending.json())
            advance(client, 120)
            assert client.get(f"/api/v1/producer/task/{made['task_id']}").json()["status"] == "SUCCESS"
