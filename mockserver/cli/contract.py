"""``musicapi-mock contract``: run the contract suite (``contracts/`` of the source checkout) with pytest.

The suite lives next to the ``mockserver`` package in the repository (it is not installed with the
wheel); ``MUSICAPI_CONTRACTS_DIR`` points elsewhere. Options map onto the suite's pytest options, and
everything after ``--`` goes to pytest unchanged. pytest runs in a fresh interpreter (``python -m pytest``),
so that it imports the package itself (its plugin, assertion rewriting) exactly as ``pytest contracts`` does.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

CONTRACTS_ENV = "MUSICAPI_CONTRACTS_DIR"


def contracts_dir() -> Path:
    """The contract suite: ``$MUSICAPI_CONTRACTS_DIR``, else ``contracts/`` beside the package."""
    override = os.environ.get(CONTRACTS_ENV)
    candidate = Path(override) if override else Path(__file__).resolve().parents[2] / "contracts"
    if not (candidate / "conftest.py").is_file():
        raise FileNotFoundError(
            f"no contract suite at {candidate}: it ships with the source checkout (git clone; pip install -e "
            f"'.[contract]'), or set {CONTRACTS_ENV}"
        )
    return candidate


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``contract`` subcommand."""
    from mockserver.http.sabotage import FAULTS

    contract = sub.add_parser(
        "contract",
        help="run the contract suite against the mock (default) or a live API",
        description="Run contracts/ with pytest. Default: the suite starts its own mocks. --base-url/--api-key: "
        "a live API (no control plane, a hard credit budget: --max-credits, default 0). --mock-url: "
        "a mock you started. Environment: MUSICAPI_BASE_URL, MUSICAPI_API_KEY, MUSICAPI_MOCK_URL, "
        "MUSICAPI_MAX_CREDITS, MUSICAPI_MOCK_FAULTS. Arguments after -- go to pytest.",
    )
    contract.add_argument("--base-url", metavar="URL", help="the live API to check (no control plane)")
    contract.add_argument("--api-key", metavar="KEY", help="the API key for --base-url")
    contract.add_argument("--mock-url", metavar="URL", help="a mock you started (control plane used, never reset)")
    contract.add_argument(
        "--max-credits",
        type=int,
        metavar="N",
        help="hard credit budget, checked before each request (default: 0 live, none on mocks)",
    )
    contract.add_argument("--junit-xml", metavar="PATH", help="write a JUnit XML report")
    contract.add_argument("--seed", type=int, metavar="N", help="schemathesis/hypothesis seed (default 42)")
    contract.add_argument("--max-examples", type=int, metavar="N", help="examples per operation on mocks (25)")
    contract.add_argument(
        "--poll-interval",
        type=float,
        metavar="SECONDS",
        help="seconds between polls of a followed task (default: the spec's x-poll: Sonic 15, Producer 5)",
    )
    contract.add_argument(
        "--record",
        metavar="DIR",
        help="with --base-url: record every exchange as a redacted cassette in DIR (musicapi-mock drift DIR)",
    )
    contract.add_argument(
        "--task-deadline",
        type=float,
        metavar="SECONDS",
        help="how long a followed task may take (default: the spec's x-poll deadline: Sonic 600, Producer 300)",
    )
    contract.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=sorted(FAULTS),
        metavar="NAME",
        help="start the suite's own mocks with a deliberate fault (repeatable): "
        + "; ".join(f"{f.name}: {f.description}" for f in FAULTS.values()),
    )
    contract.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments, after --")


def pytest_argv(args: argparse.Namespace, suite: Path) -> list[str]:
    """The pytest command line for parsed ``contract`` arguments."""
    argv = [str(suite), f"--rootdir={suite.parent}"]
    for option, value in (
        ("--base-url", args.base_url),
        ("--api-key", args.api_key),
        ("--mock-url", args.mock_url),
        ("--max-credits", args.max_credits),
        ("--junit-xml", args.junit_xml),
        ("--contract-seed", args.seed),
        ("--max-examples", args.max_examples),
        ("--poll-interval", args.poll_interval),
        ("--task-deadline", args.task_deadline),
        ("--record", args.record),
    ):
        if value is not None:
            argv += [option, str(value)]
    for fault in args.fault:
        argv += ["--mock-fault", fault]
    extra = list(args.pytest_args)
    return argv + (extra[1:] if extra[:1] == ["--"] else extra)


def run(args: argparse.Namespace) -> int:
    """Run the suite in a fresh interpreter (pytest must import ``mockserver`` itself); pytest's exit code."""
    import importlib.util
    import subprocess

    try:
        suite = contracts_dir()
    except FileNotFoundError as exc:
        print(f"musicapi-mock contract: {exc}", file=sys.stderr)
        return 4
    if importlib.util.find_spec("pytest") is None or importlib.util.find_spec("schemathesis") is None:
        print(
            "musicapi-mock contract: needs the contract extras: pip install 'musicapi-mock[contract]'", file=sys.stderr
        )
        return 4
    return subprocess.call([sys.executable, "-m", "pytest", *pytest_argv(args, suite)])


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mockserver.cli.contract`` (the same as ``musicapi-mock contract``)."""
    parser = argparse.ArgumentParser(prog="musicapi-mock")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    return run(parser.parse_args(["contract", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
