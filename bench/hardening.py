"""Hardening figures (issue #13), measured on a real server process, printed as JSON.

* ``idle_cpu``: CPU% of the server over a quiet interval while N tasks are watched by webhooks
  (manual clock, so nothing is due: an idle dispatcher should cost nothing);
* ``huge_keys``: RSS before and after M requests whose bearer key is 1 MiB (refused at the door: the
  journal keeps nothing of them);
* ``dead_receivers``: how long ``POST /_mock/clock/advance`` takes when R webhook receivers accept the
  connection and never answer (bounded by the per-attempt timeout and the overall settle bound).

``python bench/hardening.py [--watched 20000] [--requests 1000] [--receivers 10] [--quiet 10]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procs import Server, running, tree_kb, wait_for_banner  # noqa: E402

CLI = [sys.executable, "-m", "mockserver.cli", "serve", "--port", "0", "--clock", "manual", "--log-requests", "off"]
BODY = {"task_type": "create_music", "sound": "lofi"}
KEY = {"Authorization": "Bearer sk_bench"}


@contextmanager
def mock() -> Iterator[Server]:
    """A manual-clock mock for the duration of the block."""
    with running("mock", CLI) as server:
        wait_for_banner(server, 30)
        yield server


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(watched: int, quiet: float) -> dict[str, float]:
    """CPU% over ``quiet`` seconds with no task, then with ``watched`` webhook-watched tasks pending.

    The tasks are spread over keys of 1,000 each: creating pending tasks on one key is quadratic (each
    create's queue check scans that key's open tasks), which is not what this measures.
    """
    with mock() as server, httpx.Client(base_url=server.base_url, timeout=60) as http:
        time.sleep(1)
        idle = _cpu_over(server.proc.pid, quiet)
        hook = {**BODY, "webhook_url": "http://127.0.0.1:9/hook"}
        keys = [f"sk_bench_{n}" for n in range(max(1, -(-watched // 1000)))]
        for key in keys:
            roomy = {"credits": 100 * watched, "queue_capacity": watched + 1}
            http.put(f"/_mock/keys/{key}", json=roomy).raise_for_status()
        started = time.perf_counter()
        for n in range(watched):
            headers = {"Authorization": f"Bearer {keys[n % len(keys)]}"}
            answer = http.post("/api/v1/producer/create", json=hook, headers=headers)
            assert answer.status_code == 200, answer.text
        created = time.perf_counter() - started
        time.sleep(1)
        busy = _cpu_over(server.proc.pid, quiet)
        return {
            "watched": watched,
            "keys": len(keys),
            "create_s": round(created, 1),
            "cpu_percent_none_watched": round(idle, 2),
            "cpu_percent": round(busy, 2),
        }


def _cpu_over(pid: int, quiet: float) -> float:
    before = cpu_seconds(pid)
    time.sleep(quiet)
    return 100 * (cpu_seconds(pid) - before) / quiet


def huge_keys(requests: int) -> dict[str, float]:
    """RSS (MiB) before and after ``requests`` calls with a 1 MiB key, and what they were answered."""
    with mock() as server, httpx.Client(base_url=server.base_url, timeout=60) as http:
        http.get("/api/v1/get-credits", headers=KEY).raise_for_status()
        before = tree_kb(server.proc.pid, "VmRSS") / 1024
        statuses: dict[int, int] = {}
        key = "k" * (1 << 20)
        for _ in range(requests):
            status = http.get("/api/v1/get-credits", headers={"Authorization": f"Bearer {key}"}).status_code
            statuses[status] = statuses.get(status, 0) + 1
        after = tree_kb(server.proc.pid, "VmRSS") / 1024
        journal = len(http.get("/_mock/requests", params={"limit": 100000}).json()["requests"])
        return {
            "requests": requests,
            "rss_before_mib": round(before, 1),
            "rss_after_mib": round(after, 1),
            "journal_rows": journal,
            **{f"status_{code}": count for code, count in statuses.items()},
        }


def dead_receivers(receivers: int) -> dict[str, float]:
    """Wall seconds of one ``advance 600`` while ``receivers`` listeners accept and never answer."""
    sockets = []
    for _ in range(receivers):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)  # the kernel completes the handshake; nobody ever reads or answers
        sockets.append(listener)
    try:
        with mock() as server, httpx.Client(base_url=server.base_url, headers=KEY, timeout=300) as http:
            for listener in sockets:
                url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
                http.post("/api/v1/producer/create", json={**BODY, "webhook_url": url}).raise_for_status()
            started = time.perf_counter()
            status = http.post("/_mock/clock/advance", json={"seconds": 600}).status_code
            took = time.perf_counter() - started
            probe = time.perf_counter()
            http.get("/api/v1/get-credits").raise_for_status()
            return {
                "receivers": receivers,
                "advance_status": status,
                "advance_s": round(took, 2),
                "next_request_ms": round(1000 * (time.perf_counter() - probe), 1),
            }
    finally:
        for listener in sockets:
            listener.close()


def main() -> None:
    """Run the three measurements and print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watched", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--receivers", type=int, default=10)
    parser.add_argument("--quiet", type=float, default=10.0)
    args = parser.parse_args()
    figures = {
        "idle_cpu": idle_cpu(args.watched, args.quiet),
        "huge_keys": huge_keys(args.requests),
        "dead_receivers": dead_receivers(args.receivers),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
