"""Record, replay, drift — end to end over real HTTP, offline, with a second server standing in for live.

``musicapi-mock record`` runs as a user runs it (its own process, in front of an upstream on 127.0.0.1);
a client drives a realistic session through it (credits, a Sonic song with a webhook secret, a Producer
song, an unknown task, Nuro's 410, a rejected body); then ``musicapi-mock drift`` replays the cassettes
against a mock it starts itself. Upstreams: (1) a plain mock — no drift; (2) a small fake upstream that
deviates on purpose (a renamed field, a changed status, one clip instead of two) — each deviation
reported, exit status 1; (3) the redaction proof — no byte of the key, the client's key or the webhook
secret under the cassette directory. ``serve --replay`` answers the recorded requests as recorded.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mockserver.cassettes.cassette import read
from mockserver.cassettes.proxy import ProxyServer
from mockserver.config import Config
from mockserver.testing import MockServer

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_KEY = "sk_live_recording_key_7f3a9c"
CLIENT_KEY = "sk_client_side_key_51d0e2"
WEBHOOK_SECRET = "whsec_known_secret_b84e1f"
KEY_ENV = "MUSICAPI_RECORD_TEST_KEY"
SONIC = {
    "custom_mode": False,
    "mv": "sonic-v4-5",
    "gpt_description_prompt": "a warm folk song about coming home",
    "webhook_url": "http://127.0.0.1:9/hook",
    "webhook_secret": WEBHOOK_SECRET,
}
#: Headers the fake upstream does not pass on from the mock behind it.
DROPPED = ("content-length", "content-encoding", "transfer-encoding", "date", "server")
PRODUCER = {"task_type": "create_music", "sound": "calm piano", "mv": "FUZZ-2.0"}


@dataclass
class Recording:
    """A finished recording: its directory and what the recorder printed."""

    out: Path
    output: str


def _env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("MUSICAPI_")}, **extra}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``musicapi-mock <args>`` in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "mockserver.cli", *args],
        cwd=REPO,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def poll_until(http: httpx.Client, path: str, done: Any, deadline: float = 30) -> list[dict[str, Any]]:
    """Poll every 0.4 s until ``done(body)``."""
    bodies = []
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        body = http.get(path).json()
        bodies.append(body)
        if done(body):
            return bodies
        time.sleep(0.4)
    raise AssertionError(f"{path} never finished: {bodies[-1]}")


def sonic_done(body: dict[str, Any]) -> bool:
    """Every clip (one or two) succeeded or failed."""
    data = body.get("data")
    clips = data if isinstance(data, list) else []
    return bool(clips) and all(c.get("state") in ("succeeded", "failed") for c in clips)


def drive(base: str) -> None:
    """A client session through the recorder (with the client's own key; the recorder swaps in its own)."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {CLIENT_KEY}"}, timeout=30) as http:
        assert http.get("/api/v1/get-credits").status_code == 200
        sonic = http.post("/api/v1/sonic/create", json=SONIC)
        assert sonic.is_success, sonic.text
        poll_until(http, f"/api/v1/sonic/task/{sonic.json()['task_id']}", sonic_done)
        producer = http.post("/api/v1/producer/create", json=PRODUCER)
        assert producer.is_success, producer.text
        poll_until(http, f"/api/v1/producer/task/{producer.json()['task_id']}", lambda b: b.get("status") == "SUCCESS")
        assert http.get("/api/v1/sonic/task/no-such-task").status_code in (400, 404)
        assert http.post("/api/v1/nuro/create", json={"type": "bgm", "description": "x"}).status_code == 410
        assert http.post("/api/v1/producer/create", json={"task_type": "create_music", "mv": 7}).status_code == 400


def record(upstream: str, out: Path, *extra: str, session: Any = drive) -> Recording:
    """``musicapi-mock record --upstream … --out … --api-key-env …`` around one client session."""
    command = [sys.executable, "-m", "mockserver.cli", "record", "--upstream", upstream, "--out", str(out)]
    command += ["--api-key-env", KEY_ENV, "--port", "0", *extra]
    proxy = subprocess.Popen(
        command,
        cwd=REPO,
        env=_env(**{KEY_ENV: UPSTREAM_KEY}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proxy.stdout is not None
    try:
        banner = proxy.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
        assert match, f"no URL in the recorder's banner: {banner!r}"
        session(match.group(1))
    finally:
        proxy.terminate()
        rest, _ = proxy.communicate(timeout=15)
    return Recording(out, banner + rest)


class Deviating:
    """A small fake upstream that deviates on purpose: it forwards to a clean mock and then renames
    Producer's ``audio_url`` to ``audioUrl``, answers Producer creates 201 and cuts Sonic to one clip."""

    def __init__(self, inner: str) -> None:
        self.inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"] if k.decode() not in ("host", "content-length")}
        query = scope.get("query_string", b"").decode()
        async with httpx.AsyncClient(base_url=self.inner) as http:
            url = scope["path"] + (f"?{query}" if query else "")
            response = await http.request(scope["method"], url, headers=headers, content=body)
        status, payload = response.status_code, response.content
        path = scope["path"]
        if response.headers.get("content-type", "").startswith("application/json"):
            data = orjson.loads(payload)
            if path == "/api/v1/producer/create" and status == 200:
                status = 201
            if path.startswith("/api/v1/sonic/task/") and isinstance(data.get("data"), list):
                data["data"] = data["data"][:1]
            if path.startswith("/api/v1/producer/task/") and isinstance(data.get("data"), list):
                for song in data["data"]:
                    song["audioUrl"] = song.pop("audio_url", None)
            payload = orjson.dumps(data)
        out = [(k.encode(), v.encode()) for k, v in response.headers.multi_items() if k not in DROPPED]
        out.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    """A recording of a plain mock (fast clock) standing in for live."""
    with MockServer(Config(clock="fast")) as upstream:
        yield record(upstream.url, tmp_path_factory.mktemp("clean") / "cassettes")


@pytest.fixture(scope="module")
def deviating(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    """A recording of the deliberately deviating fake upstream."""
    with MockServer(Config(clock="fast")) as inner, ProxyServer(Deviating(inner.url)) as fake:
        yield record(fake.url, tmp_path_factory.mktemp("deviating") / "cassettes")


def drift(directory: Path, tmp: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], Path]:
    """``musicapi-mock drift DIR --json … --junit-xml …``: the process, the JSON report, the JUnit path."""
    report, junit = tmp / "drift.json", tmp / "drift.xml"
    done = cli("drift", str(directory), "--json", str(report), "--junit-xml", str(junit), *extra)
    assert report.exists(), done.stdout + done.stderr
    return done, orjson.loads(report.read_bytes()), junit


def test_a_recording_holds_every_exchange_in_order(clean: Recording) -> None:
    """Each answered request is one cassette, with its operation, status and timing."""
    exchanges = read(clean.out)
    operations = [e.operation for e in exchanges]
    assert operations[:2] == ["getCredits", "sonicCreate"], operations
    assert {"sonicGetTask", "producerCreate", "producerGetTask", "nuroCreate"} <= set(operations)
    assert [e.seq for e in exchanges] == list(range(1, len(exchanges) + 1))
    assert all(b.at >= a.at for a, b in zip(exchanges, exchanges[1:], strict=False))
    create = exchanges[1]
    assert (
        create.status == 200 and isinstance(create.response_body.json, dict) and "task_id" in create.response_body.json
    )
    assert create.request_body.json["webhook_secret"] == "[redacted]"
    assert create.request_headers["authorization"] == "Bearer [redacted]"
    summary = orjson.loads((clean.out / "recording.json").read_bytes())
    assert summary["exchanges"] == len(exchanges) and summary["spent"] == 24, summary
    assert "stopped: " in clean.output and f"{len(exchanges)} exchange(s)" in clean.output, clean.output


def test_no_byte_of_a_secret_reaches_the_disk(clean: Recording) -> None:
    """The upstream key, the client's key and the webhook secret appear nowhere under the directory, in
    any encoding a cassette could hold them (plain, URL-encoded, base64)."""
    files = [p for p in clean.out.rglob("*") if p.is_file()]
    assert len(files) > 10
    for secret in (UPSTREAM_KEY, CLIENT_KEY, WEBHOOK_SECRET):
        forms = {secret, urllib.parse.quote(secret), base64.b64encode(secret.encode()).decode()}
        for path in files:
            content = path.read_bytes()
            for form in forms:
                assert form.encode() not in content, f"{form} found in {path}"


def test_drift_against_a_mock_upstream_reports_none(clean: Recording, tmp_path: Path) -> None:
    """A second mock as upstream: the mock does not drift from itself (exit 0, an empty report)."""
    done, report, junit = drift(clean.out, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["drift"] is False and report["differences"] == [], report
    assert {"sonicCreate", "sonicGetTask", "producerGetTask", "nuroCreate"} <= set(report["operations"])
    assert "no drift" in done.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and int(suite.get("tests", 0)) >= 6


def test_drift_reports_each_deliberate_deviation(deviating: Recording, tmp_path: Path) -> None:
    """A renamed field, a changed status and one clip instead of two: each reported; exit status 1."""
    done, report, junit = drift(deviating.out, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    found = {(d["operation"], d["kind"], d["field"], d["live"], d["mock"]) for d in report["differences"]}
    assert ("producerCreate", "status", "status", "201", "200") in found, found
    assert ("sonicGetTask", "length", "data", "array[1]", "array[2]") in found, found
    assert ("producerGetTask", "missing", "data[0].audioUrl", "string", "absent") in found, found
    assert ("producerGetTask", "extra", "data[0].audio_url", "absent", "string") in found, found
    assert not any(d["operation"] in ("getCredits", "nuroCreate") for d in report["differences"]), found
    assert "producerGetTask" in done.stdout and "array[1]" in done.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    failed = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert failed == {"producerCreate", "sonicGetTask", "producerGetTask"}, failed


def test_drift_refuses_a_directory_without_cassettes(tmp_path: Path) -> None:
    """A clear usage error, not a traceback."""
    done = cli("drift", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "no cassette directory" in done.stderr and "Traceback" not in done.stderr


def test_the_budget_refuses_a_create_over_it_without_forwarding(tmp_path: Path) -> None:
    """--max-credits 20: the Sonic create (14) goes through, the Producer create (10) is refused with 402
    and never reaches the upstream (its ledger has one debit)."""

    def session(base: str) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {CLIENT_KEY}"}) as http:
            assert http.post("/api/v1/sonic/create", json=SONIC).status_code == 200
            refused = http.post("/api/v1/producer/create", json=PRODUCER)
            assert refused.status_code == 402 and refused.json()["type"] == "budget_exceeded", refused.text
            assert http.post("/api/v1/producer/create", json={"mv": 7}).status_code == 400  # invalid: free

    with MockServer(Config(clock="fast")) as upstream:
        recording = record(upstream.url, tmp_path / "cassettes", "--max-credits", "20", session=session)
        debits = [e for e in upstream.ledger(UPSTREAM_KEY)["entries"] if e["reason"] == "debit"]
    assert [e["operation"] for e in debits] == ["sonicCreate"], debits
    assert "1 refused over the budget" in recording.output, recording.output
    assert [e.operation for e in read(recording.out)] == ["sonicCreate", "producerCreate"]


def test_serve_replay_answers_recorded_requests_as_recorded(deviating: Recording) -> None:
    """``--replay DIR``: the recorded Producer create answers its recorded 201 and task id, its polls
    replay in order (ending in the renamed field), and an unrecorded request is the mock's."""
    exchanges = read(deviating.out)
    create = next(e for e in exchanges if e.operation == "producerCreate" and e.status == 201)
    polls = [e for e in exchanges if e.operation == "producerGetTask"]
    with (
        MockServer(Config(clock="fast", replay=str(deviating.out))) as mock,
        httpx.Client(base_url=mock.url, headers={"Authorization": "Bearer sk_anyone"}) as http,
    ):
        made = http.post("/api/v1/producer/create", json=PRODUCER)
        assert made.status_code == 201 and made.json() == create.response_body.json, made.text
        assert made.headers["x-mock-replay"] == create.filename
        bodies = [http.get(polls[0].path).json() for _ in range(len(polls) + 2)]
        assert bodies[: len(polls)] == [p.response_body.json for p in polls]
        assert bodies[-1] == polls[-1].response_body.json and "audioUrl" in bodies[-1]["data"][0]
        mine = http.post("/api/v1/producer/create", json={**PRODUCER, "sound": "not recorded"})
        assert mine.status_code == 200 and "x-mock-replay" not in mine.headers


def test_serve_refuses_a_replay_directory_that_does_not_exist(tmp_path: Path) -> None:
    """A clear usage error from ``serve --replay``."""
    done = cli("serve", "--port", "0", "--replay", str(tmp_path / "missing"))
    assert done.returncode == 2 and "no cassette directory" in done.stderr and "Traceback" not in done.stderr


def test_a_live_contract_run_records_as_it_runs_and_the_mock_does_not_drift_from_it(tmp_path: Path) -> None:
    """``pytest contracts --base-url … --record DIR`` against a stand-in: every exchange of the run is a
    cassette, the key and the preflight's wrong key are nowhere in them, and drift finds none."""
    key, out = "sk_live_contract_recording_9e4d", tmp_path / "run"
    with MockServer(Config(clock="fast")) as standin:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "contracts/test_layer0_free.py"]
            + ["contracts/test_layer3_families.py", "--base-url", standin.url, "--api-key", key]
            + ["--max-credits", "60", "--poll-interval", "0.5", "--record", str(out)],
            cwd=REPO,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"recorded to {out}" in done.stdout
    exchanges = read(out)
    operations = {e.operation for e in exchanges}
    assert {"getCredits", "sonicCreate", "sonicGetTask", "producerCreate", "producerGetTask"} <= operations
    for path in out.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes() and b"sk_mock_invalid_signature" not in path.read_bytes()
    report = cli("drift", str(out))
    assert report.returncode == 0 and "no drift" in report.stdout, report.stdout[-3000:]


def test_drift_against_an_unreachable_mock_is_a_clear_usage_error(clean: Recording) -> None:
    """``--mock-url`` nobody answers: exit 2 with the URL named, no traceback."""
    done = cli("drift", str(clean.out), "--mock-url", "http://127.0.0.1:9")
    assert done.returncode == 2 and "--mock-url http://127.0.0.1:9" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
