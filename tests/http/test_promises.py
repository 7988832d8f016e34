"""What the documents promise and the fidelity audit found missing (D1–D20): each one held over HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from mockserver.catalog import CATALOG
from mockserver.config import Config
from mockserver.testing import MockServer
from tests.helpers import advance, assert_matches_spec
from tests.http.surface import credits, finished_sonic

ROOT = Path(__file__).resolve().parents[2]


KEY = "sk_promise"


def test_d1_custom_mode_without_a_prompt_is_refused_and_not_charged(client: httpx.Client) -> None:
    start = credits(client)
    refused = client.post("/api/v1/sonic/create", json={"custom_mode": True, "mv": "sonic-v4-5", "tags": "pop"})
    assert refused.status_code == 400 and refused.json()["message"] == CATALOG["sonic.custom_mode_prompt"].message
    instrumental = {"custom_mode": True, "mv": "sonic-v4-5", "tags": "pop", "make_instrumental": True}
    assert client.post("/api/v1/sonic/create", json=instrumental).status_code == 200
    assert start - credits(client) == 14


def test_d4_an_unknown_sonic_task_can_answer_404(client: httpx.Client) -> None:
    assert client.get("/api/v1/sonic/task/nope").status_code == 400
    forced = client.get("/api/v1/sonic/task/nope", headers={"Prefer": "code=404"})
    assert forced.status_code == 404 and forced.json()["message"] == "task not found."
    with MockServer(Config(clock="manual", sonic_task_not_found_status=404)) as mock:
        answer = httpx.get(f"{mock.url}/api/v1/sonic/task/nope", headers=mock.headers)
    assert answer.status_code == 404
    assert_matches_spec("sonicGetTask", 404, answer.json())


def test_d8_the_error_pages_500s_can_be_answered_as_http_500(client: httpx.Client) -> None:
    for error_id in ("nuro.algorithm_error_response", "nuro.semantic_error_response"):
        answer = client.get("/api/v1/nuro/task/x", headers={"X-Mock-Scenario": error_id})
        assert answer.status_code == 500 and answer.json() == {
            "type": "api_error",
            "message": CATALOG[error_id].message,
        }
    start = credits(client)
    created = client.post(
        "/api/v1/nuro/create",
        json={"type": "vocal", "lyrics": "la"},
        headers={"X-Mock-Scenario": "nuro.algorithm_error_response"},
    )
    assert created.status_code == 500 and created.json()["refund_processed"] is True and credits(client) == start


def test_d12_a_forced_410_looks_like_the_real_one(client: httpx.Client) -> None:
    forced = client.post("/api/v1/nuro/create", json={"type": "vocal", "lyrics": "x"}, headers={"Prefer": "code=410"})
    assert forced.status_code == 410 and "POST /api/v1/sonic/create" in forced.json()["message"]
    assert {"deprecation", "sunset", "link"} <= set(forced.headers)
    with MockServer(Config(clock="manual")) as gone:
        real = httpx.get(f"{gone.url}/api/v1/nuro/task/x", headers=gone.headers)
    assert real.json() == forced.json() and real.headers["sunset"] == forced.headers["sunset"]


def test_d13_errors_md_shows_real_messages() -> None:
    text = (ROOT / "ERRORS.md").read_text(encoding="utf-8")
    for error_id in ("nuro.gone", "producer.retired_task_type", "request.validation"):
        spec = CATALOG[error_id]
        row = next(line for line in text.splitlines() if line.startswith(f"| `{error_id}` |"))
        assert (spec.example or spec.message) in row


def test_d15_an_empty_segments_list_means_no_segments(client: httpx.Client) -> None:
    body = {"type": "bgm", "version": "v2.0", "description": "calm", "duration": 60, "segments": []}
    made = client.post("/api/v1/nuro/create", json=body)
    assert made.status_code == 200, made.text
    advance(client, 120)
    assert abs(client.get(f"/api/v1/nuro/task/{made.json()['task_id']}").json()["duration"] - 60) < 2


def test_d17_lyrics_need_a_description(client: httpx.Client) -> None:
    for description in ("", "   "):
        answer = client.post("/api/v1/sonic/lyrics", json={"description": description})
        assert answer.status_code == 400 and answer.json()["message"] == "description is required."


def test_d18_a_poll_without_an_id_is_missing_task_id(client: httpx.Client) -> None:
    for path in ("/api/v1/sonic/task/", "/api/v1/sonic/task", "/api/v1/suno/task/"):
        answer = client.get(path)
        assert answer.status_code == 400 and answer.json()["message"] == "missing task id.", path
    assert client.get("/api/v1/producer/task/").status_code == 404  # Producer documents no such message


def test_d19_concat_keeps_its_sources_model(client: httpx.Client) -> None:
    first = finished_sonic(client, {"custom_mode": True, "mv": "sonic-v3-5", "prompt": "la", "tags": "pop"})[0]
    extend = {
        "task_type": "extend_music",
        "continue_clip_id": first["clip_id"],
        "continue_at": 10,
        "custom_mode": True,
        "mv": "sonic-v3-5",
        "prompt": "more",
    }
    made = client.post("/api/v1/sonic/create", json=extend).json()
    advance(client, 400)
    extension = client.get(f"/api/v1/sonic/task/{made['task_id']}").json()["data"][0]
    concat = client.post(
        "/api/v1/sonic/create", json={"task_type": "concat_music", "continue_clip_id": extension["clip_id"]}
    ).json()
    advance(client, 400)
    joined = client.get(f"/api/v1/sonic/task/{concat['task_id']}").json()["data"]
    assert {clip["mv"] for clip in joined} == {"sonic-v3-5"}


def test_nuro_bgm_descriptions_of_200_characters_are_accepted(client: httpx.Client) -> None:
    assert client.post("/api/v1/nuro/create", json={"type": "bgm", "description": "d" * 200}).status_code == 200
    assert client.post("/api/v1/nuro/create", json={"type": "bgm", "description": "d" * 201}).status_code == 400


def test_d9_gateway_403_examples_carry_no_refund_fields() -> None:
    import yaml

    spec = yaml.safe_load((ROOT / "openapi" / "nuro.yaml").read_text(encoding="utf-8"))
    examples = spec["components"]["responses"]["NuroError403"]["content"]["application/json"]["examples"]
    for example in examples.values():
        message = example["value"]["message"]
        entry = next(e for e in CATALOG if e.status == 403 and e.message == message and e.id.startswith("nuro."))
        assert ("refund_processed" in example["value"]) == (entry.after_debit and entry.refunds), message


def test_d14_readme_says_what_unknown_ids_answer_per_family(client: httpx.Client) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"`404 Task not found` on Nuro and Producer, `400 task not found.` on Sonic", readme)
    assert client.get("/api/v1/nuro/task/x").json()["message"] == "Task not found"
    assert client.get("/api/v1/producer/task/x").status_code == 404
    assert client.get("/api/v1/sonic/task/x").json()["message"] == "task not found."


def test_the_control_plane_has_an_index(client: httpx.Client) -> None:
    index = client.get("/_mock/").json()
    paths = {(e["method"], e["path"]) for e in index["endpoints"]}
    assert {("POST", "/_mock/clock/advance"), ("GET", "/_mock/errors"), ("POST", "/_mock/faults")} <= paths
    assert index["spec"] == "/_mock/openapi.json"


def test_a_fault_rule_that_could_never_fire_is_refused() -> None:
    with MockServer(Config(clock="manual")) as gone:  # Nuro answers 410 before anything else
        rule = {"operation": "nuroCreate", "error": "nuro.queue_full", "times": 1}
        refused = httpx.post(f"{gone.url}/_mock/faults", json=rule)
        assert refused.status_code == 400 and "could never fire" in refused.json()["message"]
        assert httpx.post(f"{gone.url}/_mock/faults", json={**rule, "error": "nuro.gone"}).status_code == 200
        sonic = {"operation": "sonicCreate", "error": "sonic.internal", "times": 1}
        assert httpx.post(f"{gone.url}/_mock/faults", json=sonic).status_code == 200
