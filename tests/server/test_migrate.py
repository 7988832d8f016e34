"""Nuro request bodies mapped to Sonic/Producer with `migrate`, then run to success against the mock."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.migrate import migrate
from mockserver.spec import ApiSpec, resolve_refs
from tests.helpers import ServerFactory, advance


def nuro_examples() -> dict[str, Any]:
    spec = ApiSpec.load()
    body = resolve_refs(spec.operations["nuroCreate"].raw["requestBody"], spec.documents["nuro"])
    return {name: ex["value"] for name, ex in body["content"]["application/json"]["examples"].items()}


@pytest.mark.parametrize("name", sorted(nuro_examples()))
def test_nuro_integration_switched_through_migrate_succeeds(start_server: ServerFactory, name: str) -> None:
    nuro_body = nuro_examples()[name]
    server = start_server(clock="manual")
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer k"}) as client:
        assert client.post("/api/v1/nuro/create", json=nuro_body).status_code == 410  # why we migrate
        migration = migrate(nuro_body)
        created = client.post(migration.path, json=migration.body)
        assert created.status_code == 200, (migration.body, created.text)
        task_id = created.json()["task_id"]
        advance(client, 400)
        family = "sonic" if "sonic" in migration.path else "producer"
        body = client.get(f"/api/v1/{family}/task/{task_id}").json()
        if family == "sonic":
            assert nuro_body["type"] == "vocal"
            assert [c["state"] for c in body["data"]] == ["succeeded", "succeeded"]
            assert body["data"][0]["lyrics"] == nuro_body["lyrics"]
        else:
            assert nuro_body["type"] == "bgm"
            assert body["status"] == "SUCCESS" and nuro_body["description"].rstrip(".") in body["data"][0]["sound"]


def test_what_has_no_equivalent_is_reported() -> None:
    vocal = migrate(
        {
            "type": "vocal",
            "lyrics": "la",
            "gender": "Female",
            "timbre": "Sweet_AUDIO_TIMBRE",
            "genre": "Pop",
            "duration": 120,
        }
    )
    assert vocal.body["vocal_gender"] == "f" and vocal.body["tags"] == "Pop, sweet voice"
    assert vocal.body["duration"] == 120
    bgm = migrate(
        {
            "type": "bgm",
            "version": "v2.0",
            "description": "Calm",
            "duration": 60,
            "segments": [{"name": "intro", "duration": 30}, {"name": "outro", "duration": 30}],
        }
    )
    assert bgm.path == "/api/v1/producer/create" and bgm.body["lyrics"] == "[Intro]\n[Outro]"
    assert any(d.startswith("duration") for d in bgm.dropped) and any(d.startswith("version") for d in bgm.dropped)
    with pytest.raises(ValueError, match="not a Nuro create body"):
        migrate({"type": "song"})


def test_migrate_command(tmp_path: Path) -> None:
    path = tmp_path / "nuro.json"
    path.write_text(json.dumps({"type": "bgm", "description": "Calm piano", "duration": 30}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "migrate", str(path)], capture_output=True, text=True, check=True
    )
    first, rest = result.stdout.split("\n", 1)
    assert first == "POST /api/v1/producer/create"
    assert json.loads(rest)["sound"] == "Calm piano"
    assert "no equivalent: duration" in result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "migrate", "-"], input="[1]", capture_output=True, text=True
    )
    assert bad.returncode == 2 and "musicapi-mock migrate" in bad.stderr
