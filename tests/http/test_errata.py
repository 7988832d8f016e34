"""Every ERRATA row that states what the mock does is checked against the server, by the row's id.

A row states a behaviour when its "Spec/mock does" column names the mock; ``CHECKS`` must hold one check per
such row (``N<n>`` in the Nuro table, ``S<n>`` in the Sonic/Producer/account one), so a new promise in the
ERRATA cannot land untested and a row cannot drift from the server unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mockserver.catalog import CATALOG
from mockserver.config import Config
from mockserver.spec import ApiSpec
from mockserver.testing import MockServer
from tests.helpers import advance, assert_matches_spec
from tests.http.surface import finished_producer, finished_sonic

ERRATA = Path(__file__).resolve().parents[2] / "openapi" / "ERRATA.md"
SPEC = ApiSpec.load()
Check = Callable[[httpx.Client], None]


def behaviour_rows() -> list[str]:
    """Ids of the rows whose "Spec/mock does" column says what the mock does."""
    ids, section = [], ""
    for line in ERRATA.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = "N" if line.startswith("## Nuro") else "S"
        row = re.match(r"\| (\d+) \| .*? \| (.*?) \| .* \|$", line)
        if row and re.search(r"\bmock\b", row.group(2), re.I):
            ids.append(section + row.group(1))
    return ids


def nuro(client: httpx.Client, body: dict[str, object]) -> httpx.Response:
    return client.post("/api/v1/nuro/create", json=body)


def n5(client: httpx.Client) -> None:
    assert nuro(client, {"type": "vocal", "lyrics": ""}).json()["type"] == "bad_request"
    assert nuro(client, {"type": "vocal", "lyrics": "x" * 2000}).status_code == 200
    assert nuro(client, {"type": "vocal", "lyrics": "x" * 2001}).status_code == 400
    assert nuro(client, {"type": "vocal", "lyrics": "short lyrics, under 300"}).status_code == 200


def n11(client: httpx.Client) -> None:
    v2 = {"type": "bgm", "version": "v2.0", "description": "d"}
    assert nuro(client, {**v2, "segments": [{"name": "intro", "duration": 20}]}).status_code == 400
    assert nuro(client, {**v2, "segments": [{"name": "intro", "duration": 60}] * 3}).status_code == 400
    assert nuro(client, {**v2, "duration": 70, "segments": [{"name": "intro", "duration": 60}]}).status_code == 400
    assert nuro(client, {**v2, "duration": 60, "segments": [{"name": "intro", "duration": 60}]}).status_code == 200


def n19(client: httpx.Client) -> None:
    assert nuro(client, {"type": "bgm", "description": "d", "theme": ["business"]}).status_code == 400
    assert nuro(client, {"type": "bgm", "description": "d", "theme": ["motivational"]}).status_code == 200


def n24(client: httpx.Client) -> None:
    with MockServer(Config(clock="manual")) as gone:
        answer = httpx.post(
            f"{gone.url}/api/v1/nuro/create", json={"type": "vocal", "lyrics": "x"}, headers=gone.headers
        )
    assert answer.status_code == 410 and {"deprecation", "sunset", "link"} <= set(answer.headers)
    assert all(SPEC.operations[op].raw.get("deprecated") for op in ("nuroCreate", "nuroGetTask"))
    assert nuro(client, {"type": "vocal", "lyrics": "x"}).status_code == 200  # legacy mode


def n28(client: httpx.Client) -> None:
    task = nuro(client, {"type": "bgm", "description": "d", "duration": 30}).json()["task_id"]
    pending = client.get(f"/api/v1/nuro/task/{task}").json()["duration"]
    advance(client, 120)
    done = client.get(f"/api/v1/nuro/task/{task}").json()["duration"]
    assert isinstance(done, float) and done == pending and 28 < done < 30


def n29(client: httpx.Client) -> None:
    lyrics = "[Pre-Chorus]\nWhy  not, (Instrumental break)?\n[verse] la"
    task = nuro(client, {"type": "vocal", "lyrics": lyrics}).json()["task_id"]
    advance(client, 120)
    assert client.get(f"/api/v1/nuro/task/{task}").json()["lyrics"] == lyrics


def s1(client: httpx.Client) -> None:
    made = client.post("/api/v1/sonic/create", json={"custom_mode": True, "mv": "sonic-v4-5", "prompt": "la"}).json()
    assert set(made) == {"message", "task_id"}


def s9(client: httpx.Client) -> None:
    base = {"mv": "sonic-v4-5"}
    assert client.post("/api/v1/sonic/create", json={**base, "custom_mode": False}).status_code == 400
    assert client.post("/api/v1/sonic/create", json={**base, "custom_mode": True}).status_code == 400
    instrumental = {**base, "custom_mode": True, "make_instrumental": True}
    assert client.post("/api/v1/sonic/create", json=instrumental).status_code == 200


def s19(client: httpx.Client) -> None:
    task = client.post("/api/v1/sonic/create", json={"custom_mode": True, "mv": "sonic-v4-5", "prompt": "la"}).json()
    first = client.get(f"/api/v1/sonic/task/{task['task_id']}")
    assert (
        first.status_code == 200
        and first.json()["error"] == "Task is still processing. Please wait a few seconds and try again."
    )
    with MockServer(Config(clock="manual", sonic_not_ready_status=202)) as other:
        made = httpx.post(
            f"{other.url}/api/v1/sonic/create",
            json={"custom_mode": False, "mv": "sonic-v4-5", "gpt_description_prompt": "x"},
            headers=other.headers,
        )
        polled = httpx.get(f"{other.url}/api/v1/sonic/task/{made.json()['task_id']}", headers=other.headers)
    assert polled.status_code == 202 and polled.json()["type"] == "not_ready"


def s20(client: httpx.Client) -> None:
    assert client.get("/api/v1/sonic/task/nope").status_code == 400
    with MockServer(Config(clock="manual", sonic_task_not_found_status=404)) as other:
        assert httpx.get(f"{other.url}/api/v1/sonic/task/nope", headers=other.headers).status_code == 404
    assert client.get("/api/v1/producer/task/nope").status_code == 404


def s21(client: httpx.Client) -> None:
    body = client.get("/api/v1/sonic/task/nope").json()
    assert body == {
        "code": 400,
        "message": "task not found.",
        "error": "task not found.",
        "detail": "task not found.",
        "type": "bad_request",
    }
    with MockServer(Config(clock="manual", error_fields=("code", "message"))) as trimmed:
        assert httpx.get(f"{trimmed.url}/api/v1/sonic/task/x", headers=trimmed.headers).json() == {
            "code": 400,
            "message": "task not found.",
        }


def s22(client: httpx.Client) -> None:
    for op in SPEC.operations.values():
        if op.family not in ("sonic", "producer"):
            continue
        declared = set(op.raw["responses"])
        assert {"400", "401", "403", "429", "500", "504"} <= declared, op.operation_id
        if op.method == "POST":
            assert {"413", "415"} <= declared, op.operation_id


def s25(client: httpx.Client) -> None:
    clip = finished_sonic(client)[0]["clip_id"]
    made = client.post("/api/v1/sonic/persona", json={"name": "p", "clip_id": clip})
    assert made.status_code == 200 and made.json()["persona_id"].startswith("persona-")
    assert_matches_spec("sonicPersona", 200, made.json())


def s27(client: httpx.Client) -> None:
    assert len(finished_sonic(client)) == 2


def s28(client: httpx.Client) -> None:
    retired = SPEC.schema("producer", "ProducerCreateRequest")["properties"]["task_type"]["x-retired-values"]
    for task_type in retired:
        answer = client.post("/api/v1/producer/create", json={"task_type": task_type, "sound": "x"})
        assert answer.status_code == 410 and task_type in answer.json()["message"]


def s30(client: httpx.Client) -> None:
    made = client.post("/api/v1/producer/create", json={"task_type": "create_music", "sound": "x"}).json()
    assert client.get(f"/api/v1/producer/task/{made['task_id']}").json()["status"] in ("PENDING", "RUNNING")
    with MockServer(Config(clock="manual", producer_not_ready_status=202)) as other:
        made = httpx.post(
            f"{other.url}/api/v1/producer/create",
            json={"task_type": "create_music", "sound": "x"},
            headers=other.headers,
        ).json()
        assert (
            httpx.get(f"{other.url}/api/v1/producer/task/{made['task_id']}", headers=other.headers).status_code == 202
        )


def s31(client: httpx.Client) -> None:
    made = client.post("/api/v1/producer/create", json={"task_type": "create_music", "sound": "x", "mv": "Lyria 3 Pro"})
    advance(client, 120)
    assert client.get(f"/api/v1/producer/task/{made.json()['task_id']}").json()["data"][0]["mv"] == "Lyria 3 Pro"


def s32(client: httpx.Client) -> None:
    answer = client.post("/api/v1/producer/create", json={"task_type": "create_music"})
    assert answer.status_code == 400 and answer.json()["message"] == CATALOG["producer.sound_or_lyrics"].message


def s36(client: httpx.Client) -> None:
    for error_id, text_of in (
        ("producer.internal", "sonic.internal"),
        ("producer.insufficient_credits", "sonic.insufficient_credits"),
    ):
        assert CATALOG[error_id].message == CATALOG[text_of].message


def s39(client: httpx.Client) -> None:
    song = finished_producer(client)
    assert client.get(song["audio_url"]).headers["content-type"] == "audio/mpeg"
    assert client.get(song["wav_url"]).content[:4] == b"RIFF"
    assert client.get(song["image_url"]).content.startswith(b"\x89PNG")


def s46(client: httpx.Client) -> None:
    made = client.post(
        "/api/v1/producer/create",
        json={"task_type": "create_music", "sound": "x", "webhook_url": "http://203.0.113.1/hook"},
    )
    assert made.status_code == 200
    advance(client, 120)
    assert {d["state"] for d in client.get("/_mock/webhooks").json()["deliveries"]} == {"blocked"}


CHECKS: dict[str, Check] = {
    "N5": n5,
    "N11": n11,
    "N19": n19,
    "N24": n24,
    "N28": n28,
    "N29": n29,
    "S1": s1,
    "S9": s9,
    "S19": s19,
    "S20": s20,
    "S21": s21,
    "S22": s22,
    "S25": s25,
    "S27": s27,
    "S28": s28,
    "S30": s30,
    "S31": s31,
    "S32": s32,
    "S36": s36,
    "S39": s39,
    "S46": s46,
}


def test_every_behaviour_row_has_a_check() -> None:
    rows = behaviour_rows()
    assert rows and sorted(set(rows) - set(CHECKS)) == [], "ERRATA rows without a check"
    assert sorted(set(CHECKS) - set(rows)) == [], "checks of rows that no longer state a behaviour"


KEY = "sk_errata"


@pytest.mark.parametrize("row", sorted(CHECKS))
def test_errata_row_holds(client: httpx.Client, row: str) -> None:
    CHECKS[row](client)
