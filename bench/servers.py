"""The servers under test: how to start each one, find its port and check that it answers 200."""

from __future__ import annotations

import dataclasses
import http.client
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import procs
from workload import CREATE_PATH, TASK_PATH, encoded_bodies, rotating_key

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NODE_DIR = BENCH / ".node"
NURO_SPEC = ROOT / "openapi" / "nuro.yaml"
MOCK_ARGS = ["serve", "--port", "0", "--clock", "fast", "--nuro", "legacy", "--seed", "1"]
SERVER_CPUS = {0}


@dataclass
class ServerSpec:
    """One row family of the table: a server and how to run it."""

    name: str
    kind: str  # mock | hello | prism | wiremock | populated
    args: list[str] = field(default_factory=list)
    available: bool = True
    note: str = ""
    #: Pin to :data:`SERVER_CPUS` (off for multi-process servers meant to use every core).
    pin: bool = True
    #: Whether non-2xx answers fail the run (Prism's are only reported).
    strict: bool = True
    version: str = ""
    #: Seconds of warm-up it needs at least (WireMock's JIT), whatever ``--warmup`` says.
    min_warmup: int = 0


class PreflightError(RuntimeError):
    """A server answered a benchmark request with something other than 200."""


# --- locating binaries ---------------------------------------------------------------------------


def mock_binary() -> str:
    """``musicapi-mock`` of the interpreter running the harness, else the repo's venv, else PATH."""
    for candidate in (Path(sys.executable).parent / "musicapi-mock", ROOT / ".venv" / "bin" / "musicapi-mock"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("musicapi-mock")
    if found is None:
        raise SystemExit("musicapi-mock not found: pip install -e '.[bench]' in the project venv first")
    return found


def serve_help(binary: str) -> str:
    """``musicapi-mock serve --help`` (how the harness detects --state / --workers)."""
    done = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


def mock_specs(binary: str, state_file: Path) -> list[ServerSpec]:
    """mock-memory, plus mock-sqlite and mock-memory-2workers when the CLI supports them."""
    help_text = serve_help(binary)
    base = [binary, *MOCK_ARGS]
    if "--log-requests" in help_text:  # its quietest setting, like uvicorn's access log and Prism's -v error
        base += ["--log-requests", "off"]
    specs = [ServerSpec("mock-memory", "mock", base)]
    if "--state" in help_text:
        specs.append(ServerSpec("mock-sqlite", "mock", [*base, "--state", str(state_file)]))
    else:
        specs.append(
            ServerSpec(
                "mock-sqlite", "mock", available=False, note="not available yet: musicapi-mock serve has no --state"
            )
        )
    if "--workers" in help_text:
        shared = "sharing a temporary SQLite state file, " if "shares a --state" in " ".join(help_text.split()) else ""
        specs.append(
            ServerSpec(
                "mock-memory-2workers",
                "mock",
                [*base, "--workers", "2"],
                pin=False,
                note=f"2 workers {shared}not pinned: both cores, shared with the load",
            )
        )
    else:
        specs.append(
            ServerSpec(
                "mock-memory-2workers",
                "mock",
                available=False,
                note="not available yet: musicapi-mock serve has no --workers",
            )
        )
    return specs + postgres_specs(base)


#: ``--state`` of the PostgreSQL rows: replaced by a fresh database of the bench's cluster for each run.
PG_STATE = "postgresql://bench-fresh-database"
_PG: list[Any] = []


def postgres_unavailable() -> str | None:
    """Why the PostgreSQL rows cannot run here, or None."""
    import importlib.util

    from mockserver.errors import ConfigError
    from mockserver.pgcluster import binary

    if importlib.util.find_spec("psycopg") is None:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        binary("initdb")
    except ConfigError as exc:
        return str(exc)
    return None


def postgres_specs(base: list[str]) -> list[ServerSpec]:
    """1, 2 and 4 mock processes over one PostgreSQL (a server the bench starts, default durability)."""
    why = postgres_unavailable()
    if why is not None:
        return [
            ServerSpec(f"mock-postgres-{n}", "mock", available=False, note=f"unavailable: {why}") for n in (1, 2, 4)
        ]
    specs = [
        ServerSpec(
            "mock-postgres-1",
            "mock",
            [*base, "--state", PG_STATE],
            note="1 process over PostgreSQL (the PostgreSQL server is not pinned)",
        )
    ]
    for count in (2, 4):
        specs.append(
            ServerSpec(
                f"mock-postgres-{count}",
                "mock",
                [*base, "--state", PG_STATE, "--workers", str(count)],
                pin=False,
                note=f"{count} processes over one PostgreSQL, not pinned: both cores, shared with the load",
            )
        )
    return specs


def bench_cluster() -> Any:
    """The bench's PostgreSQL server (started on first use, default durability, stopped at exit)."""
    if not _PG:
        from mockserver.pgcluster import PgCluster

        _PG.append(PgCluster(fast=False).start())
    return _PG[0]


def with_state_file(spec: ServerSpec, path: Path) -> ServerSpec:
    """``spec`` with its ``--state`` file (if any) replaced, so every run starts from an empty store; a
    PostgreSQL row gets a fresh database."""
    if "--state" not in spec.args:
        return spec
    args = list(spec.args)
    at = args.index("--state") + 1
    if args[at] == PG_STATE:
        args[at] = bench_cluster().create_database()
        return dataclasses.replace(spec, args=args)
    args[at] = str(path)
    path.unlink(missing_ok=True)
    return dataclasses.replace(spec, args=args)


def hello_spec() -> ServerSpec:
    """The bare Starlette ceiling."""
    return ServerSpec("starlette-hello", "hello", [sys.executable, str(BENCH / "hello_app.py"), "--port", "0"])


def prism_spec(install: bool) -> ServerSpec:
    """Prism from ``bench/.node`` (installed from the committed lock file if needed)."""
    binary, note = ensure_prism(install)
    if binary is None:
        return ServerSpec("prism", "prism", available=False, note=note, strict=False)
    return ServerSpec(
        "prism", "prism", [binary, "mock", "-h", "127.0.0.1", "-v", "error", str(NURO_SPEC)], strict=False, version=note
    )


#: Where the wiremock npm package keeps WireMock's standalone jar.
WIREMOCK_JAR = NODE_DIR / "node_modules" / "wiremock" / "build"
WIREMOCK_ROOT = BENCH / "wiremock"


def wiremock_spec(install: bool) -> ServerSpec:
    """WireMock's standalone jar (from the wiremock npm package in bench/.node) with stubs of the two routes."""
    java = shutil.which("java")
    if java is None:
        return ServerSpec(
            "wiremock", "wiremock", available=False, note="unavailable: no java (openjdk-17-jre-headless)"
        )
    _, note = ensure_prism(install)  # one npm ci installs both peers
    jars = sorted(WIREMOCK_JAR.glob("wiremock-standalone-*.jar"))
    if not jars:
        return ServerSpec("wiremock", "wiremock", available=False, note=f"unavailable: no WireMock jar ({note})")
    jar = jars[-1]
    args = [java, "-jar", str(jar), "--bind-address", "127.0.0.1", "--root-dir", str(WIREMOCK_ROOT)]
    args += ["--disable-banner", "--no-request-journal", "--disable-request-logging"]
    version = jar.stem.removeprefix("wiremock-standalone-")
    return ServerSpec("wiremock", "wiremock", args, strict=False, version=f"wiremock {version}", min_warmup=15)


def ensure_prism(install: bool) -> tuple[str | None, str]:
    """The prism binary, running ``npm ci`` into bench/.node when missing or stale; (None, why) if not."""
    binary = NODE_DIR / "node_modules" / ".bin" / "prism"
    lock, installed_lock = BENCH / "package-lock.json", NODE_DIR / "package-lock.json"
    fresh = binary.exists() and installed_lock.exists() and installed_lock.read_bytes() == lock.read_bytes()
    if fresh:
        return str(binary), prism_version(binary)
    if not install:
        return None, "not installed (bench/.node) and --no-install given"
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None, "unavailable: node/npm not installed"
    print("installing Prism into bench/.node (npm ci) ...", flush=True)
    NODE_DIR.mkdir(exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(BENCH / name, NODE_DIR / name)
    cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--omit-lockfile-registry-resolved"]
    try:
        done = subprocess.run(cmd, cwd=NODE_DIR, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return None, "unavailable: npm ci timed out"
    if done.returncode != 0 or not binary.exists():
        return None, f"unavailable: npm ci failed: {done.stderr.strip()[-300:]}"
    return str(binary), prism_version(binary)


def prism_version(binary: Path) -> str:
    """``prism 5.x.y`` (or what --version printed)."""
    done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    return f"@stoplight/prism-cli {done.stdout.strip() or '?'}"


# --- starting --------------------------------------------------------------------------------------


@contextmanager
def started(spec: ServerSpec, pin: bool, timeout: float = 60.0) -> Iterator[procs.Server]:
    """Start ``spec`` on a free port, wait until it accepts connections, stop it on the way out."""
    cpus = SERVER_CPUS if pin and spec.pin else None
    cmd = list(spec.args)
    port = 0
    if spec.kind == "prism":  # prism cannot pick a port itself
        port = procs.free_port()
        cmd[2:2] = ["-p", str(port)]
    elif spec.kind == "wiremock":  # nor does WireMock print one we could read
        port = procs.free_port()
        cmd += ["--port", str(port)]
    with procs.running(spec.name, cmd, cpus=cpus, cwd=ROOT) as server:
        if spec.kind in ("prism", "wiremock"):
            server.port = port
            procs.wait_for_port(server, timeout)
        else:
            procs.wait_for_banner(server, timeout)
            procs.wait_for_port(server, timeout)
        yield server


def command_line(spec: ServerSpec) -> list[str]:
    """The command as started (Prism's port shown as PORT)."""
    if spec.kind == "prism":
        return [*spec.args[:2], "-p", "PORT", *spec.args[2:]]
    if spec.kind == "wiremock":
        return [*spec.args, "--port", "PORT"]
    return list(spec.args)


# --- talking to it -----------------------------------------------------------------------------------


class Client:
    """A keep-alive HTTP/1.1 client for the few setup requests (pre-flight, pre-creation)."""

    def __init__(self, host: str, port: int) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=10)

    def request(self, method: str, path: str, key: str, body: bytes | None = None) -> tuple[int, bytes]:
        """Send one request; return status and body."""
        headers = {"Authorization": f"Bearer {key}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def create(self, key: str, body: bytes) -> str:
        """Create a task; its id (PreflightError on anything but 200 with a task_id)."""
        status, data = self.request("POST", CREATE_PATH, key, body)
        if status != 200:
            raise PreflightError(f"POST {CREATE_PATH} answered {status}: {data[:300]!r}")
        task_id = json.loads(data).get("task_id")
        if not isinstance(task_id, str):
            raise PreflightError(f"POST {CREATE_PATH} answered no task_id: {data[:300]!r}")
        return task_id

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def preflight(server: procs.Server) -> dict[str, int]:
    """One create (each body) and one read must answer 200; the statuses seen."""
    client = Client(server.host, server.port)
    try:
        statuses: dict[str, int] = {}
        task_id = ""
        for i, body in enumerate(encoded_bodies()):
            task_id = client.create(rotating_key("preflight", 0), body)
            statuses[f"create[{i}]"] = 200
        status, data = client.request("GET", TASK_PATH + task_id, rotating_key("preflight", 0))
        statuses["get"] = status
        if status != 200:
            raise PreflightError(f"GET {TASK_PATH}{{id}} answered {status}: {data[:300]!r}")
        return statuses
    finally:
        client.close()


def precreate(server: procs.Server, count: int) -> list[tuple[str, str]]:
    """Create ``count`` tasks over HTTP (keys rotating like the load's); their (key, id) pairs."""
    client = Client(server.host, server.port)
    bodies = encoded_bodies()
    try:
        pairs = []
        for i in range(count):
            key = rotating_key("pre", i)
            pairs.append((key, client.create(key, bodies[i % len(bodies)])))
        return pairs
    finally:
        client.close()
