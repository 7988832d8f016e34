"""The WAV behind audio_url, downloaded over HTTP and read with the stdlib ``wave`` module."""

from __future__ import annotations

import io
import math
import wave
from array import array

import httpx
import pytest

from tests.helpers import advance


@pytest.fixture
def finished(legacy: httpx.Client) -> dict[str, object]:
    task_id = legacy.post("/api/v1/nuro/create", json={"type": "bgm", "description": "calm", "duration": 7}).json()[
        "task_id"
    ]
    advance(legacy, 90)
    task: dict[str, object] = legacy.get(f"/api/v1/nuro/task/{task_id}").json()
    assert task["status"] == "succeeded"
    return task


def test_wav_has_the_task_duration_and_is_not_silent(legacy: httpx.Client, finished: dict[str, object]) -> None:
    response = httpx.get(str(finished["audio_url"]))  # no auth: it is a CDN link
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["accept-ranges"] == "bytes"
    assert int(response.headers["content-length"]) == len(response.content)
    with wave.open(io.BytesIO(response.content)) as wav:
        frames = wav.getnframes()
        rate = wav.getframerate()
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        assert abs(frames / rate - float(str(finished["duration"]))) < 1 / rate
        samples = array("h", wav.readframes(frames))
    rms = math.sqrt(sum(s * s for s in samples[::7]) / len(samples[::7]))
    assert rms > 2000, f"too quiet: rms {rms}"


def test_range_requests(legacy: httpx.Client, finished: dict[str, object]) -> None:
    url = str(finished["audio_url"])
    full = httpx.get(url).content
    size = len(full)
    for header, start, end in (
        ("bytes=0-43", 0, 44),
        ("bytes=1001-2000", 1001, 2001),
        ("bytes=-100", size - 100, size),
        (f"bytes={size - 10}-", size - 10, size),
        (f"bytes=5-{size + 50}", 5, size),
    ):
        part = httpx.get(url, headers={"Range": header})
        assert part.status_code == 206, header
        assert part.content == full[start:end], header
        assert part.headers["content-range"] == f"bytes {start}-{end - 1}/{size}"
        assert int(part.headers["content-length"]) == end - start
    unsatisfiable = httpx.get(url, headers={"Range": f"bytes={size}-"})
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers["content-range"] == f"bytes */{size}"
    head = httpx.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == size and head.content == b""
    assert httpx.get(url).content == full  # deterministic


def test_no_audio_before_success(legacy: httpx.Client) -> None:
    task_id = legacy.post("/api/v1/nuro/create", json={"type": "bgm", "description": "calm"}).json()["task_id"]
    response = legacy.get(f"/cdn/audio/{task_id}.wav")
    assert response.status_code == 404
    assert response.json()["error_id"] == "request.route_not_found"
    assert legacy.get("/cdn/audio/nothing.mp3").status_code == 404
