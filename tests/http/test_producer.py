"""Producer and Studio over real HTTP."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator

import httpx
import pytest

from mockserver.catalog import CATALOG
from tests.helpers import ServerFactory, advance, assert_matches_spec

BODY = {"task_type": "create_music", "sound": "lofi hip hop beat, mellow piano", "title": "Back to You"}


@pytest.fixture
def client(start_server: ServerFactory) -> Iterator[httpx.Client]:
    server = start_server(clock="manual")
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k"}) as c:
        yield c


def test_lifecycle_pending_running_success(client: httpx.Client) -> None:
    created = client.post("/api/v1/producer/create", json=BODY)
    assert created.status_code == 200
    assert_matches_spec("producerCreate", 200, created.json())
    task_id = created.json()["task_id"]
    seen: list[str] = []
    for _ in range(120):
        body = client.get(f"/api/v1/producer/task/{task_id}").json()
        assert_matches_spec("producerGetTask", 200, body)
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] == "SUCCESS":
            break
        advance(client, 1)
    assert seen == ["PENDING", "RUNNING", "SUCCESS"]
    clip = body["data"][0]
    assert len(body["data"]) == 1 and clip["title"] == "Back to You" and clip["mv"] == "FUZZ-2.0"
    with wave.open(io.BytesIO(httpx.get(clip["wav_url"]).content)) as wav:
        assert abs(wav.getnframes() / wav.getframerate() - clip["duration"]) < 0.01
    assert httpx.get(clip["audio_url"]).status_code == 200
    assert client.get("/api/v1/get-credits").json()["credits"] == 990


def test_failed_is_refunded_and_says_so(client: httpx.Client) -> None:
    task_id = client.post("/api/v1/producer/create", json=BODY, headers={"X-Mock-Scenario": "producer.timeout"}).json()[
        "task_id"
    ]
    advance(client, 60)
    body = client.get(f"/api/v1/producer/task/{task_id}").json()
    assert_matches_spec("producerGetTask", 200, body)
    assert body["status"] == "FAILED" and body["type"] == "timeout"
    assert body["message"] == "Task failed due to timeout. Credits were refunded."
    assert client.get("/api/v1/get-credits").json()["credits"] == 1000


@pytest.mark.parametrize(
    "task_type", ["extend_music", "replace_music", "swap_music_vocals", "swap_music_sound", "music_variation"]
)
def test_retired_task_types_are_gone(client: httpx.Client, task_type: str) -> None:
    response = client.post("/api/v1/producer/create", json={**BODY, "task_type": task_type})
    assert response.status_code == 410
    assert response.json()["message"] == f"The task_type '{task_type}' has been retired. Use task_type create_music."
    assert_matches_spec("producerCreate", 410, response.json())
    assert client.get("/api/v1/get-credits").json()["credits"] == 1000


def test_rules_and_not_found(client: httpx.Client) -> None:
    assert client.post("/api/v1/producer/create", json={**BODY, "task_type": "cover_music"}).status_code == 200
    neither = client.post("/api/v1/producer/create", json={"task_type": "create_music"})
    assert neither.status_code == 400 and neither.json()["message"] == "sound or lyrics is required."
    title = client.post("/api/v1/producer/create", json={**BODY, "title": "t" * 81})
    assert title.status_code == 400
    unknown = client.get("/api/v1/producer/task/nope")
    assert unknown.status_code == 404 and unknown.json()["message"] == CATALOG["producer.task_not_found"].message


def test_studio_is_unavailable(client: httpx.Client) -> None:
    for response in (
        client.post("/api/v1/studio/create", json={"prompt": "x"}),
        client.get("/api/v1/studio/task/x"),
        httpx.get(f"{client.base_url}/api/v1/studio/task/x"),
    ):
        assert response.status_code == 503
        assert response.json()["type"] == "service_unavailable"
