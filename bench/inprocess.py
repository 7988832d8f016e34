"""The app's own cost per request, with no server and no socket: µs per create and per poll.

Drives the ASGI app directly (a scope, a ``receive`` with the body, a ``send`` that drops the answer) on
one event loop, the way uvicorn calls it, so a change to the request path shows up without the noise of
the network and the load generator. ``--profile`` prints cProfile's top functions of the mix.

``python bench/inprocess.py [--store memory|sqlite|hello] [--requests 20000] [--concurrency 32] [--profile]``
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from workload import CREATE_BODIES, CREATE_PATH, TASK_PATH, rotating_key

from mockserver.app import create_app
from mockserver.config import Config, NuroMode

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def _scope(method: str, path: str, key: str, body: bytes) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", f"Bearer {key}".encode())]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "state": {},
    }


async def call(app: App, method: str, path: str, key: str, body: bytes = b"") -> tuple[int, bytes]:
    """One request through ``app``: its status and body."""
    message = {"type": "http.request", "body": body, "more_body": False}
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return message

    async def send(event: dict[str, Any]) -> None:
        nonlocal status
        if event["type"] == "http.response.start":
            status = event["status"]
        else:
            chunks.append(event.get("body", b""))

    await app(_scope(method, path, key, body), receive, send)
    return status, b"".join(chunks)


async def run(app: App, requests: int, concurrency: int, profile: cProfile.Profile | None) -> dict[str, float]:
    """``requests`` creates, then as many polls of those tasks, from ``concurrency`` clients at once
    (as the server's connections would); µs per request of each mix."""
    bodies = [orjson.dumps(body) for body in CREATE_BODIES]
    for n in range(200):  # warm-up: caches, first-use imports
        await call(app, "POST", CREATE_PATH, rotating_key("w", n), bodies[n % len(bodies)])
    ids: list[tuple[str, str]] = []
    share = requests // concurrency

    async def creates(client: int) -> None:
        for n in range(share):
            key = rotating_key(f"b{client}", n)
            status, answer = await call(app, "POST", CREATE_PATH, key, bodies[n % len(bodies)])
            if status != 200:
                raise SystemExit(f"create answered {status}: {answer!r}")
            ids.append((key, orjson.loads(answer)["task_id"]))

    async def polls(client: int) -> None:
        for key, task_id in ids[client::concurrency]:
            status, answer = await call(app, "GET", TASK_PATH + task_id, key)
            if status != 200:
                raise SystemExit(f"poll answered {status}: {answer!r}")

    figures: dict[str, float] = {}
    if profile is not None:
        profile.enable()
    for mix, client in (("create", creates), ("poll", polls)):
        started = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(concurrency)))
        figures[f"{mix}_us"] = (time.perf_counter() - started) / (share * concurrency) * 1e6
    if profile is not None:
        profile.disable()
    return figures


def main() -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=("memory", "sqlite", "hello"), default="memory")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32, help="clients at once (wrk's connections)")
    parser.add_argument("--workers", type=int, default=1, help="as with serve --workers: >1 opens the state shared")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.store == "hello":
            from hello_app import build_app

            app: Any = build_app()
        else:
            state = str(Path(tmp) / "state.db") if args.store == "sqlite" else None
            app = create_app(
                Config(clock="fast", nuro=NuroMode.parse("legacy"), seed=1, state=state, workers=args.workers)
            )
        profile = cProfile.Profile() if args.profile else None
        figures = asyncio.run(run(app, args.requests, args.concurrency, profile))
    print(f"{args.store}: create {figures['create_us']:.1f} µs, poll {figures['poll_us']:.1f} µs per request")
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
