"""Generated docs stay fresh; scenario files drive the same rules as the control plane."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mockserver.catalog import CATALOG
from mockserver.config import Config, ConfigError, NuroMode
from mockserver.docs import errors_markdown
from mockserver.testing import MockServer
from tests.server.test_cli import serving

ROOT = Path(__file__).resolve().parents[2]


def test_errors_md_is_fresh() -> None:
    assert (ROOT / "ERRORS.md").read_text(encoding="utf-8") == errors_markdown(), (
        "ERRORS.md is stale: run `musicapi-mock errors > ERRORS.md`"
    )
    for spec in CATALOG:
        assert f"`{spec.id}`" in errors_markdown()


def test_errors_command_prints_the_catalog() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "errors"], capture_output=True, text=True, check=True
    ).stdout
    assert out == errors_markdown()


SCENARIO = """
keys:
  sk_ci_poor: {credits: 10, extra_credits: 5}
  sk_ci_busy: {queue_capacity: 0}
faults:
  - {operation: nuroGetTask, error: nuro.api_error, times: 1}
"""


def test_scenario_file_at_start_and_after_reset(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO, encoding="utf-8")
    with serving("--nuro", "legacy", "--scenario", str(path)) as url:
        poor = {"Authorization": "Bearer sk_ci_poor"}
        for _ in range(2):
            assert httpx.get(f"{url}/api/v1/get-credits", headers=poor).json() == {"credits": 10, "extra_credits": 5}
            assert httpx.get(f"{url}/api/v1/nuro/task/x", headers=poor).status_code == 500  # the fault, once
            assert httpx.get(f"{url}/api/v1/nuro/task/x", headers=poor).status_code == 404
            busy = httpx.post(
                f"{url}/api/v1/nuro/create",
                json={"type": "bgm", "description": "x"},
                headers={"Authorization": "Bearer sk_ci_busy"},
            )
            assert busy.status_code == 403 and busy.json()["message"] == "Queue is full"
            httpx.post(f"{url}/_mock/reset").raise_for_status()  # the scenario applies again


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("keys: {k: {credits: -1}}", "keys.k.credits: must be at least 0"),
        ("faults: [{operation: nuroCreate}]", "faults[0].error: is required"),
        ("faults: [{operation: nuroCreate, error: nuro.nope, times: 1}]", "Unknown error id 'nuro.nope'"),
        ("surprise: 1", "surprise"),
        ("keys: [", "scenario file"),
    ],
)
def test_bad_scenario_files_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="scenario file") as info:
        MockServer(Config(nuro=NuroMode.parse("legacy"), scenarios=(str(path),)))
    assert fragment in str(info.value)
    result = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "serve", "--port", "0", "--scenario", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and fragment in result.stderr
