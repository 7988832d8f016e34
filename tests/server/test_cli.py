"""The ``musicapi-mock`` command: a real process, a real port."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.helpers import cli_state_args

CLI = [sys.executable, "-m", "mockserver.cli"]


@contextmanager
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    with tempfile.TemporaryDirectory() as directory:  # the state file, when the run exercises SQLite
        process = subprocess.Popen(
            [*CLI, "serve", "--port", "0", *cli_state_args(Path(directory)), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        with _stopped_after(process):
            yield _url(process)


@contextmanager
def _stopped_after(process: subprocess.Popen[str]) -> Iterator[None]:
    try:
        yield
    finally:
        process.terminate()
        process.communicate(timeout=10)


def _url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
    assert match, f"no URL in {line!r}; stderr: {process.stderr.read() if process.stderr else ''}"
    return match.group(1)


def test_serve_with_flags() -> None:
    with serving("--clock", "instant", "--nuro", "legacy", "--seed", "3") as url:
        headers = {"Authorization": "Bearer k"}
        created = httpx.post(f"{url}/api/v1/nuro/create", json={"type": "bgm", "description": "x"}, headers=headers)
        assert created.status_code == 200
        task = httpx.get(f"{url}/api/v1/nuro/task/{created.json()['task_id']}", headers=headers).json()
        assert task["status"] == "succeeded"
        assert httpx.get(f"{url}/_mock/clock").json()["profile"] == "instant"


def test_environment_fallbacks() -> None:
    env = {"MUSICAPI_MOCK_CLOCK": "manual", "MUSICAPI_MOCK_NURO": "legacy"}
    with serving(env=env) as url:
        assert httpx.get(f"{url}/_mock/clock").json()["mode"] == "manual"
        response = httpx.post(
            f"{url}/api/v1/nuro/create", json={"type": "bgm", "description": "x"}, headers={"Authorization": "Bearer k"}
        )
        assert response.status_code == 200


def test_default_is_gone() -> None:
    with serving() as url:
        assert httpx.get(f"{url}/api/v1/nuro/task/x").status_code == 410


def test_help_names_every_option_and_env_var() -> None:
    out = subprocess.run([*CLI, "serve", "--help"], capture_output=True, text=True, check=True).stdout
    for option in ("--host", "--port", "--clock", "--nuro", "--seed"):
        assert option in out
        assert f"MUSICAPI_MOCK_{option[2:].upper()}" in out


def test_bad_option_values_are_refused() -> None:
    bad_nuro = subprocess.run([*CLI, "serve", "--nuro", "sometime"], capture_output=True, text=True)
    assert bad_nuro.returncode == 2
    assert "--nuro takes gone, legacy or an ISO-8601 instant" in bad_nuro.stderr
    bad_clock = subprocess.run([*CLI, "serve", "--clock", "slow"], capture_output=True, text=True)
    assert bad_clock.returncode == 2 and "invalid choice" in bad_clock.stderr


def test_unconfirmed_shapes_are_configurable() -> None:
    with serving("--clock", "manual", "--error-fields", "code,message", "--sonic-not-ready-status", "202") as url:
        headers = {"Authorization": "Bearer k"}
        error = httpx.post(
            f"{url}/api/v1/sonic/create", json={"custom_mode": "no", "mv": "sonic-v4-5"}, headers=headers
        )
        assert error.json() == {"code": 400, "message": "The 'custom_mode' field should be boolean."}
        task_id = httpx.post(
            f"{url}/api/v1/sonic/create",
            json={"custom_mode": True, "mv": "sonic-v4-5", "prompt": "la"},
            headers=headers,
        ).json()["task_id"]
        assert httpx.get(f"{url}/api/v1/sonic/task/{task_id}", headers=headers).status_code == 202
    bad = subprocess.run([*CLI, "serve", "--error-fields", "code"], capture_output=True, text=True)
    assert bad.returncode == 2 and "including message" in bad.stderr


BANNER_LINES = 8


def spawn(*args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """A ``serve --port 0`` process, its URL and the banner lines after the URL (stdout left open)."""
    process = subprocess.Popen(
        [*CLI, "serve", "--port", "0", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", process.stdout.readline())
    assert match, "no URL in the first line"
    return process, match.group(1), [process.stdout.readline() for _ in range(BANNER_LINES)]


def test_banner_request_log_and_graceful_stop() -> None:
    import json
    import signal

    process, url, lines = spawn("--log-requests", "json")
    try:
        assert process.stdout is not None
        banner = [json.loads(line)["message"] for line in lines]  # every line JSON, the banner's too
        assert all(json.loads(line)["log"] == "server" for line in lines)
        assert "clock: fast" in banner[0] and "nuro: gone" in banner[0]
        line_of = {text.split(":", 1)[0].strip(): text for text in banner}
        assert f"{url}/_mock/" in line_of["control plane"]
        assert "this machine only" in line_of["control access"]
        words = shlex.split(line_of["force an error"].split("curl ", 1)[1])  # run the banner's example as a shell would
        headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
        forced = httpx.get(words[-1], headers=headers)
        assert forced.status_code == 429  # the banner's own example works
        line = json.loads(process.stdout.readline())
        assert (line["status"], line["error_id"], line["api_key"]) == (429, "sonic.rate_limited", "sk_test")
        assert line["ms"] >= 0 and line["instant"].endswith("Z")
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert {"log": "server", "message": "musicapi-mock stopped"} in [json.loads(line) for line in out.splitlines()]


def test_text_request_log() -> None:
    process, url, _ = spawn("--nuro", "legacy")
    try:
        assert process.stdout is not None
        httpx.get(f"{url}/api/v1/nuro/task/x", headers={"Authorization": "Bearer k"})
        line = process.stdout.readline()
        assert " 404 GET /api/v1/nuro/task/x key=k error=nuro.task_not_found " in line
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MUSICAPI_MOCK_PORT", "abc"),
        ("MUSICAPI_MOCK_SONIC_NOT_READY_STATUS", "201"),
        ("MUSICAPI_MOCK_CLOCK", "fastest"),
        ("MUSICAPI_MOCK_DEFAULT_QPS", "x"),
        ("MUSICAPI_MOCK_FAULT", "no_such_fault"),
        ("MUSICAPI_MOCK_NURO", "someday"),
        ("MUSICAPI_MOCK_PUBLIC_URL", "ftp://mock.test"),
        ("MUSICAPI_MOCK_PUBLIC_URL", "https://mock.test/?x=1"),
        ("MUSICAPI_MOCK_RETAIN_SECONDS", "-5"),
    ],
)
def test_a_bad_variable_is_named_in_one_line_and_held_to_its_flags_choices(variable: str, value: str) -> None:
    done = subprocess.run(
        [*CLI, "serve", "--port", "0"], env={**os.environ, variable: value}, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and f"{variable}={value!r}" in done.stderr.splitlines()[-1], done.stderr
    assert "Traceback" not in done.stderr


def test_version() -> None:
    from mockserver import __version__

    done = subprocess.run([*CLI, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"musicapi-mock {__version__}"


def test_public_url_builds_the_media_links() -> None:
    process, url, _ = spawn("--public-url", "https://mock.example.test/base/", "--clock", "instant")
    try:
        key = {"Authorization": "Bearer sk_pub"}
        body = {"task_type": "create_music", "sound": "lofi"}
        task_id = httpx.post(f"{url}/api/v1/producer/create", json=body, headers=key).json()["task_id"]
        polled = httpx.get(f"{url}/api/v1/producer/task/{task_id}", headers=key).json()
        links = [value for value in polled["data"][0].values() if isinstance(value, str) and "://" in value]
        assert links and all(link.startswith("https://mock.example.test/base/") for link in links), polled
    finally:
        process.terminate()
        process.communicate(timeout=10)
