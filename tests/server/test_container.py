"""The container's own commands, run here as the image would run them (no container engine on this machine).

The Dockerfile's environment, CMD and HEALTHCHECK, and the compose example's environment, are read from
the files themselves: a renamed variable or a broken health command fails here. The host is kept on
127.0.0.1 (tests bind nothing else); the public-bind rule of the control plane has its own test.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def dockerfile_env() -> dict[str, str]:
    block = re.search(r"^ENV (.*?)(?=^\S)", DOCKERFILE, re.M | re.S)
    assert block, "no ENV in the Dockerfile"
    return dict(pair.split("=", 1) for pair in block.group(1).replace("\\\n", " ").split())


def instruction(name: str) -> list[str]:
    """The exec-form command of the Dockerfile's ``CMD`` or ``HEALTHCHECK``."""
    if name == "HEALTHCHECK":
        match = re.search(r"^HEALTHCHECK .*?CMD (\[.*?\])\n", DOCKERFILE, re.M | re.S)
    else:
        match = re.search(r"^CMD (\[.*\])\s*$", DOCKERFILE, re.M)
    assert match, f"no {name} in the Dockerfile"
    command: list[str] = json.loads(match.group(1))
    return command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_like_the_image(extra_env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    env = {**os.environ, **dockerfile_env(), **extra_env, "MUSICAPI_MOCK_HOST": "127.0.0.1"}
    env["MUSICAPI_MOCK_PORT"] = str(free_port())
    command = instruction("CMD")
    assert command[0] == "musicapi-mock"
    executable = str(Path(sys.executable).with_name("musicapi-mock"))
    process = subprocess.Popen([executable, *command[1:]], env=env, stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    assert process.stdout is not None
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", process.stdout.readline())
    assert match, "the CMD printed no URL"
    return process, match.group(1), env


def healthy(env: dict[str, str]) -> bool:
    check = instruction("HEALTHCHECK")
    assert check[0] == "python"
    return subprocess.run([sys.executable, *check[1:]], env=env, timeout=10).returncode == 0


def test_the_image_command_serves_and_its_healthcheck_passes(tmp_path: Path) -> None:
    assert re.search(r"^USER (?!root)\S+", DOCKERFILE, re.M), "the image must not run as root"
    assert dockerfile_env()["MUSICAPI_MOCK_HOST"] == "0.0.0.0"  # noqa: S104 - what the image binds
    process, url, env = run_like_the_image({}, tmp_path)
    try:
        deadline = time.monotonic() + 20
        while not healthy(env):
            assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
            time.sleep(0.2)
        assert httpx.get(f"{url}/_mock/health").json()["status"] == "ok"
    finally:
        process.terminate()
        process.communicate(timeout=15)
    assert not healthy(env)  # and it fails once the server is gone


def test_the_compose_example_environment_is_understood(tmp_path: Path) -> None:
    compose = yaml.safe_load((ROOT / "examples" / "compose.yaml").read_text())
    environment = {k: str(v) for k, v in compose["services"]["musicapi-mock"]["environment"].items()}
    environment["MUSICAPI_MOCK_STATE"] = str(tmp_path / "state.sqlite3")  # the volume's path, here
    process, url, env = run_like_the_image(environment, tmp_path)
    try:
        deadline = time.monotonic() + 20
        while not healthy(env):
            assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
            time.sleep(0.2)
        assert httpx.get(f"{url}/_mock/clock").status_code == 401  # the token is required
        token = {"Authorization": f"Bearer {environment['MUSICAPI_MOCK_CONTROL_TOKEN']}"}
        clock = httpx.get(f"{url}/_mock/clock", headers=token).json()
        assert clock["profile"] == environment["MUSICAPI_MOCK_CLOCK"]
        assert httpx.get(f"{url}/_mock/health").json()["nuro"].startswith("legacy")
    finally:
        process.terminate()
        process.communicate(timeout=15)
    assert (tmp_path / "state.sqlite3").exists()
