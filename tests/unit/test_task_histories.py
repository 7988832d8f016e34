"""The contract suite's task-history rules (``contracts.histories``) and the follower's 429 reading."""

from __future__ import annotations

from typing import Any

import httpx

from contracts.follow import retry_after
from contracts.histories import ProducerHistory, SonicHistory

NOT_READY = {"type": "not_ready", "error": "Task is still processing."}


def clip(clip_id: str, state: str, audio: str = "") -> dict[str, Any]:
    """A Sonic clip with what the history looks at."""
    return {"clip_id": clip_id, "state": state, "audio_url": audio, "duration": "0"}


def sonic(*clips: dict[str, Any]) -> dict[str, Any]:
    """A Sonic task body."""
    return {"code": 200, "message": "success", "data": list(clips)}


def test_a_sonic_task_that_moves_forward_to_two_songs_is_clean() -> None:
    history = SonicHistory()
    reads = [
        NOT_READY,
        sonic(clip("a", "pending"), clip("b", "pending")),
        sonic(clip("a", "running"), clip("b", "streaming", "https://stream/b")),
        sonic(clip("a", "succeeded", "https://cdn/a.mp3"), clip("b", "succeeded", "https://cdn/b.mp3")),
    ]
    assert [history.observe(body) for body in reads] == [[], [], [], []]
    assert history.finished() and history.succeeded()
    assert history.audio_urls() == ["https://cdn/a.mp3", "https://cdn/b.mp3"]


def test_sonic_breaches_are_named() -> None:
    history = SonicHistory()
    assert history.observe(sonic(clip("a", "running"), clip("b", "running"))) == []
    assert history.observe(sonic(clip("a", "pending"))) == [
        "one create call produces 2 clips, this read has 1",
        "the clip ids changed: ['a', 'b'] -> ['a']",
        "clip a went back: running -> pending",
    ]
    fresh = SonicHistory()
    assert fresh.observe(sonic(clip("a", "succeeded"), clip("b", "pending", "https://x"))) == [
        "clip a succeeded without its audio_url ('')",
        "clip b is pending but already has audio_url 'https://x'",
    ]
    assert fresh.observe(NOT_READY) == ["the task was ready and is 'not ready' again"]
    assert fresh.observe({"code": 200, "data": {"clip_id": "a"}}) == [
        "a task body without a clip list: {'code': 200, 'data': {'clip_id': 'a'}}"
    ]


def test_a_terminal_clip_stays_terminal_and_progress_never_goes_back() -> None:
    history = SonicHistory()
    first = {**clip("a", "failed"), "progress": 50}
    assert history.observe(sonic(first, clip("b", "running"))) == []
    again = {**clip("a", "succeeded", "https://cdn/a"), "progress": 40}
    assert history.observe(sonic(again, clip("b", "running"))) == [
        "clip a left its terminal state: failed -> succeeded",
        "clip a: progress went back 50 -> 40",
    ]


def producer(status: str, songs: int = 0, audio: str = "https://cdn/s.m4a") -> dict[str, Any]:
    """A Producer task body."""
    data = [{"clip_id": f"s{i}", "audio_url": audio} for i in range(songs)]
    return {"code": 200, "status": status, "message": "success", "data": data}


def test_a_producer_task_to_one_song_is_clean_and_breaches_are_named() -> None:
    history = ProducerHistory()
    assert [history.observe(b) for b in (producer("PENDING"), producer("RUNNING"), producer("SUCCESS", 1))] == [
        [],
        [],
        [],
    ]
    assert history.succeeded() and history.audio_urls() == ["https://cdn/s.m4a"]
    assert history.observe(producer("RUNNING")) == ["status went back: SUCCESS -> RUNNING"]
    other = ProducerHistory()
    assert other.observe(producer("SUCCESS", 2, audio="")) == [
        "one song per request: SUCCESS with 2 entries in data",
        "song s0 of a SUCCESS task without its audio_url",
        "song s1 of a SUCCESS task without its audio_url",
    ]
    failed = ProducerHistory()
    assert failed.observe(producer("FAILED", 1)) == ["a FAILED task has no song, this one has 1"]
    assert failed.finished() and not failed.succeeded()


def test_retry_after_reads_seconds_and_ignores_dates() -> None:
    def response(value: str | None) -> httpx.Response:
        return httpx.Response(429, headers={} if value is None else {"Retry-After": value})

    assert retry_after(response("7")) == 7.0
    assert retry_after(response("-3")) == 0.0
    assert retry_after(response("Wed, 21 Oct 2026 07:28:00 GMT")) is None
    assert retry_after(response(None)) is None
