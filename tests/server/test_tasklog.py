"""The task log of ``musicapi-mock serve``: one line per state change, as text or JSON (banner included)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.server.test_durable import serving

BODY = {"task_type": "create_music", "sound": "lofi"}


def _lines(log: Path, wanted: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        parsed = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        tasks = [line for line in parsed if line.get("log") == "task"]
        if len(tasks) >= wanted or time.monotonic() > deadline:
            return parsed
        time.sleep(0.05)


def test_json_task_log_follows_the_clock_and_every_line_is_json(tmp_path: Path) -> None:
    with serving(tmp_path, "--clock", "manual", "--log-requests", "json") as server, server.client("sk_log") as http:
        done = http.post("/api/v1/producer/create", json=BODY).json()["task_id"]
        failing = http.post(
            "/api/v1/producer/create", json=BODY, headers={"X-Mock-Scenario": "producer.timeout"}
        ).json()["task_id"]
        created = [line for line in _lines(server.log, 2) if line.get("log") == "task"]
        assert [(line["task_id"], line["state"]) for line in created] == [(done, "created"), (failing, "created")]
        http.post("/_mock/clock/advance", json={"seconds": 600}).raise_for_status()
        http.get(f"/api/v1/producer/task/{failing}")  # the failure observed: refunded now
        lines = _lines(server.log, 7)
    raw = server.log.read_text().splitlines()
    assert all(line.startswith("{") for line in raw if line.strip()), [r for r in raw if not r.startswith("{")][:3]
    assert any(line.get("log") == "server" and "url" in line for line in lines)  # the banner, as JSON
    events = [(line["task_id"], line["state"]) for line in lines if line.get("log") == "task"]
    assert set(events[2:4]) == {(done, "running"), (failing, "running")}
    assert (done, "succeeded") in events and (failing, "failed") in events and (failing, "refunded") in events
    assert events.index((failing, "failed")) < events.index((failing, "refunded"))
    task_lines = {(line["task_id"], line["state"]): line for line in lines if line.get("log") == "task"}
    failed = task_lines[(failing, "failed")]
    assert failed["error"] == "producer.timeout" and failed["api_key"] == "sk_log"
    assert task_lines[(failing, "refunded")]["credits"] > 0
    assert task_lines[(done, "running")]["instant"] <= task_lines[(done, "succeeded")]["instant"]  # virtual instants


def test_text_task_log_without_request_lines(tmp_path: Path) -> None:
    with serving(tmp_path, "--clock", "manual", "--log-tasks", "text") as server, server.client("sk_log") as http:
        task = http.post("/api/v1/producer/create", json=BODY).json()["task_id"]
        http.post("/_mock/clock/advance", json={"seconds": 600}).raise_for_status()
        deadline = time.monotonic() + 10
        while f"task {task} succeeded" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    text = server.log.read_text()
    for state in ("created", "running", "succeeded"):
        assert f"task {task} {state} producerCreate key=sk_log" in text, text
    assert "POST /api/v1/producer/create" not in text  # --log-requests off (serving's default)
