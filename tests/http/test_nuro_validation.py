"""Every Nuro validation rule, broken once, answers 400 in the Nuro error format naming the field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

VOCAL = {"type": "vocal", "lyrics": "Hello world, la la la"}
BGM1 = {"type": "bgm", "description": "Calm piano"}
BGM2 = {"type": "bgm", "version": "v2.0", "description": "Cinematic"}


def seg(*durations: int, name: str = "verse") -> list[dict[str, Any]]:
    return [{"name": name, "duration": d} for d in durations]


CASES: list[tuple[str, Any, str]] = [
    # (id, body, text the message must contain: field first)
    ("not-an-object", [1, 2], "body: must be a JSON object"),
    ("type-missing", {"lyrics": "x"}, "type: is required"),
    ("type-unknown", {"type": "song", "lyrics": "x"}, "type: 'song' is not one of ['vocal', 'bgm']"),
    ("lyrics-missing", {"type": "vocal"}, "lyrics: is required"),
    ("lyrics-empty", {**VOCAL, "lyrics": ""}, "lyrics: must not be empty"),
    ("lyrics-too-long", {**VOCAL, "lyrics": "a" * 2001}, "lyrics: must be at most 2000 characters"),
    ("lyrics-not-string", {**VOCAL, "lyrics": 5}, "lyrics: must be of type string"),
    ("gender-enum", {**VOCAL, "gender": "Robot"}, "gender: 'Robot' is not one of"),
    ("vocal-genre-enum", {**VOCAL, "genre": "Polka"}, "genre: 'Polka' is not one of"),
    ("vocal-genre-array", {**VOCAL, "genre": ["Pop"]}, "genre: must be of type string"),
    ("vocal-mood-enum", {**VOCAL, "mood": "Angry"}, "mood: 'Angry' is not one of"),
    ("timbre-enum", {**VOCAL, "timbre": "Squeaky"}, "timbre: 'Squeaky' is not one of"),
    ("vocal-duration-low", {**VOCAL, "duration": 29}, "duration: must be at least 30"),
    ("vocal-duration-high", {**VOCAL, "duration": 241}, "duration: must be at most 240"),
    ("vocal-duration-float", {**VOCAL, "duration": 120.5}, "duration: must be of type integer"),
    ("description-missing", {"type": "bgm"}, "description: is required"),
    ("description-empty", {**BGM1, "description": ""}, "description: must not be empty"),
    ("description-201", {**BGM1, "description": "d" * 201}, "description: must be at most 200 characters"),
    ("bgm-genre-enum", {**BGM1, "genre": ["polka"]}, "genre[0]: 'polka' is not one of"),
    (
        "bgm-genre-6-items",
        {**BGM1, "genre": ["rock", "pop", "jazz", "folk", "funk", "dark"]},
        "genre: must have at most 5 items",
    ),
    ("bgm-genre-duplicates", {**BGM1, "genre": ["rock", "rock"]}, "genre: must not contain duplicate items"),
    ("bgm-genre-string", {**BGM1, "genre": "rock"}, "genre: must be of type array"),
    (
        "bgm-mood-6-items",
        {**BGM1, "mood": ["calm", "cool", "fun", "soft", "sad", "easy"]},
        "mood: must have at most 5 items",
    ),
    ("bgm-mood-enum", {**BGM1, "mood": ["Happy"]}, "mood[0]: 'Happy' is not one of"),
    ("bgm-instrument-enum", {**BGM1, "instrument": ["kazoo"]}, "instrument[0]: 'kazoo' is not one of"),
    ("bgm-instrument-duplicates", {**BGM1, "instrument": ["piano", "piano"]}, "instrument: must not contain"),
    ("bgm-theme-enum", {**BGM1, "theme": ["business"]}, "theme[0]: 'business' is not one of"),
    (
        "bgm-theme-6-items",
        {**BGM1, "theme": ["love", "hope", "media", "kids", "world", "sales"]},
        "theme: must have at most 5 items",
    ),
    ("v1-duration-zero", {**BGM1, "duration": 0}, "duration: must be at least 1"),
    ("v1-duration-61", {**BGM1, "duration": 61}, "duration: must be at most 60"),
    ("version-unknown", {**BGM1, "version": "v3.0"}, "version: 'v3.0' is not one of ['v1.0', 'v2.0']"),
    ("v1-segments", {**BGM1, "segments": seg(30)}, "segments: segments are a v2.0 feature"),
    ("v2-duration-29", {**BGM2, "duration": 29}, "duration: must be at least 30"),
    ("v2-duration-121", {**BGM2, "duration": 121}, "duration: must be at most 120"),
    ("v2-segments-object", {**BGM2, "segments": {"name": "intro"}}, "segments: must be of type array"),
    ("v2-segment-name", {**BGM2, "segments": seg(30, name="solo")}, "segments[0].name: 'solo' is not one of"),
    ("v2-segment-name-missing", {**BGM2, "segments": [{"duration": 30}]}, "segments[0].name: is required"),
    ("v2-segment-4s", {**BGM2, "segments": seg(40, 4)}, "segments[1].duration: must be at least 5"),
    ("v2-segment-121s", {**BGM2, "segments": seg(121)}, "segments[0].duration: must be at most 120"),
    (
        "v2-lone-segment-29s",
        {**BGM2, "segments": seg(29)},
        "segments[0].duration: a single segment must be at least 30 seconds",
    ),
    ("v2-total-under-30", {**BGM2, "segments": seg(10, 10)}, "segments: segment durations must add up to 30-120"),
    ("v2-total-over-120", {**BGM2, "segments": seg(60, 61)}, "segments: segment durations must add up to 30-120"),
    (
        "v2-duration-not-sum",
        {**BGM2, "duration": 90, "segments": seg(30, 30)},
        "duration: must equal the sum of the segment durations (60)",
    ),
    ("language-vocal", {**VOCAL, "lyrics": "Привет, как дела? Я пою песню"}, "Input language not supported"),
    ("language-bgm", {**BGM1, "description": "조용한 피아노 음악"}, "Input language not supported"),
    ("language-japanese", {**VOCAL, "lyrics": "こんにちは、さようなら"}, "Input language not supported"),
]


@pytest.mark.parametrize(("body", "expected"), [(b, e) for _, b, e in CASES], ids=[c[0] for c in CASES])
def test_rule_broken_gives_400_naming_field(legacy: httpx.Client, body: Any, expected: str) -> None:
    response = legacy.post("/api/v1/nuro/create", json=body)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["type"] == "bad_request"
    assert expected in payload["message"], payload["message"]
    if expected == "Input language not supported":
        # An upstream error: it happens after the debit, which is refunded at once.
        assert payload["refund_processed"] is True and payload["already_refunded"] is False
    else:
        # A gateway error: nothing was debited, so the body says nothing about refunds.
        assert set(payload) == {"type", "message"}


@pytest.mark.parametrize(
    "body",
    [
        {**VOCAL, "lyrics": "我们都很年轻 when I first saw you"},
        {**VOCAL, "lyrics": "Café au lait, naïve résumé, la la la"},
        {**BGM2, "segments": seg(30)},
        {**BGM2, "segments": seg(60, 60)},
        {**BGM2, "duration": 90, "segments": seg(45, 45)},
        {**BGM2, "duration": 60},
        BGM2,
        {**BGM1, "version": "v1.0", "duration": 1},
        {**VOCAL, "lyrics": "a" * 2000, "duration": 240},
    ],
    ids=[
        "zh-en-mix",
        "latin-accents",
        "lone-30",
        "total-120",
        "duration-equals-sum",
        "v2-duration-only",
        "v2-bare",
        "v1-min",
        "vocal-max",
    ],
)
def test_boundary_values_accepted(legacy: httpx.Client, body: Any) -> None:
    response = legacy.post("/api/v1/nuro/create", json=body)
    assert response.status_code == 200, response.text


def test_malformed_json(legacy: httpx.Client) -> None:
    response = legacy.post(
        "/api/v1/nuro/create", content=b'{"type": "vocal",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["type"] == "bad_request"
    assert response.json()["message"].startswith("Malformed JSON body")


def test_empty_body(legacy: httpx.Client) -> None:
    response = legacy.post("/api/v1/nuro/create", content=b"", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"type": "bad_request", "message": "A JSON request body is required"}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type(legacy: httpx.Client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = legacy.post("/api/v1/nuro/create", content=b'{"type": "vocal", "lyrics": "x"}', headers=headers)
    assert response.status_code == 415
    assert response.json()["type"] == "unsupported_media_type"
    assert "application/json" in response.json()["message"]


def test_body_over_the_limit(legacy: httpx.Client) -> None:
    big = b'{"type": "vocal", "lyrics": "' + b"a" * (1 << 20) + b'"}'
    response = legacy.post("/api/v1/nuro/create", content=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["type"] == "payload_too_large"


def test_chunked_body_over_the_limit(legacy: httpx.Client) -> None:
    def chunks() -> Any:
        yield b'{"type": "vocal", "lyrics": "'
        for _ in range(20):
            yield b"a" * 65536
        yield b'"}'

    response = legacy.post("/api/v1/nuro/create", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Authorization header is missing."),
        ("Basic abc", "Invalid authorization format."),
        ("Bearer", "Invalid authorization format."),
        ("Bearer a b", "Invalid authorization format."),
    ],
)
def test_auth_required(legacy: httpx.Client, header: str | None, message: str) -> None:
    headers = {"Authorization": header} if header else {}
    with httpx.Client(base_url=str(legacy.base_url), headers=headers) as client:
        for method, path in (("POST", "/api/v1/nuro/create"), ("GET", "/api/v1/nuro/task/x")):
            response = client.request(method, path, json=VOCAL if method == "POST" else None)
            assert response.status_code == 401
            assert response.json() == {"type": "unauthorized", "message": message}


def test_unknown_route_and_method_in_error_format(legacy: httpx.Client) -> None:
    missing = legacy.get("/api/v1/nuro/nothing")
    assert missing.status_code == 404
    assert missing.json()["type"] == "not_found"
    wrong = legacy.put("/api/v1/nuro/create", json=VOCAL)
    assert wrong.status_code == 405
    assert wrong.json()["type"] == "method_not_allowed"
    assert "POST" in wrong.headers["allow"]
