"""Load generators as the harness sees them: wrk (preferred) or ``pyload.py``, both giving a LoadResult."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from procs import pinned

BENCH = Path(__file__).resolve().parent
LUA = {"create": BENCH / "lua" / "create.lua", "poll": BENCH / "lua" / "poll.lua"}
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


class LoadError(RuntimeError):
    """The load generator itself failed (not the server)."""


@dataclass
class LoadResult:
    """One measured run."""

    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    def as_dict(self) -> dict[str, float]:
        """Plain JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class Settings:
    """How load is applied: the same for every server in one run."""

    tool: str  # "wrk" or "python"
    connections: int
    threads: int
    cpus: set[int] | None  # where the generator runs (None: anywhere)
    wrk_path: str | None = None
    key_every: int = 50


# --- wrk ----------------------------------------------------------------------------------------


def ensure_wrk(install: bool) -> str | None:
    """The wrk binary, installing Debian's ``wrk`` with apt-get if missing and allowed; None if unavailable."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if shutil.which("apt-get") is None:
        print(
            "wrk is not installed and apt-get is not available: using the Python load generator "
            "(bench/pyload.py) instead.",
            flush=True,
        )
        return None
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        print(
            "wrk is not installed and installing it needs root (apt-get install -y wrk): "
            "using the Python load generator instead.",
            flush=True,
        )
        return None
    print("wrk not found: apt-get update && apt-get install -y wrk ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "wrk"]):
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            print(f"  {' '.join(cmd)} timed out: using the Python load generator instead.", flush=True)
            return None
        if done.returncode != 0:
            print(
                f"  {' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-400:]}\n"
                "  using the Python load generator instead.",
                flush=True,
            )
            return None
    return shutil.which("wrk")


def wrk_version(path: str) -> str:
    """``wrk 4.1.0 [epoll] ...`` (first line of ``wrk -v``)."""
    done = subprocess.run([path, "-v"], capture_output=True, text=True, timeout=10)
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "wrk (unknown version)"


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_MS[unit]


def parse_wrk(output: str) -> LoadResult:
    """Requests/s, p50/p99 (from ``--latency``), non-2xx/3xx and socket errors from wrk's report."""

    def find(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, output, re.MULTILINE)

    total = find(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)")
    rps = find(r"^Requests/sec:\s+([\d.]+)")
    p50 = find(r"^\s+50%\s+([\d.]+)(us|ms|s|m|h)")
    p99 = find(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)")
    if not (total and rps and p50 and p99):
        raise LoadError(f"could not parse wrk output:\n{output}")
    non_2xx = find(r"Non-2xx or 3xx responses:\s+(\d+)")
    sockets = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    return LoadResult(
        requests=int(total.group(1)),
        duration_s=round(_ms(total.group(2), total.group(3)) / 1000, 3),
        rps=float(rps.group(1)),
        p50_ms=round(_ms(p50.group(1), p50.group(2)), 3),
        p99_ms=round(_ms(p99.group(1), p99.group(2)), 3),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def wrk_command(settings: Settings, url: str, mix: str, data_file: Path, seconds: int) -> list[str]:
    """The wrk command line for one run."""
    assert settings.wrk_path is not None
    extra = [str(data_file)] + ([str(settings.key_every)] if mix == "create" else [])
    return [
        settings.wrk_path,
        f"-t{settings.threads}",
        f"-c{settings.connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(LUA[mix]),
        url,
        "--",
        *extra,
    ]


def pyload_command(settings: Settings, url: str, mix: str, data_file: Path, seconds: int) -> list[str]:
    """The ``pyload.py`` command line for one run."""
    cmd = [
        sys.executable,
        str(BENCH / "pyload.py"),
        "--url",
        url,
        "--mix",
        mix,
        "--file",
        str(data_file),
        "--connections",
        str(settings.connections),
        "--duration",
        str(seconds),
    ]
    if settings.cpus:
        cmd += ["--cpu", str(min(settings.cpus))]
    return cmd


def command(settings: Settings, url: str, mix: str, data_file: Path, seconds: int) -> list[str]:
    """The load command for the configured tool (pinned to the generator's CPUs for wrk)."""
    if settings.tool == "wrk":
        return pinned(wrk_command(settings, url, mix, data_file, seconds), settings.cpus)
    return pyload_command(settings, url, mix, data_file, seconds)


def display_command(settings: Settings, url: str, mix: str, data_file: Path, seconds: int) -> list[str]:
    """The load command as a person would type it (pinning shown as ``taskset -c``)."""
    if settings.tool == "wrk":
        cmd = wrk_command(settings, url, mix, data_file, seconds)
        return ["taskset", "-c", ",".join(map(str, sorted(settings.cpus))), *cmd] if settings.cpus else cmd
    return pyload_command(settings, url, mix, data_file, seconds)


def run_load(settings: Settings, url: str, mix: str, data_file: Path, seconds: int) -> tuple[LoadResult, str]:
    """Run one load and return its result and raw output (bounded by ``seconds`` plus a margin)."""
    cmd = command(settings, url, mix, data_file, seconds)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"load generator did not finish: {' '.join(cmd)}") from exc
    if done.returncode != 0:
        raise LoadError(f"load generator failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    if settings.tool == "wrk":
        return parse_wrk(done.stdout), done.stdout
    try:
        data = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError) as exc:
        raise LoadError(f"pyload printed no summary: {done.stdout[-400:]} {done.stderr[-400:]}") from exc
    return LoadResult(**data), done.stdout
