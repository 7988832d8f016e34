"""The long fuzz run: schemathesis over every product and control operation, counting cases and server errors.

    .venv/bin/python bench/fuzz.py                  # 250 examples per operation and mode (~30,000 cases)
    .venv/bin/python bench/fuzz.py --examples 40    # a quick look

In process over ASGI (no sockets), against a manual-clock mock with Nuro in legacy mode (so its operations
are reached, not refused with 410) and limits high enough that creates keep being accepted. Each
operation gets positive and negative data (fixed seed). A case fails when the answer is a crash
(``request.internal``), a 5xx the operation does not document (Studio's 503 and Nuro's 500s are), or an
error that is not the API's JSON error format with its ``X-Mock-Error-Id``; the CI test
(``tests/http/test_fuzz_control.py``) additionally runs every schemathesis check on the control plane.
Prints one line per operation and a summary; exits 1 if any case failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import schemathesis  # noqa: E402 - after the path set-up, like the other bench scripts
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.core.result import Ok  # noqa: E402

from mockserver.app import create_app  # noqa: E402
from mockserver.config import Config, NuroMode  # noqa: E402

SPECS = ("/openapi.json", "/_mock/openapi.json")
#: The error id of an answer to an unhandled exception.
CRASH = "request.internal"
#: Answers that carry no body by design (a 416 with its Content-Range, a HEAD).
BODILESS = (416,)


@dataclass
class Tally:
    """What the run saw."""

    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    #: Documented 5xx answers by operation (Studio's 503, a forced 500).
    documented_5xx: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def record(self, label: str, method: str, status: int, headers: Any, body: bytes, documented: set[str]) -> None:
        """Count one answer; note it if it is a crash, an undocumented 5xx or an error out of the API's format."""
        self.cases += 1
        self.statuses[status] += 1
        if status >= 500 and (str(status) not in documented or _header(headers, "x-mock-error-id") == CRASH):
            self.failures.append(f"{label}: {status} {body[:200]!r}")
        elif status >= 500:
            self.documented_5xx[f"{label} {status} {_header(headers, 'x-mock-error-id')}"] += 1
        elif status >= 400 and status not in BODILESS and method != "HEAD":
            if _header(headers, "content-type") != "application/json" or not _header(headers, "x-mock-error-id"):
                self.failures.append(f"{label}: {status} not in the API's error format: {body[:200]!r}")


def _header(headers: Any, name: str) -> str | None:
    """A header's value (schemathesis keeps each as a list)."""
    value: Any = headers.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def fuzz(examples: int, fixed_seed: int) -> Tally:
    """Run every operation of both specs in both generation modes; the tally of answers."""
    app = create_app(
        Config(
            clock="manual",
            nuro=NuroMode.parse("legacy"),
            initial_credits=10**12,
            default_queue_capacity=10**9,
        )
    )
    tally = Tally()
    options = schemathesis.Config.from_dict({"headers": {"Authorization": "Bearer sk_fuzz"}})
    for spec in SPECS:
        schema = schemathesis.openapi.from_asgi(spec, app, config=options)
        for result in schema.get_all_operations():
            if not isinstance(result, Ok):
                raise SystemExit(f"{spec} has an invalid operation: {result.err()}")
            operation = result.ok()
            label = f"{operation.method.upper()} {operation.path}"
            before = tally.cases
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _run(operation, mode, label, examples, fixed_seed, tally)
            print(f"  {tally.cases - before:6,d} cases  {label}", flush=True)
    return tally


def _run(operation: Any, mode: GenerationMode, label: str, examples: int, fixed_seed: int, tally: Tally) -> None:
    documented = set(operation.definition.raw.get("responses", {}))  # Studio's 503, Nuro's documented 500s

    @seed(fixed_seed)
    @settings(max_examples=examples, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: Any) -> None:
        response = case.call()
        tally.record(label, case.method, response.status_code, response.headers, response.content, documented)

    try:
        one()
    except Unsatisfiable:  # no negative data for an operation without inputs
        pass


def main(argv: list[str] | None = None) -> int:
    """Parse the options, fuzz, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=250, help="examples per operation and mode (default 250)")
    parser.add_argument("--seed", type=int, default=13, help="the generation seed (default 13)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tally = fuzz(args.examples, args.seed)
    seconds = time.perf_counter() - started
    by_class = Counter(f"{status // 100}xx" for status in tally.statuses.elements())
    print(
        f"fuzz: {tally.cases:,} cases in {seconds:.0f} s (seed {args.seed}, {args.examples} examples per operation "
        f"and mode): {dict(sorted(by_class.items()))}; {len(tally.failures)} failed"
    )
    for what, count in tally.documented_5xx.most_common():
        print(f"  documented: {count:,} x {what}")
    for failure in tally.failures[:50]:
        print(f"  FAILED {failure}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
