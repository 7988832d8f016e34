"""The README's "First steps" do what the README says, with the README's own request bodies."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.config import Config
from mockserver.testing import MockServer

README = Path(__file__).resolve().parents[2] / "README.md"


def first_steps() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## First steps") : text.index("## Every endpoint")]


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with MockServer(Config()) as mock:  # the server the README starts: its defaults (fast clock, Nuro gone)
        with httpx.Client(base_url=mock.url, headers={"Authorization": "Bearer sk_test"}) as c:
            yield c


def wait(client: httpx.Client, path: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Poll ``path`` in real time (the fast clock: a few seconds) until ``done``; at most 20 s."""
    deadline = time.monotonic() + 20
    while True:
        body: dict[str, Any] = client.get(path).json()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.25)


def test_the_first_steps_run_as_written(client: httpx.Client) -> None:
    section = first_steps()
    sonic_body, producer_body = (json.loads(body) for body in re.findall(r"-d '(\{.*?\})'", section, re.S))
    made = client.post("/api/v1/sonic/create", json=sonic_body)
    assert made.status_code == 200 and set(made.json()) == {"message", "task_id"}
    assert client.get(f"/api/v1/sonic/task/{made.json()['task_id']}").json()["type"] == "not_ready"
    produced = client.post("/api/v1/producer/create", json=producer_body).json()
    assert client.get(f"/api/v1/producer/task/{produced['task_id']}").json()["status"] == "PENDING"
    song = wait(
        client,
        f"/api/v1/sonic/task/{made.json()['task_id']}",
        lambda body: "data" in body and all(clip["state"] == "succeeded" for clip in body["data"]),
    )
    assert song["code"] == 200 and song["message"] == "success" and len(song["data"]) == 2
    beat = wait(client, f"/api/v1/producer/task/{produced['task_id']}", lambda body: body["status"] == "SUCCESS")
    assert beat["status"] == "SUCCESS" and beat["data"][0]["audio_url"].endswith(".mp3") and beat["data"][0]["wav_url"]
    promised = json.loads(re.search(r"get-credits .*?# (\{.*?\})", section).group(1))  # type: ignore[union-attr]
    assert client.get("/api/v1/get-credits").json() == promised
