"""Sonic over real HTTP: every task type, two clips with their own states, uploads, personas, lyrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver.config import Config
from mockserver.testing import MockServer
from tests.helpers import KEY, ServerFactory, advance, assert_matches_spec, audio_seconds

CREATE = {
    "custom_mode": True,
    "mv": "sonic-v4-5",
    "title": "My Song",
    "tags": "pop, rock",
    "prompt": "[Verse]\nYour lyrics here...",
}


@pytest.fixture(scope="module")
def sonic_server() -> Iterator[MockServer]:
    with MockServer(Config(clock="manual")) as server:
        yield server


@pytest.fixture
def client(sonic_server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sonic_server.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        c.post("/_mock/reset").raise_for_status()
        yield c


def create(client: httpx.Client, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = client.post("/api/v1/sonic/create", json=body)
    assert response.status_code == status, response.text
    payload: dict[str, Any] = response.json()
    if status == 200:
        assert_matches_spec("sonicCreate", 200, payload)
    return payload


def poll(client: httpx.Client, task_id: str) -> httpx.Response:
    return client.get(f"/api/v1/sonic/task/{task_id}")


def finished_clips(client: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    task_id = create(client, body)["task_id"]
    advance(client, 400)
    payload = poll(client, task_id).json()
    assert [c["state"] for c in payload["data"]] == ["succeeded", "succeeded"], payload
    clips: list[dict[str, Any]] = payload["data"]
    return clips


def credits(client: httpx.Client) -> int:
    body = client.get("/api/v1/get-credits").json()
    return int(body["credits"]) + int(body["extra_credits"])


def test_lifecycle_not_ready_then_two_clips_each_with_its_state(client: httpx.Client) -> None:
    task_id = create(client, CREATE)["task_id"]
    first = poll(client, task_id)
    assert first.status_code == 200
    assert first.json()["type"] == "not_ready" and first.json()["code"] == 202
    assert_matches_spec("sonicGetTask", 200, first.json())
    states: list[tuple[str, str]] = []
    for _ in range(400):
        response = poll(client, task_id)
        body = response.json()
        if "data" in body:
            assert_matches_spec("sonicGetTask", 200, body)
            assert len(body["data"]) == 2
            pair = (body["data"][0]["state"], body["data"][1]["state"])
            if not states or states[-1] != pair:
                states.append(pair)
            if pair == ("succeeded", "succeeded"):
                break
        advance(client, 1)
    # One clip finishes before the other; nothing ever goes back.
    assert states == [("running", "running"), ("succeeded", "running"), ("succeeded", "succeeded")]
    clips = body["data"]
    for clip in clips:
        assert float(clip["duration"]) > 10 and isinstance(clip["duration"], str)
        assert clip["title"] == "My Song" and clip["tags"] == "pop, rock" and clip["mv"] == "sonic-v4-5"
        audio = httpx.get(clip["audio_url"])  # an MP3, as the live service serves (cdn1.suno.ai/<clip>.mp3)
        assert audio.headers["content-type"] == "audio/mpeg" and clip["audio_url"].endswith(".mp3")
        assert abs(audio_seconds(audio.content) - float(clip["duration"])) < 0.1
        image = httpx.get(clip["image_url"])
        assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")
    assert clips[0]["clip_id"] != clips[1]["clip_id"]


def test_running_clips_have_no_audio_yet(client: httpx.Client) -> None:
    task_id = create(client, CREATE)["task_id"]
    advance(client, 45)
    clip = poll(client, task_id).json()["data"][0]
    assert clip["state"] == "running" and clip["audio_url"] == "" and clip["duration"] == "0"
    assert httpx.get(clip["image_url"]).status_code == 404


def test_not_ready_status_is_configurable(start_server: ServerFactory) -> None:
    server = start_server(clock="manual", sonic_not_ready_status=202)
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k"}) as c:
        task_id = c.post("/api/v1/sonic/create", json=CREATE).json()["task_id"]
        response = c.get(f"/api/v1/sonic/task/{task_id}")
        assert response.status_code == 202 and response.json()["type"] == "not_ready"
        assert_matches_spec("sonicGetTask", 202, response.json())


def test_description_mode_and_defaults(client: httpx.Client) -> None:
    clips = finished_clips(
        client,
        {"custom_mode": False, "mv": "sonic-v5", "gpt_description_prompt": "An upbeat summer song about beach parties"},
    )
    assert clips[0]["gpt_description_prompt"].startswith("An upbeat")
    assert clips[0]["title"]  # a title is made up when none is given


def test_extend_returns_only_the_extension_and_concat_joins_it(client: httpx.Client) -> None:
    source = finished_clips(client, CREATE)[0]
    extension = finished_clips(
        client, {**CREATE, "task_type": "extend_music", "continue_clip_id": source["clip_id"], "continue_at": 60}
    )[0]
    assert float(extension["duration"]) < float(source["duration"]) + 150
    full = finished_clips(client, {"task_type": "concat_music", "continue_clip_id": extension["clip_id"]})[0]
    assert float(full["duration"]) == pytest.approx(60 + float(extension["duration"]), abs=0.01)
    not_extended = create(client, {"task_type": "concat_music", "continue_clip_id": source["clip_id"]}, 400)
    assert not_extended["message"] == "concat_music needs a clip made by extend_music."


def test_cover_persona_and_upload_task_types(client: httpx.Client) -> None:
    source = finished_clips(client, CREATE)[0]
    finished_clips(client, {**CREATE, "task_type": "cover_music", "continue_clip_id": source["clip_id"]})
    persona = client.post(
        "/api/v1/sonic/persona",
        json={"name": "test persona", "description": "Pop, rap", "continue_clip_id": source["clip_id"]},
    )
    assert persona.status_code == 200, persona.text
    assert_matches_spec("sonicPersona", 200, persona.json())
    persona_id = persona.json()["persona_id"]
    finished_clips(client, {**CREATE, "task_type": "persona_music", "persona_id": persona_id})
    upload = client.post("/api/v1/sonic/upload", json={"url": "https://cdn.example.com/song.mp3"})
    assert upload.status_code == 200 and upload.json()["code"] == 200
    assert_matches_spec("sonicUpload", 200, upload.json())
    uploaded = upload.json()["clip_id"]
    finished_clips(
        client, {**CREATE, "task_type": "extend_upload_music", "continue_clip_id": uploaded, "continue_at": 0.1}
    )
    finished_clips(client, {**CREATE, "task_type": "cover_upload_music", "continue_clip_id": uploaded})
    wrong = create(client, {**CREATE, "task_type": "extend_music", "continue_clip_id": uploaded, "continue_at": 1}, 400)
    assert wrong["message"] == "Uploaded clips need task_type extend_upload_music or cover_upload_music."
    wrong = create(client, {**CREATE, "task_type": "cover_upload_music", "continue_clip_id": source["clip_id"]}, 400)
    assert "extend_upload_music" in wrong["message"]


def test_costs_per_task_type(client: httpx.Client) -> None:
    start = credits(client)
    source = finished_clips(client, CREATE)[0]  # v4.5 custom: 14
    assert credits(client) == start - 14
    finished_clips(client, {**CREATE, "mv": "sonic-v3-5"})  # custom mode on an older model: 10
    assert credits(client) == start - 24
    extension = finished_clips(
        client, {**CREATE, "task_type": "extend_music", "continue_clip_id": source["clip_id"], "continue_at": 30}
    )[0]
    assert credits(client) == start - 34
    finished_clips(client, {"task_type": "concat_music", "continue_clip_id": extension["clip_id"]})
    assert credits(client) == start - 36
    client.post("/api/v1/sonic/upload", json={"url": "https://example.org/a.mp3"}).raise_for_status()
    client.post("/api/v1/sonic/persona", json={"name": "p", "continue_clip_id": source["clip_id"]}).raise_for_status()
    client.post("/api/v1/sonic/lyrics", json={"description": "sky"}).raise_for_status()
    assert credits(client) == start - 39  # upload 2, persona 1, lyrics free


def test_source_clip_rules(client: httpx.Client) -> None:
    missing = create(client, {**CREATE, "task_type": "cover_music", "continue_clip_id": "nope"}, 400)
    assert missing == {
        "code": 400,
        "message": "continue_clip_id not found.",
        "error": "continue_clip_id not found.",
        "detail": "continue_clip_id not found.",
        "type": "bad_request",
    }
    task_id = create(client, CREATE)["task_id"]
    advance(client, 45)
    running = poll(client, task_id).json()["data"][0]["clip_id"]
    assert (
        create(client, {**CREATE, "task_type": "cover_music", "continue_clip_id": running}, 400)["message"]
        == "The clip has not finished generating yet."
    )
    advance(client, 400)
    other = client.post(
        "/api/v1/sonic/create",
        json={**CREATE, "task_type": "cover_music", "continue_clip_id": running},
        headers={"Authorization": "Bearer someone-else"},
    )
    assert other.status_code == 400 and other.json()["message"] == "continue_clip_id not found."
    no_persona = create(client, {**CREATE, "task_type": "persona_music", "persona_id": "persona-x"}, 400)
    assert no_persona["message"] == "persona_id not found."


def test_persona_needs_a_clip_of_the_last_24_hours(client: httpx.Client) -> None:
    clip = finished_clips(client, CREATE)[0]
    advance(client, 24 * 3600)
    old = client.post("/api/v1/sonic/persona", json={"name": "p", "continue_clip_id": clip["clip_id"]})
    assert old.status_code == 400 and old.json()["message"] == "The clip must be from the last 24 hours."


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**CREATE, "mv": "sonic-v9"}, "The 'mv' field is invalid. The model should be 'sonic-v3-5' or 'sonic-v4'."),
        ({**CREATE, "mv": "sonic-v4-5-all"}, "The 'mv' field is invalid."),
        ({**CREATE, "custom_mode": "true"}, "The 'custom_mode' field should be boolean."),
        ({**CREATE, "make_instrumental": "false"}, "The 'make_instrumental' field should be boolean."),
        ({**CREATE, "title": "t" * 81}, "The title character length should be less than 80."),
        ({**CREATE, "mv": "sonic-v3-5", "prompt": "p" * 3001}, "The prompt character length should be less than 3000."),
        ({**CREATE, "mv": "sonic-v4", "tags": "t" * 201}, "The tags character length should be less than 200."),
        ({**CREATE, "prompt": "p" * 5001}, "The prompt character length should be less than 5000."),
        ({**CREATE, "style_weight": 1.01}, "style_weight: must be at most 1"),
        ({**CREATE, "weirdness_constraint": -0.01}, "weirdness_constraint: must be at least 0"),
        (
            {**CREATE, "task_type": "persona_music"},
            "The 'persona_id' field is required when task_type = persona_music.",
        ),
        ({**CREATE, "task_type": "remix_music"}, "task_type: 'remix_music' is not one of"),
        ({"custom_mode": False, "mv": "sonic-v4-5"}, "gpt_description_prompt is required when custom_mode is false."),
        ({"custom_mode": True}, "mv: is required"),
        ({**CREATE, "task_type": "extend_music", "continue_clip_id": "x"}, "continue_at: is required"),
    ],
)
def test_documented_validation_messages(client: httpx.Client, body: dict[str, Any], message: str) -> None:
    start = credits(client)
    payload = create(client, body, 400)
    assert payload["code"] == 400 and payload["type"] == "bad_request"
    assert payload["message"].startswith(message), payload["message"]
    assert payload["error"] == payload["detail"] == payload["message"]
    assert_matches_spec("sonicCreate", 400, payload)
    assert credits(client) == start  # rejected input is never charged


def test_model_limits_allow_longer_prompts_on_newer_models(client: httpx.Client) -> None:
    create(client, {**CREATE, "mv": "sonic-v4-5", "prompt": "p" * 5000, "tags": "t" * 1000})


def test_failed_task_clips_carry_error_message_and_are_refunded(client: httpx.Client) -> None:
    start = credits(client)
    response = client.post("/api/v1/sonic/create", json=CREATE, headers={"X-Mock-Scenario": "sonic.timeout@40"})
    task_id = response.json()["task_id"]
    assert credits(client) == start - 14
    advance(client, 400)
    body = poll(client, task_id).json()
    assert_matches_spec("sonicGetTask", 200, body)
    assert [c["state"] for c in body["data"]] == ["failed", "failed"]
    assert body["data"][0]["error_message"].startswith("Task failed due to timeout.")
    assert all(c["audio_url"] == "" for c in body["data"])
    assert credits(client) == start


def test_upload_lyrics_and_unknown_task(client: httpx.Client) -> None:
    private = client.post("/api/v1/sonic/upload", json={"url": "http://192.168.1.5/song.mp3"})
    assert private.status_code == 400
    assert private.json()["message"] == "Audio URL is not accessible. Please provide a public direct audio file URL."
    lyrics = client.post("/api/v1/sonic/lyrics", json={"description": "a song about sky"})
    assert lyrics.status_code == 200 and len(lyrics.json()["results"]) == 2
    assert_matches_spec("sonicLyrics", 200, lyrics.json())
    too_long = client.post("/api/v1/sonic/lyrics", json={"description": "d" * 120})
    assert too_long.json()["message"] == "The description character length should be less than 120."
    missing = client.post("/api/v1/sonic/lyrics", json={})
    assert missing.json()["message"] == "description is required."
    unknown = poll(client, "no-such-task")
    assert unknown.status_code == 400 and unknown.json()["message"] == "task not found."


def test_persona_request_messages(client: httpx.Client) -> None:
    response = client.post("/api/v1/sonic/persona", json={"name": "p"})
    assert response.status_code == 400
    assert response.json()["message"] == "name and continue_clip_id are required fields."
    long_name = client.post("/api/v1/sonic/persona", json={"name": "n" * 80, "continue_clip_id": "x"})
    assert long_name.json()["message"] == "The name character length should be less than 80."


def test_sonic_errors_through_triggers(client: httpx.Client) -> None:
    start = credits(client)
    moderated = client.post(
        "/api/v1/sonic/create", json=CREATE, headers={"X-Mock-Scenario": "sonic.description_moderation"}
    )
    assert moderated.status_code == 403
    assert moderated.json()["message"] == "The song description needs moderation review."
    assert credits(client) == start  # debited, then refunded at once
    client.put(f"/_mock/keys/{KEY}", json={"credits": 5, "extra_credits": 0}).raise_for_status()
    poor = create(client, CREATE, 403)
    assert poor["message"].startswith("The remaining credits are not enough.")
    assert_matches_spec("sonicCreate", 403, poor)
    copyright_hit = client.post(
        "/api/v1/sonic/upload",
        json={"url": "https://example.org/x.mp3"},
        headers={"X-Mock-Scenario": "sonic.audio_copyright"},
    )
    assert copyright_hit.json()["message"] == "This audio matches an existing recording in our catalog."
    client.put(f"/_mock/keys/{KEY}", json={"credits": 500, "qps": 1}).raise_for_status()
    client.get("/api/v1/sonic/task/x")
    limited = client.get("/api/v1/sonic/task/x")
    assert limited.status_code == 429 and limited.json()["type"] == "rate_limited"
