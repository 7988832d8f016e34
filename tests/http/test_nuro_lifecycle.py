"""Nuro tasks move pending -> running -> succeeded on a manual clock, as seen over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mockserver.spec import ApiSpec
from tests.helpers import advance

VOCAL = {
    "type": "vocal",
    "lyrics": "[Verse]\nStars they shine above me\nMoonlight softly glows\n[Chorus]\nStarry night starry night",
    "genre": "Pop",
    "duration": 200,
}
BGM_V1 = {
    "type": "bgm",
    "description": "Upbeat corporate background music",
    "duration": 45,
    "genre": ["corporate", "upbeat"],
    "mood": ["positive"],
}
BGM_V2 = {
    "type": "bgm",
    "version": "v2.0",
    "description": "Cinematic trailer music",
    "segments": [
        {"name": "intro", "duration": 15},
        {"name": "verse", "duration": 30},
        {"name": "chorus", "duration": 45},
        {"name": "outro", "duration": 10},
    ],
}
ORDER = ["pending", "running", "succeeded"]


def walk(client: httpx.Client, task_id: str, step: float = 1.0, limit: int = 200) -> list[dict[str, Any]]:
    """Poll once per ``step`` virtual seconds until the task ends; every body seen."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        response = client.get(f"/api/v1/nuro/task/{task_id}")
        assert response.status_code == 200, response.text
        seen.append(response.json())
        if seen[-1]["status"] in ("succeeded", "failed"):
            return seen
        advance(client, step)
    raise AssertionError(f"task did not finish: {seen[-1]}")


@pytest.mark.parametrize(
    ("body", "requested"), [(VOCAL, 200), (BGM_V1, 45), (BGM_V2, 100)], ids=["vocal", "bgm-v1", "bgm-v2-segments"]
)
def test_lifecycle_each_state_seen_progress_monotonic(
    legacy: httpx.Client, body: dict[str, Any], requested: int
) -> None:
    created = legacy.post("/api/v1/nuro/create", json=body)
    assert created.status_code == 200, created.text
    assert created.json()["message"] == "success"
    seen = walk(legacy, created.json()["task_id"])

    statuses = [b["status"] for b in seen]
    assert [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s] == ORDER
    progress = [b["progress"] for b in seen]
    assert progress == sorted(progress), "progress went backwards"
    assert all(p < 100 for b, p in zip(seen, progress, strict=True) if b["status"] != "succeeded")
    assert progress[-1] == 100
    assert len({p for b, p in zip(seen, progress, strict=True) if b["status"] == "running"}) > 3
    for b in seen[:-1]:
        assert b["audio_url"] == ""
    final = seen[-1]
    assert final["audio_url"].endswith(f"/cdn/audio/{final['task_id']}.wav")
    assert requested - 1.5 < final["duration"] < requested
    assert all(b["duration"] == final["duration"] for b in seen)


def test_realistic_nuro_takes_30_to_60_seconds(legacy: httpx.Client) -> None:
    task_id = legacy.post("/api/v1/nuro/create", json=BGM_V1).json()["task_id"]
    advance(legacy, 29)
    assert legacy.get(f"/api/v1/nuro/task/{task_id}").json()["status"] != "succeeded"
    advance(legacy, 31)
    assert legacy.get(f"/api/v1/nuro/task/{task_id}").json()["status"] == "succeeded"


def test_vocal_result_fields(legacy: httpx.Client) -> None:
    spec = ApiSpec.load()
    task_id = legacy.post("/api/v1/nuro/create", json=VOCAL).json()["task_id"]
    advance(legacy, 120)
    body = legacy.get(f"/api/v1/nuro/task/{task_id}").json()
    assert body["genre"] == "Pop"  # given
    for name in ("mood", "gender", "timbre"):  # predicted from the spec's enums
        assert body[name] in spec.enum("nuro", "NuroVocalRequest", name)
    assert body["lyrics"] == VOCAL["lyrics"]  # as submitted (ERRATA N29), line structure kept
    again = legacy.post("/api/v1/nuro/create", json=VOCAL).json()["task_id"]
    advance(legacy, 120)
    second = legacy.get(f"/api/v1/nuro/task/{again}").json()
    assert {k: second[k] for k in ("mood", "gender", "timbre")} == {k: body[k] for k in ("mood", "gender", "timbre")}


def test_bgm_result_fields(legacy: httpx.Client) -> None:
    task_id = legacy.post("/api/v1/nuro/create", json=BGM_V1).json()["task_id"]
    advance(legacy, 120)
    body = legacy.get(f"/api/v1/nuro/task/{task_id}").json()
    assert body["genre"] == "corporate, upbeat"
    assert body["mood"] == "positive"
    spec = ApiSpec.load()  # predicted values come from the spec's bgm enums
    assert body["instrument"] in spec.enum("nuro", "NuroBgmV1Request", "instrument")
    assert body["theme"] in spec.enum("nuro", "NuroBgmV1Request", "theme")
    assert body["prompt"].startswith("Upbeat corporate background music")
    assert "gender" not in body and "lyrics" not in body


def test_default_durations_come_from_the_spec(legacy: httpx.Client) -> None:
    vocal = legacy.post("/api/v1/nuro/create", json={"type": "vocal", "lyrics": "la la la"}).json()["task_id"]
    bgm = legacy.post("/api/v1/nuro/create", json={"type": "bgm", "description": "calm"}).json()["task_id"]
    advance(legacy, 120)
    assert 118.5 < legacy.get(f"/api/v1/nuro/task/{vocal}").json()["duration"] < 120
    assert 58.5 < legacy.get(f"/api/v1/nuro/task/{bgm}").json()["duration"] < 60


def test_tasks_are_private_to_their_key(legacy: httpx.Client) -> None:
    task_id = legacy.post("/api/v1/nuro/create", json=BGM_V1).json()["task_id"]
    other = legacy.get(f"/api/v1/nuro/task/{task_id}", headers={"Authorization": "Bearer someone-else"})
    assert other.status_code == 404
    assert other.json() == {"type": "not_found", "message": "Task not found"}


def test_unknown_task_is_404(legacy: httpx.Client) -> None:
    response = legacy.get("/api/v1/nuro/task/no-such-task")
    assert response.status_code == 404
    assert response.json() == {"type": "not_found", "message": "Task not found"}


def test_instant_clock_finishes_at_once(start_server: Any) -> None:
    from mockserver.config import NuroMode

    server = start_server(clock="instant", nuro=NuroMode.parse("legacy"))
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k"}) as client:
        task_id = client.post("/api/v1/nuro/create", json=BGM_V1).json()["task_id"]
        assert client.get(f"/api/v1/nuro/task/{task_id}").json()["status"] == "succeeded"


def test_same_seed_same_ids(start_server: Any) -> None:
    from mockserver.config import NuroMode

    ids = []
    for _ in range(2):
        server = start_server(clock="manual", nuro=NuroMode.parse("legacy"), seed=7)
        with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k"}) as client:
            ids.append([client.post("/api/v1/nuro/create", json=BGM_V1).json()["task_id"] for _ in range(3)])
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 3
