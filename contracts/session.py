"""The contract run: options, targets (the suite's own mocks, a mock you started, or the live API),
HTTP clients under the credit guard, the preflight and the credit report.

Three target modes, chosen by options (pytest options or environment variables):

* **own mocks** (default): the suite starts real mock servers on 127.0.0.1 (uvicorn in threads, manual
  clock) and stops them at the end — a Nuro ``legacy`` mock (the main target), a default mock where Nuro
  answers 410, and a mock with a Nuro sunset for the retirement transition. ``--mock-fault NAME``
  (``MUSICAPI_MOCK_FAULTS``) starts all of them with deliberate faults (``mockserver.http.sabotage``).
* **a mock you started** (``--mock-url URL`` / ``MUSICAPI_MOCK_URL``): control plane available; the suite
  never resets it and works with its own keys; Nuro's mode is detected.
* **live** (``--base-url URL --api-key KEY`` / ``MUSICAPI_BASE_URL``, ``MUSICAPI_API_KEY``): no control
  plane (those tests are skipped with a reason), a hard credit budget (``--max-credits``, default 0).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import orjson

from contracts.budget import CreditGuard, Pricing, json_body
from contracts.families import RefusalPolicy, product_operations
from mockserver.catalog import CATALOG
from mockserver.config import DEFAULT_COSTS, Config, NuroMode
from mockserver.spec import ApiSpec, SchemaValidator, resolve_refs

Mode = Literal["own", "mock-url", "live"]
#: The key the suite uses on mocks unless told otherwise.
DEFAULT_MOCK_KEY = "sk_contract_main"
#: A key no deployment knows: the mock's magic key for "Invalid signature", an unknown key live.
WRONG_KEY = "sk_mock_invalid_signature_contract_preflight"
#: Balance the suite gives its own keys on mocks (so that generated creates never run out).
MOCK_BALANCE = 10_000_000
NURO_PROBE = "/api/v1/nuro/task/contract-probe-{}"


class ContractSetupError(RuntimeError):
    """The options or the target do not allow a contract run (shown as a usage error)."""


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else None


@dataclass(frozen=True)
class Options:
    """What the run was asked to do (pytest options, falling back to environment variables)."""

    base_url: str | None = None
    api_key: str | None = None
    mock_url: str | None = None
    mock_faults: tuple[str, ...] = ()
    max_credits: int | None = None
    seed: int = 42
    max_examples: int | None = None
    live_examples: int = 2
    #: Seconds between polls of a followed task (default: the low end of the spec's ``x-poll.interval``).
    poll_interval: float | None = None
    #: Seconds a followed task may take (default: the spec's ``x-poll.deadline``).
    task_deadline: float | None = None
    #: Record the live run's exchanges as cassettes in this directory (``musicapi-mock drift`` reads them).
    record: str | None = None

    @property
    def mode(self) -> Mode:
        """``live``, ``mock-url`` or ``own``."""
        if self.base_url:
            return "live"
        return "mock-url" if self.mock_url else "own"

    @property
    def budget(self) -> int | None:
        """The hard credit budget: ``--max-credits``, else 0 on live and none on mocks."""
        if self.max_credits is not None:
            return self.max_credits
        return 0 if self.mode == "live" else None

    @property
    def key(self) -> str:
        """The API key requests are made with."""
        return self.api_key or DEFAULT_MOCK_KEY

    def validate(self) -> None:
        """Raise :class:`ContractSetupError` for a contradictory combination."""
        if self.base_url and self.mock_url:
            raise ContractSetupError("give either --base-url (live, no control plane) or --mock-url, not both")
        if self.base_url and not self.api_key:
            raise ContractSetupError("--base-url needs --api-key (or MUSICAPI_API_KEY)")
        if self.mock_faults and self.mode != "own":
            raise ContractSetupError(
                "--mock-fault applies to the mocks the suite starts itself (not with --base-url or --mock-url)"
            )
        if self.max_credits is not None and self.max_credits < 0:
            raise ContractSetupError("--max-credits must be 0 or more")
        if self.record and self.mode != "live":
            raise ContractSetupError("--record records a live run: give --base-url and --api-key too")
        if self.poll_interval is not None and not 0 < self.poll_interval <= 600:
            raise ContractSetupError("--poll-interval must be more than 0 and at most 600 seconds")
        if self.task_deadline is not None and not 0 < self.task_deadline <= 86400:
            raise ContractSetupError("--task-deadline must be more than 0 and at most 86400 seconds")
        from mockserver.testing import FAULTS

        unknown = sorted(set(self.mock_faults) - set(FAULTS))
        if unknown:
            raise ContractSetupError(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")


@dataclass
class Target:
    """One server the suite talks to."""

    label: str
    url: str
    control: bool
    nuro_gone: bool
    #: A Nuro sunset instant on this target's virtual clock (Nuro is served until then, 410 after).
    sunset_at: float | None = None


@dataclass
class Targets:
    """The servers of a run: the main target, and where Nuro's retirement can be observed."""

    main: Target
    gone: Target | None
    sunset: Target | None
    servers: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the mocks the suite started."""
        for server in self.servers:
            server.stop()
        self.servers.clear()


def _start_own(faults: tuple[str, ...]) -> Targets:
    from mockserver.testing import MockServer

    def start(nuro: NuroMode) -> Any:
        return MockServer(Config(clock="manual", seed=0, nuro=nuro, sabotage=faults)).start()

    sunset_at = time.time() + 30 * 86400
    legacy, gone, sunset = (
        start(NuroMode.parse("legacy")),
        start(NuroMode.parse("gone")),
        start(NuroMode("sunset", sunset_at)),
    )
    suffix = f" faults={','.join(faults)}" if faults else ""
    return Targets(
        main=Target(f"own mock, Nuro legacy{suffix}", legacy.url, control=True, nuro_gone=False),
        gone=Target(f"own mock, Nuro gone{suffix}", gone.url, control=True, nuro_gone=True),
        sunset=Target(f"own mock, Nuro sunset{suffix}", sunset.url, control=True, nuro_gone=False, sunset_at=sunset_at),
        servers=[legacy, gone, sunset],
    )


def _recorder(upstream: str, options: Options) -> Any:
    """A recording proxy in front of the live API (the run's key scrubbed, the run's budget)."""
    from pathlib import Path

    from mockserver.cassettes.proxy import ProxyServer, RecordingProxy

    proxy = RecordingProxy(
        upstream, Path(str(options.record)), max_credits=options.budget, secrets=(options.key, WRONG_KEY)
    )
    return ProxyServer(proxy).start()


def _nuro_gone(url: str, key: str) -> bool:
    """Whether Nuro answers 410 there (a free poll of an id nobody has)."""
    try:
        response = httpx.get(
            url.rstrip("/") + NURO_PROBE.format(uuid.uuid4()), headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
    except httpx.HTTPError as exc:
        raise ContractSetupError(f"cannot reach {url}: {exc}") from None
    return response.status_code == 410


@dataclass
class Preflight:
    """What the preflight found (the key's balance before the run)."""

    ok: bool
    message: str
    credits_before: int | None = None


class ContractSession:
    """Everything a contract run shares: options, spec, targets, the credit guard, the preflight."""

    def __init__(self, options: Options) -> None:
        options.validate()
        self.options = options
        self.spec = ApiSpec.load()
        self.catalog = CATALOG
        self.pricing = Pricing(self.spec, DEFAULT_COSTS)
        self.guard = CreditGuard(self.pricing, options.budget)
        self._targets: Targets | None = None
        self._clients: dict[tuple[str, str | None], httpx.Client] = {}
        self._preflight: Preflight | None = None
        self.credits_after: int | None = None
        self.skipped_for_budget: list[str] = []
        #: Where progress lines of a real-time run go (the terminal, set by conftest); None: nowhere.
        self.progress: Callable[[str], None] | None = None

    def say(self, line: str) -> None:
        """A progress line of a live run (waiting on real time); silent against mocks."""
        if self.live and self.progress is not None:
            self.progress(line)

    # --- targets -----------------------------------------------------------------------------------

    @property
    def targets(self) -> Targets:
        """The targets, started or probed on first use."""
        if self._targets is None:
            options = self.options
            if options.mode == "own":
                self._targets = _start_own(options.mock_faults)
            else:
                url = (options.base_url or options.mock_url or "").rstrip("/")
                servers: list[Any] = []
                if options.record:
                    servers.append(_recorder(url, options))
                    label_url, url = f"{url} (recorded to {options.record})", servers[0].url
                else:
                    label_url = url
                gone = _nuro_gone(url, options.key)
                control = options.mode == "mock-url"
                label = (
                    ("your mock" if control else "live")
                    + f" {label_url}"
                    + (", Nuro gone" if gone else ", Nuro served")
                )
                main = Target(label, url, control=control, nuro_gone=gone)
                self._targets = Targets(main=main, gone=main if gone else None, sunset=None, servers=servers)
        return self._targets

    @property
    def main(self) -> Target:
        """The main target."""
        return self.targets.main

    @property
    def live(self) -> bool:
        """Whether the run has no control plane."""
        return self.options.mode == "live"

    def close(self) -> None:
        """Stop what the session started."""
        self._close_clients()
        if self._targets is not None:
            self._targets.stop()

    def refusals(self, target: Target | None = None) -> RefusalPolicy:
        """The refusal policy for a target (Nuro counts as retired where it answers 410)."""
        target = target or self.main
        retired = frozenset(
            op.operation_id for op in product_operations(self.spec) if op.family == "nuro" and target.nuro_gone
        )
        return RefusalPolicy(self.spec, self.catalog, retired)

    # --- HTTP -------------------------------------------------------------------------------------

    def _on_request(self, request: httpx.Request) -> None:
        body = json_body(request.content, request.headers.get("content-type"))
        request.extensions = {
            **request.extensions,
            "contract_price": self.guard.reserve(request.method, request.url.path, body),
        }

    def _on_response(self, response: httpx.Response) -> None:
        request = response.request
        price = int(request.extensions.get("contract_price", 0))
        self.guard.settle(request.method, request.url.path, price, response.status_code)

    @contextmanager
    def client(self, target: Target | None = None, key: str | None = None, auth: bool = True) -> Iterator[httpx.Client]:
        """An API client of a target under the credit guard, authenticated with ``key`` (default: the run's).

        Clients of the run's key (and unauthenticated ones) are kept for the run and closed by :meth:`close`.
        """
        target = target or self.main
        headers = {"Authorization": f"Bearer {key or self.options.key}"} if auth else {}
        shared = not auth or key is None or key == self.options.key
        cache_key = (target.url, headers.get("Authorization"))
        http = self._clients.get(cache_key) if shared else None
        if http is None:
            http = httpx.Client(
                base_url=target.url,
                headers=headers,
                timeout=30,
                event_hooks={"request": [self._on_request], "response": [self._on_response]},
            )
            if shared:
                self._clients[cache_key] = http
        try:
            yield http
        finally:
            if not shared:
                http.close()

    @contextmanager
    def control(self, target: Target | None = None) -> Iterator[httpx.Client]:
        """A control-plane client (``/_mock/``) of a mock target."""
        target = target or self.main
        if not target.control:
            raise ContractSetupError(f"{target.label} has no control plane")
        http = self._clients.get((target.url, "control"))
        if http is None:
            http = self._clients[(target.url, "control")] = httpx.Client(base_url=target.url, timeout=30)
        yield http

    def _close_clients(self) -> None:
        for http in self._clients.values():
            http.close()
        self._clients.clear()

    def credits(self, key: str | None = None, target: Target | None = None) -> int:
        """``credits + extra_credits`` of a key (get-credits is free)."""
        with self.client(target, auth=False) as http:
            response = http.get("/api/v1/get-credits", headers={"Authorization": f"Bearer {key or self.options.key}"})
        response.raise_for_status()
        body = orjson.loads(response.content)
        return int(body["credits"]) + int(body["extra_credits"])

    def fresh_key(self, purpose: str) -> str:
        """A key nobody has used (on a mock: an account opened with the starting balance)."""
        return f"sk_contract_{purpose}_{uuid.uuid4().hex[:12]}"

    # --- preflight and report -------------------------------------------------------------------

    def preflight(self) -> Preflight:
        """Prove the key works, and that a wrong key would not (the wrong-token trap), once per run."""
        if self._preflight is None:
            self._preflight = self._run_preflight()
        return self._preflight

    def _run_preflight(self) -> Preflight:
        main = self.main
        key = self.options.key
        try:
            if main.control:
                with self.control() as control:
                    control.put(f"/_mock/keys/{key}", json={"credits": MOCK_BALANCE}).raise_for_status()
            with self.client() as http:
                mine = http.get("/api/v1/get-credits")
            with self.client(key=WRONG_KEY) as http:
                wrong = http.get("/api/v1/get-credits")
        except httpx.HTTPError as exc:
            return Preflight(False, f"preflight: cannot reach {main.url}: {exc}")
        if mine.status_code != 200:
            return Preflight(
                False,
                f"preflight: get-credits with the run's key answered {mine.status_code} "
                f"({mine.text[:200]}); the key does not work, so no result would mean anything",
            )
        if wrong.status_code != 401:
            return Preflight(
                False,
                f"preflight: a key the service cannot know got {wrong.status_code}, not 401: "
                "the target does not check keys, so a 200 for the run's key proves nothing",
            )
        try:  # conformance (content type, schema) is the layers' business; here: is there a balance?
            body = orjson.loads(mine.content)
            credits = int(body["credits"]) + int(body["extra_credits"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return Preflight(False, f"preflight: get-credits answered 200 without a balance: {mine.text[:200]}")
        return Preflight(True, "ok", credits)

    def report_lines(self) -> list[str]:
        """The credit report for the terminal summary."""
        options, guard = self.options, self.guard
        lines = []
        if self._targets is not None:
            lines.append(f"target: {self.main.label}")
        budget = "none (mock)" if guard.limit is None else f"{guard.limit} credits (--max-credits)"
        lines.append(f"budget: {budget}; skipped for budget: {len(self.skipped_for_budget)} test(s)")
        lines.append(
            f"spent: at most {guard.spent} credits (billable requests answered 2xx, each at its "
            f"highest documented price); requests blocked before sending: {guard.blocked}"
        )
        before = self._preflight.credits_before if self._preflight else None
        key = options.key
        shown = key if not self.live else f"…{key[-4:]}"
        if before is not None:
            after = "?" if self.credits_after is None else str(self.credits_after)
            change = "" if self.credits_after is None else f" (change {self.credits_after - before:+d})"
            lines.append(f"balance of key {shown}: before {before}, after {after}{change}")
        for note in guard.surprises:
            lines.append(f"UNBUDGETED: {note}")
        return lines


# --- response checks shared by the hand-written layers -----------------------------------------------


def _response_validator(spec: ApiSpec, operation_id: str, status: int) -> tuple[SchemaValidator | None, bool]:
    op = spec.operations[operation_id]
    responses: Mapping[str, Any] = op.raw.get("responses", {})
    raw = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    if raw is None:
        return None, False
    resolved = resolve_refs(raw, spec.documents[op.spec_name])
    schema = resolved.get("content", {}).get("application/json", {}).get("schema")
    return (SchemaValidator(schema) if schema is not None else None), True


def response_problems(
    spec: ApiSpec, operation_id: str, status: int, content_type: str | None, content: bytes
) -> list[str]:
    """How an answer breaks the spec: undocumented status, not JSON, or a body that does not match."""
    validator, documented = _response_validator(spec, operation_id, status)
    if not documented:
        return [f"status {status} is not documented for {operation_id}"]
    if validator is None:
        return []
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        return [f"content type {content_type!r} is not the documented application/json"]
    body = json_body(content, content_type)
    violations = validator.violations(body)
    return [f"body does not match the {status} schema of {operation_id}: {v}" for v in violations[:5]]


_SESSION: ContractSession | None = None


def install(session: ContractSession | None) -> None:
    """Make ``session`` the current one (conftest does this at configure time)."""
    global _SESSION
    _SESSION = session


def current() -> ContractSession:
    """The current contract session (set up by ``contracts/conftest.py``)."""
    if _SESSION is None:
        raise RuntimeError("no contract session: run the suite with pytest on contracts/")
    return _SESSION
