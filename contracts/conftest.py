"""pytest wiring of the contract suite: options, the session, cost markers and the budget, the preflight
and the credit report. See ``contracts/README.md``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator

import pytest

from contracts.session import ContractSession, ContractSetupError, Options, current, install
from mockserver.testing import FAULTS

COST: pytest.StashKey[int | None] = pytest.StashKey()
#: Test functions whose cost depends on the operation of each parametrized item.
PER_OPERATION = re.compile(r"\[(GET|POST|PUT|PATCH|DELETE) ([^\]]+)\]")


def _env_list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


def _env_float(name: str) -> float | None:
    value = os.environ.get(name, "").strip()
    return float(value) if value else None


def pytest_addoption(parser: pytest.Parser) -> None:
    """The suite's options; each falls back to an environment variable."""
    group = parser.getgroup("musicapi-contract", "MusicAPI contract suite (contracts/)")
    group.addoption(
        "--base-url",
        default=os.environ.get("MUSICAPI_BASE_URL") or None,
        metavar="URL",
        help="run against this live API (no control plane) [env MUSICAPI_BASE_URL]",
    )
    group.addoption(
        "--api-key",
        default=os.environ.get("MUSICAPI_API_KEY") or None,
        metavar="KEY",
        help="API key for --base-url (on mocks: the run's key, default sk_contract_main) [env MUSICAPI_API_KEY]",
    )
    group.addoption(
        "--mock-url",
        default=os.environ.get("MUSICAPI_MOCK_URL") or None,
        metavar="URL",
        help="run against a mock you started (control plane used, never reset) [env MUSICAPI_MOCK_URL]",
    )
    group.addoption(
        "--mock-fault",
        action="append",
        default=_env_list("MUSICAPI_MOCK_FAULTS"),
        metavar="NAME",
        choices=sorted(FAULTS),
        help="start the suite's own mocks with this deliberate fault, repeatable "
        "[env MUSICAPI_MOCK_FAULTS, comma-separated]",
    )
    group.addoption(
        "--max-credits",
        type=int,
        default=_env_int("MUSICAPI_MAX_CREDITS"),
        metavar="N",
        help="hard credit budget, checked before each request (default: 0 live, none on mocks) "
        "[env MUSICAPI_MAX_CREDITS]",
    )
    group.addoption("--contract-seed", type=int, default=42, metavar="N", help="schemathesis/hypothesis seed")
    group.addoption(
        "--max-examples",
        type=int,
        default=None,
        metavar="N",
        help="examples per operation and mode on mocks (default 25)",
    )
    group.addoption(
        "--live-examples",
        type=int,
        default=2,
        metavar="N",
        help="positive examples per billable operation on budgeted runs (default 2)",
    )
    group.addoption(
        "--poll-interval",
        type=float,
        default=_env_float("MUSICAPI_POLL_INTERVAL"),
        metavar="SECONDS",
        help="seconds between polls of a followed task (default: what the spec documents, x-poll: Sonic 15, "
        "Producer 5) [env MUSICAPI_POLL_INTERVAL]",
    )
    group.addoption(
        "--record",
        default=os.environ.get("MUSICAPI_CONTRACT_RECORD") or None,
        metavar="DIR",
        help="live runs: record every exchange as a redacted cassette in DIR, for musicapi-mock drift "
        "[env MUSICAPI_CONTRACT_RECORD]",
    )
    group.addoption(
        "--task-deadline",
        type=float,
        default=_env_float("MUSICAPI_TASK_DEADLINE"),
        metavar="SECONDS",
        help="how long a followed task may take (default: the spec's x-poll deadline: Sonic 600, Producer 300) "
        "[env MUSICAPI_TASK_DEADLINE]",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers and build the session (targets start lazily)."""
    config.addinivalue_line(
        "markers",
        "cost(credits=N, per_operation=False): the most a test may spend, in "
        "credits (None: unbounded, mocks only); enforced when a budget is set",
    )
    config.addinivalue_line("markers", "control_plane(reason): needs the mock's control plane; skipped on live")
    config.addinivalue_line(
        "markers", "lifecycle: follows a task to its end; paid for first when the budget cannot pay for everything"
    )
    options = Options(
        base_url=config.getoption("--base-url"),
        api_key=config.getoption("--api-key"),
        mock_url=config.getoption("--mock-url"),
        mock_faults=tuple(config.getoption("--mock-fault") or ()),
        max_credits=config.getoption("--max-credits"),
        seed=config.getoption("--contract-seed"),
        max_examples=config.getoption("--max-examples"),
        live_examples=config.getoption("--live-examples"),
        poll_interval=config.getoption("--poll-interval"),
        task_deadline=config.getoption("--task-deadline"),
        record=config.getoption("--record"),
    )
    try:
        session = ContractSession(options)
    except ContractSetupError as exc:
        raise pytest.UsageError(str(exc)) from None
    session.progress = _progress_writer(config)
    install(session)


def _progress_writer(config: pytest.Config) -> Callable[[str], None]:
    """Progress lines on the terminal, past pytest's capture (a 10-minute live run is not silent)."""

    def write(line: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        capture = config.pluginmanager.get_plugin("capturemanager")
        if reporter is None:
            return
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            reporter.ensure_newline()
            reporter.write_line(f"[contract] {line}")

    return write


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the mocks the suite started."""
    try:
        current().close()
    except RuntimeError:
        return
    install(None)


def declared_cost(item: pytest.Item, session: ContractSession) -> int | None:
    """The credits an item declared (its ``cost`` marker); per-operation costs come from the price list."""
    marker = item.get_closest_marker("cost")
    if marker is None:
        raise pytest.UsageError(f"{item.nodeid}: every contract test declares @pytest.mark.cost(credits=N)")
    if marker.kwargs.get("per_operation"):
        match = PER_OPERATION.search(item.name)
        if match is None:
            raise pytest.UsageError(f"{item.nodeid}: per_operation cost on a test without an operation")
        priced = session.pricing.find(match.group(1), match.group(2).replace("{", "x").replace("}", "x"))
        price = priced.price if priced is not None else 0
        calls = marker.kwargs.get("calls")
        if price == 0:
            return 0
        return None if calls is None else int(calls) * price
    credits = marker.kwargs.get("credits")
    return None if credits is None else int(credits)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip control-plane tests on live and whatever the budget cannot pay for: the lifecycle tests are
    paid for first, then the rest in collection order."""
    session = current()
    left = session.guard.limit
    ordered = [i for i in items if i.get_closest_marker("lifecycle")] + [
        i for i in items if not i.get_closest_marker("lifecycle")
    ]
    for item in ordered:
        cost = declared_cost(item, session)
        item.stash[COST] = cost
        marker = item.get_closest_marker("control_plane")
        if marker is not None and session.live:
            reason = marker.args[0] if marker.args else "needs the mock's control plane"
            item.add_marker(pytest.mark.skip(reason=f"live run: {reason}"))
            continue
        if left is None:
            continue
        if cost is None or cost > left:
            need = "an unbounded number of" if cost is None else str(cost)
            item.add_marker(
                pytest.mark.skip(
                    reason=f"needs {need} credits; the budget (--max-credits {session.guard.limit}) has {left} left"
                )
            )
            session.skipped_for_budget.append(item.nodeid)
            continue
        left -= cost


@pytest.fixture(scope="session")
def contract() -> ContractSession:
    """The run's session: options, spec, targets, clients under the credit guard."""
    return current()


@pytest.fixture(scope="session", autouse=True)
def _preflight(contract: ContractSession) -> None:
    """Nothing runs unless the key works and a wrong key would not (notes §9.1)."""
    result = contract.preflight()
    if not result.ok:
        pytest.fail(result.message, pytrace=False)


@pytest.fixture(autouse=True)
def _allowance(request: pytest.FixtureRequest, contract: ContractSession) -> Iterator[None]:
    """Account every request of a test against what it declared."""
    contract.guard.begin_test(request.node.nodeid, request.node.stash.get(COST, None))
    yield
    contract.guard.end_test()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Read the balance after the run; a live balance that fell by more than the budget fails the run."""
    try:
        contract = current()
    except RuntimeError:
        return
    pre = contract._preflight
    if pre is None or not pre.ok:
        return
    try:
        contract.credits_after = contract.credits()
    except Exception:  # the summary says "?"; the run's result stands
        return
    budget = contract.guard.limit
    if (
        contract.live
        and budget is not None
        and pre.credits_before is not None
        and pre.credits_before - contract.credits_after > budget
    ):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if contract.guard.surprises:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    """The credit report: budget, spent, balance before and after."""
    try:
        contract = current()
    except RuntimeError:
        return
    terminalreporter.section("MusicAPI contract run")
    for line in contract.report_lines():
        terminalreporter.write_line(line)
