"""Durable state (``serve --state FILE``) and several workers (``--workers N``): real processes, real files.

Every server here is a ``musicapi-mock serve`` subprocess on 127.0.0.1. "Fresh connection" means a new
TCP connection per request (``Connection: close``), so the kernel hands requests to either worker; the
``X-Mock-Worker`` answer header says which one served each.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.config import Config, ConfigError, NuroMode
from mockserver.store.sqlite import SqliteStore
from tests.http.test_webhooks import Receiver, receiver  # noqa: F401 - the fixture, used below

CLI = [sys.executable, "-m", "mockserver.cli"]
VOCAL = {"type": "vocal", "lyrics": "Hello world, la la la"}
FAILING = {"type": "vocal", "lyrics": "la la #mock:nuro.algorithm_error@10"}
FRESH = {"Connection": "close"}
START_TIMEOUT = 60.0


class Served:
    """A ``musicapi-mock serve`` process: its URL, and a way to kill or stop it."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log

    def client(self, key: str = "k", fresh: bool = False) -> httpx.Client:
        """An API client; ``fresh``: a new connection per request."""
        headers = {"Authorization": f"Bearer {key}", **(FRESH if fresh else {})}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what was committed is all that is left."""
        self.process.kill()
        self.process.wait(timeout=15)

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL of its process group if it does not end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


@contextmanager
def serving(tmp: Path, *args: str, name: str = "server", files: int | None = None) -> Iterator[Served]:
    """Start ``serve --port 0 *args`` (own process group), wait until it answers, stop it afterwards.

    ``files``: the server's limit of open files (soft and hard).
    """
    log = tmp / f"{name}.log"

    def limit_files() -> None:
        if files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))

    with log.open("wb") as out:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", "0", "--log-requests", "off", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=limit_files,  # noqa: PLW1509 - setrlimit only, before exec
        )
    served = Served(process, _wait_for_url(process, log), log)
    try:
        _wait_until_answering(served, int(args[args.index("--workers") + 1]) if "--workers" in args else 1)
        yield served
    finally:
        served.stop()


def _wait_for_url(process: subprocess.Popen[bytes], log: Path) -> str:
    for _ in _bounded("the server to print its URL", process, log):
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if match:
            return match.group(1)
    raise AssertionError("unreachable")


def _wait_until_answering(served: Served, workers: int) -> None:
    """Workers start after the banner (the first requests wait in the socket's backlog meanwhile): wait
    until each has answered once."""
    seen: set[str] = set()
    for _ in _bounded(f"{workers} worker(s) to answer", served.process, served.log):
        try:
            response = httpx.get(f"{served.url}/_mock/clock", headers=FRESH, timeout=5)
        except httpx.HTTPError:
            continue
        seen.add(response.headers.get("x-mock-worker", "single"))
        if response.status_code == 200 and len(seen) == workers:
            return


def _bounded(what: str, process: subprocess.Popen[bytes], log: Path) -> Iterator[None]:
    """Poll (at most :data:`START_TIMEOUT` seconds) for a process to come up; fail with its output."""
    deadline = START_TIMEOUT / 0.05
    for _ in range(int(deadline)):
        if process.poll() is not None:
            raise AssertionError(f"server exited ({process.returncode}) waiting for {what}:\n{log.read_text()}")
        yield
        threading.Event().wait(0.05)
    raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()}")


def until_both_workers(send: Callable[[], httpx.Response], at_least: int = 1, limit: int = 400) -> list[httpx.Response]:
    """Send (fresh connections) until two workers have answered and ``at_least`` requests were sent."""
    responses: list[httpx.Response] = []
    while len(responses) < limit:
        responses.append(send())
        if len(responses) >= at_least and len(workers_of(responses)) == 2:
            return responses
    raise AssertionError(f"{limit} requests on fresh connections all reached one worker: {workers_of(responses)}")


def workers_of(responses: list[httpx.Response]) -> set[str]:
    return {r.headers["x-mock-worker"] for r in responses}


def balance(client: httpx.Client, key: str) -> int:
    body = client.get(f"/_mock/keys/{key}").json()
    return int(body["credits"]) + int(body["extra_credits"])


def check_ledger(client: httpx.Client, key: str, task_ids: set[str]) -> None:
    """Per key: one debit per task, no debit without a task, entries sum to the balance."""
    entries = client.get("/_mock/ledger", params={"api_key": key}).json()["entries"]
    debits = [e["task_id"] for e in entries if e["reason"] == "debit"]
    assert sorted(debits) == sorted(task_ids), "a debit without a task, or a task without (or with two) debits"
    assert sum(e["amount"] for e in entries) == balance(client, key)


# --- one process, a state file ------------------------------------------------------------------------


def snapshot(client: httpx.Client) -> dict[str, Any]:
    return {  # the ledger first: reading it settles refunds that are due, which the task list shows
        "ledger": client.get("/_mock/ledger").json(),
        "tasks": client.get("/_mock/tasks").json(),
        "keys": client.get("/_mock/keys").json(),
        "faults": client.get("/_mock/faults").json(),
        "clock": client.get("/_mock/clock").json(),
        "requests": client.get("/_mock/requests").json(),
        "webhooks": client.get("/_mock/webhooks").json(),
    }


def test_state_survives_a_restart(tmp_path: Path, receiver: Receiver) -> None:  # noqa: F811
    state = tmp_path / "state.sqlite3"
    args = ("--state", str(state), "--clock", "manual", "--nuro", "legacy")
    with serving(tmp_path, *args) as server, server.client() as http:
        http.put("/_mock/keys/k", json={"credits": 100, "extra_credits": 5, "qps": 50}).raise_for_status()
        ok = http.post("/api/v1/nuro/create", json=VOCAL).json()["task_id"]
        failing = http.post("/api/v1/nuro/create", json=FAILING).json()["task_id"]
        clip = http.post("/api/v1/sonic/upload", json={"url": "https://example.com/a.mp3"}).json()["clip_id"]
        hooked = http.post(
            "/api/v1/producer/create", json={"task_type": "create_music", "sound": "x", "webhook_url": receiver.url}
        ).json()["task_id"]
        http.post("/_mock/faults", json={"operation": "nuroGetTask", "error": "nuro.api_error", "times": 3})
        assert http.get(f"/api/v1/nuro/task/{ok}").status_code == 500  # one of three used
        http.post("/_mock/clock/advance", json={"seconds": 45}).raise_for_status()  # the webhook is sent
        assert len(receiver.received) == 1
        before = snapshot(http)
        server.stop()

    with serving(tmp_path, *args, name="again") as server, server.client() as http:
        after = snapshot(http)
        assert after == before  # the clock (manual: stood still), tasks, ledger, keys, rules, journal, webhooks
        assert {t["task_id"] for t in after["tasks"]["tasks"]} == {ok, failing, hooked}
        assert after["faults"]["faults"][0]["remaining"] == 2
        assert len(receiver.received) == 1  # delivered once, not again after the restart
        assert [d["state"] for d in after["webhooks"]["deliveries"]] == ["delivered"]
        statuses = [http.get(f"/api/v1/nuro/task/{ok}").status_code for _ in range(3)]
        assert statuses == [500, 500, 200]  # the rule's two remaining failures, then the task
        # settled (by a ledger read) before the restart, never read: the first read says it was refunded
        first, again = (http.get(f"/api/v1/nuro/task/{failing}").json()["error"] for _ in range(2))
        assert (first["refund_processed"], again["already_refunded"]) == (True, True)
        extended = http.post(
            "/api/v1/sonic/create",
            json={
                "task_type": "extend_upload_music",
                "continue_clip_id": clip,
                "custom_mode": True,
                "continue_at": 10,
                "mv": "sonic-v4-5",
                "prompt": "[Verse] more",
                "tags": "pop",
            },
        )
        assert extended.status_code == 200, extended.text  # the uploaded clip is still known
        new = http.post("/api/v1/nuro/create", json=VOCAL).json()["task_id"]
        assert new not in {ok, failing, hooked, clip}  # the id sequence carried on
        seqs = [e["seq"] for e in http.get("/_mock/ledger").json()["entries"]]
        assert seqs == list(range(1, len(seqs) + 1))  # the ledger's numbering carried on too
        check_ledger(http, "k", {ok, failing, clip, hooked, extended.json()["task_id"], new})


def test_sigkill_during_creates_loses_nothing_that_was_answered(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    args = ("--state", str(state), "--clock", "manual", "--nuro", "legacy", "--initial-credits", "1000000")
    keys = [f"key-{n}" for n in range(8)]
    answered: dict[str, list[str]] = {key: [] for key in keys}
    count = threading.Semaphore(0)
    with serving(tmp_path, *args) as server:

        def load(key: str) -> None:
            with server.client(key) as http:
                for n in range(5000):  # bounded; ends at the kill, long before this
                    body = FAILING if n % 7 == 3 else VOCAL
                    try:
                        response = http.post("/api/v1/nuro/create", json=body)
                    except httpx.HTTPError:
                        return
                    assert response.status_code == 200, response.text
                    answered[key].append(response.json()["task_id"])
                    count.release()

        threads = [threading.Thread(target=load, args=(key,)) for key in keys]
        for thread in threads:
            thread.start()
        for _ in range(400):  # creates answered before the kill
            assert count.acquire(timeout=60), "the load stalled"
        server.kill()
        for thread in threads:
            thread.join(timeout=60)

    with serving(tmp_path, *args, name="after-kill") as server, server.client() as http:
        for key in keys:
            stored = {t["task_id"] for t in http.get("/_mock/tasks", params={"api_key": key}).json()["tasks"]}
            assert set(answered[key]) <= stored, "a create answered 200 was lost"
            assert len(stored) <= len(answered[key]) + 1, "more than the one create in flight per client was kept"
            check_ledger(http, key, stored)
        http.post("/_mock/clock/advance", json={"seconds": 300}).raise_for_status()
        for key in keys:  # the failed ones are refunded once, from the restarted state
            entries = http.get("/_mock/ledger", params={"api_key": key}).json()["entries"]
            refunds = [e["task_id"] for e in entries if e["reason"] == "refund"]
            assert len(refunds) == len(set(refunds)) > 0
            assert sum(e["amount"] for e in entries) == balance(http, key)
    with closing(sqlite3.connect(state)) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_one_file_one_server(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    with serving(tmp_path, "--state", str(state)):
        for workers in ("1", "2"):
            second = subprocess.run(
                [*CLI, "serve", "--port", "0", "--state", str(state), "--workers", workers],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert second.returncode == 2 and "in use by another process" in second.stderr


def test_unusable_state_files_are_refused(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.sqlite3"
    with closing(sqlite3.connect(foreign)) as other:
        other.execute("CREATE TABLE notes (text TEXT)")
        other.commit()
    with pytest.raises(ConfigError, match="not a musicapi-mock one"):
        SqliteStore(str(foreign))
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ConfigError, match="not a usable musicapi-mock state file"):
        SqliteStore(str(garbage))
    newer = tmp_path / "newer.sqlite3"
    SqliteStore(str(newer)).close()
    with closing(sqlite3.connect(newer)) as other:
        other.execute("PRAGMA user_version = 99")
    with pytest.raises(ConfigError, match="another version"):
        SqliteStore(str(newer))
    result = subprocess.run(
        [*CLI, "serve", "--port", "0", "--state", str(foreign)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "not a musicapi-mock one" in result.stderr


def test_config_crosses_to_workers_as_json() -> None:
    config = Config(
        clock="manual",
        nuro=NuroMode.parse("2030-01-01T00:00:00Z"),
        seed=9,
        costs={"nuroCreate": 3},
        default_qps=2.5,
        scenarios=("a.yaml",),
        webhook_allow=("hooks.test",),
        state="/tmp/x",
        workers=3,
    )
    assert Config.from_json(config.to_json()) == config
    with pytest.raises(ConfigError, match="unknown configuration field"):
        Config.from_json('{"colour": "blue"}')


# --- several workers over one file -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``serve --state FILE --workers 2`` (manual clock, Nuro legacy), shared by this module."""
    tmp = tmp_path_factory.mktemp("workers")
    with serving(
        tmp, "--state", str(tmp / "state.sqlite3"), "--workers", "2", "--clock", "manual", "--nuro", "legacy"
    ) as server:
        yield server


@pytest.fixture
def fresh(workers: Served) -> Iterator[httpx.Client]:
    """A client of the two-worker server, after a reset, opening a new connection per request."""
    with workers.client(fresh=True) as client:
        client.post("/_mock/reset").raise_for_status()
        yield client


def test_a_task_created_through_one_worker_is_found_through_every_worker(fresh: httpx.Client) -> None:
    created = until_both_workers(lambda: fresh.post("/api/v1/nuro/create", json=VOCAL), at_least=20)
    assert [r.text for r in created if r.status_code != 200] == []
    task_ids = [r.json()["task_id"] for r in created]
    assert len(set(task_ids)) == len(task_ids), "two workers handed out the same id"
    for task_id in task_ids:  # each task polled until both workers have answered for it

        def poll(task_id: str = task_id) -> httpx.Response:
            return fresh.get(f"/api/v1/nuro/task/{task_id}")

        polls = until_both_workers(poll, limit=50)
        assert {(p.status_code, p.json()["task_id"], p.json()["status"]) for p in polls} == {(200, task_id, "pending")}
    check_ledger(fresh, "k", set(task_ids))


async def _burst(url: str, key: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=60
    ) as client:
        return list(await asyncio.gather(*(client.post("/api/v1/nuro/create", json=b) for b in bodies)))


def test_fifty_concurrent_clients_conserve_credits_across_workers(workers: Served, fresh: httpx.Client) -> None:
    """As tests/test_ledger.py's, against two workers: never negative, each accepted task debited once,
    each failed one refunded once, start == balance + debits - refunds, queue capacity held."""
    fresh.put("/_mock/keys/k", json={"credits": 250, "queue_capacity": 15}).raise_for_status()
    accepted: list[str] = []
    served_by: set[str] = set()
    for _round in range(3):
        responses = asyncio.run(_burst(workers.url, "k", [FAILING if i % 2 else VOCAL for i in range(50)]))
        served_by |= workers_of(responses)
        ok = [r for r in responses if r.status_code == 200]
        assert len(ok) <= 15, "queue capacity exceeded across workers"
        for rejected in (r.json() for r in responses if r.status_code != 200):
            assert rejected["message"] in (
                "Queue is full",
                "The remaining credits are not enough. You can buy more one-time credit packs or subscribe.",
            )
            assert rejected.get("refund_processed", True) is True
        accepted += [r.json()["task_id"] for r in ok]
        assert balance(fresh, "k") >= 0
        fresh.post("/_mock/clock/advance", json={"seconds": 200}).raise_for_status()
    assert len(served_by) == 2, "the bursts reached one worker only"
    for task_id in accepted:  # reads settle refunds, on either worker; a second read must not refund again
        for _ in range(2):
            assert fresh.get(f"/api/v1/nuro/task/{task_id}").status_code == 200

    ledger = fresh.get("/_mock/ledger", params={"api_key": "k"}).json()
    entries, totals = ledger["entries"], ledger["totals"]
    running = 0
    for entry in entries:
        running += entry["amount"]
        assert running >= 0, "the balance went negative"
    debits = [e["task_id"] for e in entries if e["reason"] == "debit" and e["task_id"] in accepted]
    assert sorted(debits) == sorted(accepted), "every accepted task debited exactly once"
    refunded = [e["task_id"] for e in entries if e["reason"] == "refund" and e["task_id"] in accepted]
    failed = [t for t in accepted if fresh.get(f"/_mock/tasks/{t}").json()["status"] == "failed"]
    assert sorted(refunded) == sorted(failed), "each failed task refunded exactly once"
    assert 0 < len(failed) < len(accepted)
    assert 250 == balance(fresh, "k") + totals["debited"] - totals["refunded"]
    assert totals["balance"] == balance(fresh, "k")


def test_qps_limit_holds_across_workers(fresh: httpx.Client) -> None:
    """qps=2 on a manual clock: two requests in all are admitted, whichever worker serves them."""
    fresh.put("/_mock/keys/k", json={"qps": 2}).raise_for_status()
    responses = until_both_workers(lambda: fresh.get("/api/v1/nuro/task/none"), at_least=3)
    statuses = [r.status_code for r in responses]
    assert statuses.count(404) == 2 and statuses.count(403) == len(statuses) - 2, statuses
    fresh.post("/_mock/clock/advance", json={"seconds": 1}).raise_for_status()
    assert [fresh.get("/api/v1/nuro/task/none").status_code for _ in range(3)] == [404, 404, 403]


def test_fault_rules_and_their_counts_are_shared(fresh: httpx.Client) -> None:
    fresh.post("/_mock/faults", json={"operation": "nuroGetTask", "error": "nuro.api_error", "times": 3})
    responses = until_both_workers(lambda: fresh.get("/api/v1/nuro/task/none"), at_least=8)
    assert [r.status_code for r in responses].count(500) == 3
    for listing in until_both_workers(lambda: fresh.get("/_mock/faults")):
        assert [(f["hits"], f["remaining"]) for f in listing.json()["faults"]] == [(3, 0)]


def test_clock_advance_is_seen_by_every_worker(fresh: httpx.Client) -> None:
    start = fresh.get("/_mock/clock").json()["epoch"]
    moved = fresh.post("/_mock/clock/advance", json={"seconds": 1000})
    reads = until_both_workers(lambda: fresh.get("/_mock/clock"), at_least=10)
    assert {round(r.json()["epoch"] - start, 3) for r in reads} == {1000}
    assert any(r.headers["x-mock-worker"] != moved.headers["x-mock-worker"] for r in reads)


def test_reset_clears_every_worker(fresh: httpx.Client) -> None:
    created = until_both_workers(lambda: fresh.post("/api/v1/nuro/create", json=VOCAL), at_least=4)
    fresh.post("/_mock/faults", json={"operation": "nuroCreate", "error": "nuro.api_error", "times": 9})
    fresh.post("/_mock/clock/advance", json={"seconds": 100}).raise_for_status()
    fresh.post("/_mock/reset").raise_for_status()
    for response in created:
        assert fresh.get(f"/api/v1/nuro/task/{response.json()['task_id']}").status_code == 404
    assert fresh.get("/_mock/tasks").json()["tasks"] == []
    assert fresh.get("/_mock/faults").json()["faults"] == []
    assert {r.json()["credits"] for r in until_both_workers(lambda: fresh.get("/api/v1/get-credits"))} == {1000}
    assert len({r.json()["epoch"] for r in until_both_workers(lambda: fresh.get("/_mock/clock"))}) == 1


def test_each_webhook_event_is_sent_once_by_one_worker(fresh: httpx.Client, receiver: Receiver) -> None:  # noqa: F811
    created: list[str] = []
    for _round in range(3):  # both workers run a dispatcher; each event must still be sent once
        created += [
            r.json()["task_id"]
            for r in until_both_workers(
                lambda: fresh.post(
                    "/api/v1/producer/create",
                    json={"task_type": "create_music", "sound": "x", "webhook_url": receiver.url},
                ),
                at_least=4,
            )
        ]
        fresh.post("/_mock/clock/advance", json={"seconds": 60}).raise_for_status()  # delivered before it answers
        ids = [r["headers"]["x-webhook-id"] for r in receiver.received]
        assert len(ids) == len(created) == len(set(ids))
    delivered = [d["task_id"] for d in fresh.get("/_mock/webhooks").json()["deliveries"] if d["state"] == "delivered"]
    assert sorted(delivered) == sorted(created)


def test_workers_without_a_state_file_share_a_temporary_one(tmp_path: Path) -> None:
    with serving(tmp_path, "--workers", "2", "--clock", "manual", "--nuro", "legacy") as server:
        match = re.search(r"state: +(\S+) \(SQLite\) +workers: 2", server.log.read_text())
        assert match, server.log.read_text()
        temporary = Path(match.group(1))
        assert temporary.exists()
        with server.client(fresh=True) as http:
            created = until_both_workers(lambda: http.post("/api/v1/nuro/create", json=VOCAL), at_least=2)
            for response in created:
                assert response.status_code == 200, response.text
                assert http.get(f"/api/v1/nuro/task/{response.json()['task_id']}").status_code == 200
        server.stop()
        assert server.process.returncode == 0
    assert not temporary.exists() and not temporary.parent.exists()


def test_a_create_whose_commit_fails_is_answered_as_an_error_and_leaves_no_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mockserver.testing import MockServer

    config = Config(clock="manual", nuro=NuroMode.parse("legacy"), state=str(tmp_path / "state.db"))
    with MockServer(config, api_key="sk_commit_fails") as server:
        store: Any = server.app.state.mock.ctx.store
        real_end = store._end
        failures = [True]

        def end(commit: bool) -> None:
            if commit and failures and failures.pop():
                real_end(False)  # the disk refused it: nothing of the transaction is kept
                raise sqlite3.OperationalError("disk I/O error")
            real_end(commit)

        before = server.control.balance()["credits"]
        with httpx.Client(base_url=server.url, headers=server.headers) as http:
            monkeypatch.setattr(store, "_end", end)
            refused = http.post("/api/v1/nuro/create", json=VOCAL)
            accepted = http.post("/api/v1/nuro/create", json=VOCAL)
        assert refused.status_code == 500, refused.text
        assert refused.headers["x-mock-error-id"] == "request.internal"
        assert set(refused.json()) == {"type", "message"}  # Nuro's error format, no traceback
        assert accepted.status_code == 200, accepted.text
        # only the second create was saved: one task, one debit
        assert [t["task_id"] for t in server.control.tasks()] == [accepted.json()["task_id"]]
        assert before - server.control.balance()["credits"] == 10
