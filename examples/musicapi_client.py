"""A small, realistic MusicAPI client for Sonic and Producer — the kind of code you test with the mock.

It creates a song, polls with the documented intervals (Sonic every 15-25 s, Producer every 5-10 s),
downloads the audio, reads credits, and turns every documented error into an exception your code can act
on. Waiting goes through an injectable ``sleep`` so tests can move the mock's virtual clock instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

#: Poll intervals from the docs: Sonic "every 15-25 s", Producer "every 5-10 s".
SONIC_POLL = 15.0
PRODUCER_POLL = 5.0


class MusicApiError(Exception):
    """An error answered by MusicAPI."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.body = body


class AuthError(MusicApiError):
    """The key is missing, malformed, invalid or expired: fix configuration, do not retry."""


class NotEnoughCredits(MusicApiError):
    """Buy credits or wait for the subscription to renew."""


class RateLimited(MusicApiError):
    """Too many requests (QPS) or tasks in progress: retry later."""


class Rejected(MusicApiError):
    """The request itself is wrong (validation, moderation): change it, do not retry."""


class Gone(MusicApiError):
    """The endpoint or task type is retired (410): migrate."""


class Unavailable(MusicApiError):
    """A server-side problem (5xx): retry later."""


class TaskFailed(Exception):
    """The task ended in failure; ``refunded`` says whether its credits came back."""

    def __init__(self, task_id: str, message: str, refunded: bool) -> None:
        super().__init__(f"task {task_id} failed: {message}")
        self.task_id = task_id
        self.message = message
        self.refunded = refunded


class TimedOut(Exception):
    """The task did not finish within the client's patience."""


@dataclass
class Song:
    """A finished song."""

    task_id: str
    clip_id: str
    title: str
    audio_url: str
    duration: float


def _error(response: httpx.Response) -> MusicApiError:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    text = response.text
    if isinstance(body, dict):  # clients read detail, error or message (the shape is undocumented)
        text = str(body.get("detail") or body.get("error") or body.get("message") or text)
    status = response.status_code
    if status == 401:
        return AuthError(status, text, body)
    if status == 403 and "credits" in text.lower():
        return NotEnoughCredits(status, text, body)
    if status == 429 or (status == 403 and ("qps" in text.lower() or "queue" in text.lower())):
        return RateLimited(status, text, body)
    if status == 410:
        return Gone(status, text, body)
    if status >= 500:
        return Unavailable(status, text, body)
    return Rejected(status, text, body)


@dataclass
class MusicApiClient:
    """Sonic and Producer over HTTP. ``sleep`` is how the client waits between polls."""

    base_url: str
    api_key: str
    sleep: Callable[[float], None] = time.sleep
    max_wait: float = 15 * 60
    retries: int = 3
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(
            base_url=self.base_url, timeout=30.0, headers={"Authorization": f"Bearer {self.api_key}"}
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def __enter__(self) -> MusicApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """One call; rate limits and server errors are retried with exponential backoff."""
        delay = 2.0
        for attempt in range(self.retries + 1):
            response = self.http.request(method, path, json=json)
            if response.is_success:
                return response
            error = _error(response)
            if not isinstance(error, RateLimited | Unavailable) or attempt == self.retries:
                raise error
            self.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def credits(self) -> int:
        """Credits left (subscription + extra)."""
        body = self._call("GET", "/api/v1/get-credits").json()
        return int(body["credits"]) + int(body["extra_credits"])

    def song(
        self, lyrics: str, *, title: str, tags: str, model: str = "sonic-v4-5", webhook_url: str | None = None
    ) -> Song:
        """A vocal song from lyrics (Sonic); the first clip once both are done."""
        body: dict[str, Any] = {"custom_mode": True, "mv": model, "prompt": lyrics, "title": title, "tags": tags}
        if webhook_url:
            body["webhook_url"] = webhook_url
        task_id = self.start_song(body)
        return self.wait_sonic(task_id)

    def start_song(self, body: dict[str, Any]) -> str:
        """Create a Sonic task; its id."""
        return str(self._call("POST", "/api/v1/sonic/create", json=body).json()["task_id"])

    def wait_sonic(self, task_id: str) -> Song:
        """Poll a Sonic task until every clip has ended (one may finish before the other)."""
        waited = 0.0
        while waited <= self.max_wait:
            body = self._call("GET", f"/api/v1/sonic/task/{task_id}").json()
            clips = body.get("data") if isinstance(body, dict) else None
            if clips and all(c["state"] in ("succeeded", "failed") for c in clips):
                done = [c for c in clips if c["state"] == "succeeded"]
                if not done:
                    message = clips[0].get("error_message") or "generation failed"
                    raise TaskFailed(task_id, message, refunded="refund" in message.lower())
                first = done[0]
                return Song(task_id, first["clip_id"], first["title"], first["audio_url"], float(first["duration"]))
            self.sleep(SONIC_POLL)
            waited += SONIC_POLL
        raise TimedOut(f"task {task_id} still running after {self.max_wait:.0f} s")

    def instrumental(self, sound: str, *, title: str | None = None) -> Song:
        """An instrumental track (Producer)."""
        body: dict[str, Any] = {"task_type": "create_music", "sound": sound, "make_instrumental": True}
        if title:
            body["title"] = title
        task_id = str(self._call("POST", "/api/v1/producer/create", json=body).json()["task_id"])
        waited = 0.0
        while waited <= self.max_wait:
            polled = self._call("GET", f"/api/v1/producer/task/{task_id}").json()
            if polled["status"] == "SUCCESS":
                clip = polled["data"][0]
                return Song(task_id, clip["clip_id"], clip["title"], clip["wav_url"], float(clip["duration"]))
            if polled["status"] == "FAILED":
                raise TaskFailed(task_id, polled["message"], refunded="refunded" in polled["message"].lower())
            self.sleep(PRODUCER_POLL)
            waited += PRODUCER_POLL
        raise TimedOut(f"task {task_id} still running after {self.max_wait:.0f} s")

    def nuro_song(self, lyrics: str) -> str:
        """The retired Nuro call an old integration still makes (answers 410 Gone today)."""
        response = self._call("POST", "/api/v1/nuro/create", json={"type": "vocal", "lyrics": lyrics})
        return str(response.json()["task_id"])

    def download(self, song: Song) -> bytes:
        """The song's audio file."""
        response = httpx.get(song.audio_url, timeout=60.0)
        response.raise_for_status()
        return response.content
