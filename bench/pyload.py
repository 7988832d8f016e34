"""A small HTTP/1.1 load generator, used when wrk cannot be installed.

``python bench/pyload.py --url http://127.0.0.1:PORT --mix create|poll --file FILE [--connections 32]
[--duration 10] [--cpu 1]`` prints one JSON object: requests, duration, requests/s, p50/p99 latency
in ms, non-2xx/3xx responses and socket errors (the same numbers the harness reads from wrk).

It runs as its own process, pinned (``--cpu``) to a core the server is not pinned to, so it does not
starve the server of CPU; it keeps every connection alive and sends one request at a time on each
(like wrk), over raw asyncio streams (uvloop when available). The run is bounded by ``--duration``
and by ``--max-requests``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from workload import CREATE_PATH, TASK_PATH, read_lines, read_pairs, rotating_key


@dataclass
class Tally:
    """What all connections observed."""

    latencies: list[float] = field(default_factory=list)
    non_2xx: int = 0
    errors: int = 0


class RequestSource:
    """Builds the next request of one connection for a mix."""

    def __init__(self, mix: str, path: Path, host: str, conn_id: int) -> None:
        self.mix = mix
        self.host = host
        self.conn_id = conn_id
        self.sent = 0
        if mix == "create":
            self.bodies = [line.encode() for line in read_lines(path)]
            self.polls: list[bytes] = []
        else:
            self.bodies = []
            self.polls = [self._get(key, task_id) for key, task_id in read_pairs(path)]
        if not (self.bodies or self.polls):
            raise SystemExit(f"pyload: nothing to send in {path}")

    def _get(self, key: str, task_id: str) -> bytes:
        return (
            f"GET {TASK_PATH}{task_id} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {key}\r\n\r\n"
        ).encode()

    def next(self) -> bytes:
        """The next request's bytes."""
        n = self.sent
        self.sent += 1
        if self.polls:
            return self.polls[(n * 7919 + self.conn_id * 104729) % len(self.polls)]
        body = self.bodies[(n + self.conn_id) % len(self.bodies)]
        key = rotating_key(f"py{self.conn_id}", n)
        head = (
            f"POST {CREATE_PATH} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (Content-Length or chunked body); return its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def connection(host: str, port: int, source: RequestSource, deadline: float, cap: int, tally: Tally) -> None:
    """One keep-alive connection sending requests back to back until the deadline."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.monotonic() < deadline and len(tally.latencies) < cap:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            assert reader is not None
            started = time.perf_counter()
            writer.write(source.next())
            status = await asyncio.wait_for(read_response(reader), timeout=max(0.1, deadline - time.monotonic()))
            tally.latencies.append(time.perf_counter() - started)
            if status >= 400:
                tally.non_2xx += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            tally.errors += 1
            await _close(writer)
            writer = None
            await asyncio.sleep(0.01)
        except TimeoutError:
            break
    await _close(writer)


async def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def percentile(sorted_values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of sorted values."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


async def run(url: str, mix: str, path: Path, connections: int, duration: float, cap: int) -> dict[str, float]:
    """Drive the server for ``duration`` seconds; the summary."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    tally = Tally()
    started = time.monotonic()
    deadline = started + duration
    await asyncio.gather(
        *(
            connection(host, port, RequestSource(mix, path, f"{host}:{port}", i), deadline, cap, tally)
            for i in range(connections)
        )
    )
    elapsed = time.monotonic() - started
    latencies = sorted(tally.latencies)
    return {
        "requests": len(latencies),
        "duration_s": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(latencies, 50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 99) * 1000, 3),
        "non_2xx": tally.non_2xx,
        "socket_errors": tally.errors,
    }


def main() -> int:
    """Parse arguments, pin, run, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--mix", choices=["create", "poll"], required=True)
    parser.add_argument("--file", type=Path, required=True, help="bodies file (create) or ids file (poll)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--max-requests", type=int, default=5_000_000)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    coro = run(args.url, args.mix, args.file, args.connections, args.duration, args.max_requests)
    try:
        import uvloop
    except ImportError:
        summary = asyncio.run(coro)
    else:
        summary = uvloop.run(coro)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
