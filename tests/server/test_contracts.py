"""The contract suite (``contracts/``) has teeth: it passes on the mock, fails on every deliberate fault
(``mockserver.http.sabotage``) and on a wrong key, and a live run keeps to its credit budget, follows a
Sonic and a Producer task to their end on real time, and fails on every fault a live run can see.

Each check runs the suite in a subprocess (its hooks and mocks are its own); the runs are started together
when the module begins and run two or three at a time. A fault proof runs the suite's files cheapest first,
in two stages, stopping at the first failure (``-x``): the suite fails as soon as one stage fails, so
this is the whole suite failing, found early.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.config import Config
from mockserver.spec import ApiSpec
from mockserver.testing import FAULTS, MockServer

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "contracts"
#: The suite's files, cheapest and most discriminating first; the schemathesis layers last.
STAGES = (
    ("test_layer3_families.py", "test_layer3_lifecycle.py", "test_layer4_catalog.py", "test_layer0_free.py"),
    ("test_layer2_links.py", "test_layer1_schema.py"),
)
#: Environment variables of the suite that must not leak in from the caller.
SUITE_ENV = (
    "MUSICAPI_BASE_URL",
    "MUSICAPI_API_KEY",
    "MUSICAPI_MOCK_URL",
    "MUSICAPI_MAX_CREDITS",
    "MUSICAPI_MOCK_FAULTS",
    "MUSICAPI_MOCK_FAULT",
    "MUSICAPI_CONTRACTS_DIR",
)
LIVE_KEY = "sk_contract_live_standin"
LIVE_BUDGET = 60
#: The lifecycle tests a live run must run (not skip): each follows a task to its end on real time.
LIVE_LIFECYCLE = ("test_sonic_create_makes_two_clips_that_finish", "test_producer_task_moves_forward_to_one_song")
#: Faults no live run can see, and why (every other fault must fail a live run too).
LIVE_BLIND = {
    "double_refund": "a refund needs a failed task, which only the control plane or a magic value makes",
    "refund_flags_missing": "refund flags come with a failed task, which only the control plane or a magic value makes",
    "progress_backwards": "only Nuro bodies carry progress, and Nuro answers 410 on live",
}
#: The stand-in's fast clock finishes a task in about 4 s; the fault runs poll often enough to see it running.
LIVE_FAULT_POLL = "0.5"
SONIC_POLL = "/api/v1/sonic/task/{task_id}"


@dataclass
class Run:
    """One finished run of the suite."""

    command: list[str]
    returncode: int
    output: str

    def failed_tests(self) -> list[str]:
        """The tests reported FAILED or ERROR."""
        return re.findall(r"^(?:FAILED|ERROR) (\S+::.+?)(?: - .*)?$", self.output, flags=re.MULTILINE)

    def describe(self) -> str:
        """The tail of the output, for assertion messages."""
        return f"$ {' '.join(self.command[2:])}\nexit {self.returncode}\n" + "\n".join(self.output.splitlines()[-25:])


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SUITE_ENV}


def run(*args: str) -> Run:
    """``python -m <args>`` in the repository, its output captured."""
    command = [sys.executable, "-m", *args]
    done = subprocess.run(command, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600, check=False)
    return Run(command, done.returncode, done.stdout + done.stderr)


def pytest_suite(files: tuple[str, ...], *options: str) -> Run:
    """pytest on some files of the suite."""
    return run("pytest", "-p", "no:cacheprovider", "-q", "--no-header", *(str(SUITE / f) for f in files), *options)


def prove(*options: str) -> Run:
    """The suite, staged and stopping at the first failure; the first failing stage's run (or the last)."""
    result = None
    for stage in STAGES:
        result = pytest_suite(stage, "-x", "--assert=plain", *options)
        if result.returncode != 0:
            return result
    assert result is not None
    return result


def clean_run(junit: Path) -> Run:
    """``musicapi-mock contract`` on the mock, with a JUnit report."""
    return run("mockserver.cli", "contract", "--junit-xml", str(junit), "--", "-p", "no:cacheprovider", "-q")


def live_options(url: str) -> tuple[str, ...]:
    """The options of a live run against ``url`` with the test key and budget."""
    return ("--base-url", url, "--api-key", LIVE_KEY, "--max-credits", str(LIVE_BUDGET))


def live_run(junit: Path) -> tuple[Run, dict[str, int], Path]:
    """The suite against a second mock standing in for live (no control plane used, the documented poll
    intervals), its ledger after, and its JUnit report."""
    with MockServer(Config(clock="fast")) as standin:  # Nuro 410 Gone, as the live service
        result = pytest_suite(
            tuple(f for stage in STAGES for f in stage), *live_options(standin.url), "--junit-xml", str(junit)
        )
        totals: dict[str, int] = httpx.get(f"{standin.url}/_mock/ledger", params={"api_key": LIVE_KEY}).json()["totals"]
    return result, totals, junit


def live_fault_run(fault: str) -> Run:
    """The suite in live mode against a stand-in started with ``fault`` (staged, stopping at a failure)."""
    with MockServer(Config(clock="fast", sabotage=(fault,))) as standin:
        return prove(*live_options(standin.url), "--poll-interval", LIVE_FAULT_POLL)


def cli_fault_run() -> Run:
    """``musicapi-mock serve --fault double_refund`` in its own process, checked with ``--mock-url``."""
    command = [
        sys.executable,
        "-m",
        "mockserver.cli",
        "serve",
        "--port",
        "0",
        "--clock",
        "manual",
        "--nuro",
        "legacy",
        "--fault",
        "double_refund",
        "--log-requests",
        "off",
    ]
    server = subprocess.Popen(
        command, cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        match = re.search(r"listening on (http://\S+)", first)
        assert match, f"no URL in the banner: {first!r}"
        return prove("--mock-url", match.group(1))
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


def sonic_served() -> bool:
    """Whether the product spec has Sonic's task poll (what ``clip_count_one`` breaks)."""
    return SONIC_POLL in ApiSpec.load().product_document["paths"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Any]]]:
    """Every run of this module, started at once (a few at a time) and awaited by the tests."""
    junit = tmp_path_factory.mktemp("contract") / "junit.xml"
    live_junit = tmp_path_factory.mktemp("contract-live") / "junit.xml"
    workers = max(2, min(3, os.cpu_count() or 2))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: dict[str, Future[Any]] = {
            "clean": pool.submit(lambda: (clean_run(junit), junit)),
            "live": pool.submit(live_run, live_junit),
            "wrong-key": pool.submit(
                lambda: pytest_suite(STAGES[0], "-x", "--assert=plain", "--api-key", "sk_mock_expired")
            ),
            "cli-fault": pool.submit(cli_fault_run),
        }
        for name in FAULTS:
            if name != "clip_count_one" or sonic_served():
                futures[name] = pool.submit(prove, "--mock-fault", name)
                if name not in LIVE_BLIND:
                    futures[f"live:{name}"] = pool.submit(live_fault_run, name)
        yield futures
        for future in futures.values():
            future.cancel()


def clean_outcome(runs: dict[str, Future[Any]]) -> tuple[Run, Path]:
    """The clean run and its JUnit report."""
    result, junit = runs["clean"].result()
    assert isinstance(result, Run) and isinstance(junit, Path)
    return result, junit


def test_contract_suite_runs_on_the_mock_with_a_junit_report(runs: dict[str, Future[Any]]) -> None:
    """``musicapi-mock contract`` against the suite's own mocks: a JUnit report and the credit report."""
    result, junit = clean_outcome(runs)
    assert "MusicAPI contract run" in result.output and "balance of key" in result.output, result.describe()
    assert result.returncode == 0, result.describe()
    assert not set(result.failed_tests()), result.describe()
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and int(suite.get("tests", 0)) > 100 and suite.get("errors") == "0"


def test_contract_suite_passes_on_the_mock(runs: dict[str, Future[Any]]) -> None:
    """The whole suite passes on the mock (exit 0, no failure in the JUnit report)."""
    result, junit = clean_outcome(runs)
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0", result.describe()
    assert result.returncode == 0, result.describe()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_contract_suite_fails_on_each_deliberate_fault(runs: dict[str, Future[Any]], fault: str) -> None:
    """Every named fault makes the suite fail (exit 1: tests failed, not a usage or internal error)."""
    if fault not in runs:
        pytest.skip(f"{fault} breaks {SONIC_POLL}, which the product spec does not serve yet")
    result = runs[fault].result()
    assert isinstance(result, Run)
    assert result.returncode == 1 and set(result.failed_tests()), result.describe()


def test_contract_suite_fails_on_a_faulty_mock_started_with_the_cli(runs: dict[str, Future[Any]]) -> None:
    """``serve --fault double_refund`` plus ``--mock-url``: the mock-only layers run there and fail."""
    result = runs["cli-fault"].result()
    assert isinstance(result, Run)
    assert result.returncode == 1 and set(result.failed_tests()), result.describe()


def test_a_wrong_key_does_not_turn_the_run_green(runs: dict[str, Future[Any]]) -> None:
    """An expired key fails the preflight, and with it every test (notes §9.1)."""
    result = runs["wrong-key"].result()
    assert isinstance(result, Run)
    assert result.returncode == 1 and "preflight" in result.output, result.describe()


def live_outcome(runs: dict[str, Future[Any]]) -> tuple[Run, dict[str, int]]:
    """The live stand-in's run and its ledger totals."""
    result, totals, _ = runs["live"].result()
    assert isinstance(result, Run) and isinstance(totals, dict)
    return result, totals


def test_live_run_spends_no_more_than_its_budget(runs: dict[str, Future[Any]]) -> None:
    """Against a second mock standing in for live (no control plane used): the budget holds — its ledger
    says so — and what the budget cannot pay for is skipped, not sent."""
    result, totals = live_outcome(runs)
    assert f"budget: {LIVE_BUDGET} credits" in result.output, result.describe()
    assert re.search(r"skipped for budget: [1-9]", result.output), result.describe()
    assert totals["debited"] - totals["refunded"] <= LIVE_BUDGET, f"the live stand-in's ledger: {totals}"
    assert "UNBUDGETED" not in result.output, result.describe()
    assert not set(result.failed_tests()), result.describe()


def test_live_run_passes(runs: dict[str, Future[Any]]) -> None:
    """The suite passes against the live stand-in (a default mock: Nuro 410 Gone, as the live service)."""
    result, _ = live_outcome(runs)
    assert result.returncode == 0, result.describe()


def test_live_run_follows_tasks_to_their_end_on_real_time(runs: dict[str, Future[Any]]) -> None:
    """On live (no control plane), the Sonic and Producer lifecycle tests run — none skipped for lack of a
    clock — and pass, polling at the documented intervals and saying what they wait for."""
    result, _, junit = runs["live"].result()
    assert isinstance(result, Run) and isinstance(junit, Path)
    cases = {str(case.get("name")): case for case in ET.parse(junit).getroot().iter("testcase")}
    for name in LIVE_LIFECYCLE:
        case = cases.get(name)
        assert case is not None, f"{name} was not collected: {sorted(cases)[:20]}"
        outcome = [child.tag for child in case]
        assert not outcome, f"{name}: {outcome} {[child.get('message') for child in case]}"
    assert "[contract] sonicGetTask" in result.output and "[contract] producerGetTask" in result.output, (
        result.describe()
    )
    assert "polling every 15 s" in result.output and "polling every 5 s" in result.output, result.describe()


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_live_mode_fails_on_each_fault_a_live_run_can_see(runs: dict[str, Future[Any]], fault: str) -> None:
    """Live mode against a faulty stand-in (no control plane): every fault it can see makes the run fail."""
    if fault in LIVE_BLIND:
        pytest.skip(f"{fault} cannot show on a live run: {LIVE_BLIND[fault]}")
    if f"live:{fault}" not in runs:
        pytest.skip(f"{fault} breaks {SONIC_POLL}, which the product spec does not serve yet")
    result = runs[f"live:{fault}"].result()
    assert isinstance(result, Run)
    assert result.returncode == 1 and set(result.failed_tests()), result.describe()
