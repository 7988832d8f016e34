"""A fleet of mock processes over one PostgreSQL database (``serve --state postgresql://…``).

A real PostgreSQL server is started by the suite itself (:mod:`mockserver.pgcluster`: ``initdb`` and
``pg_ctl`` in a temporary directory, 127.0.0.1 only), and every mock is a ``musicapi-mock serve``
process of its own: creates through one, polls, clock moves and refunds through the others, 200
concurrent creates on a key with room for 20, a ``kill -9`` under load, webhooks sent once by the fleet,
and the schema created and versioned by the mock itself.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from mockserver.errors import ConfigError
from mockserver.pgcluster import PgCluster
from tests.http.test_webhooks import Receiver, receiver  # noqa: F401 - the fixture, used below
from tests.server.test_durable import CLI, Served, serving

PRODUCER = {"task_type": "create_music", "sound": "calm piano", "mv": "FUZZ-2.0"}
PRICE = 10
#: CI sets this: a machine without PostgreSQL fails these tests instead of skipping them.
REQUIRE = os.environ.get("MUSICAPI_MOCK_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    """One PostgreSQL server for the module."""
    try:
        pg = PgCluster().start()
    except ConfigError as exc:
        if REQUIRE:
            raise
        pytest.skip(f"no PostgreSQL server here ({exc}); CI installs it")
    yield pg
    pg.stop()


@pytest.fixture(scope="module")
def fleet(cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Served]]:
    """Three mock processes (manual clock) over one database."""
    url = cluster.create_database()
    tmp = tmp_path_factory.mktemp("fleet")
    with (
        serving(tmp, "--state", url, "--clock", "manual", name="a") as a,
        serving(tmp, "--state", url, "--clock", "manual", name="b") as b,
        serving(tmp, "--state", url, "--clock", "manual", name="c") as c,
    ):
        yield [a, b, c]


def put_key(served: Served, key: str, **fields: Any) -> None:
    """Open (or change) an account through the control plane."""
    httpx.put(f"{served.url}/_mock/keys/{key}", json=fields, timeout=30).raise_for_status()


def balance(served: Served, key: str) -> int:
    """``credits + extra_credits`` of a key, read through ``served``."""
    body = httpx.get(f"{served.url}/api/v1/get-credits", headers={"Authorization": f"Bearer {key}"}).json()
    return int(body["credits"]) + int(body["extra_credits"])


def test_each_instance_names_itself(fleet: list[Served]) -> None:
    """``X-Mock-Worker`` is host:pid, different for each instance."""
    names = {
        httpx.get(f"{s.url}/api/v1/get-credits", headers={"Authorization": "Bearer k"}).headers.get("x-mock-worker")
        for s in fleet
    }
    assert len(names) == 3 and all(name and ":" in name for name in names), names


def test_a_task_made_on_one_instance_is_polled_failed_and_refunded_through_the_others(fleet: list[Served]) -> None:
    """Create through A; fail it and move the clock through C; poll through B: FAILED, refunded once."""
    a, b, c = fleet
    key = "sk_fleet_refund"
    put_key(a, key, credits=100)
    with a.client(key) as http:
        made = http.post("/api/v1/producer/create", json=PRODUCER)
    assert made.status_code == 200, made.text
    task_id = made.json()["task_id"]
    assert balance(b, key) == 100 - PRICE
    with b.client(key) as http:
        assert http.get(f"/api/v1/producer/task/{task_id}").json()["status"] in ("PENDING", "RUNNING")
    httpx.post(f"{c.url}/_mock/tasks/{task_id}/fail", json={"error": "producer.timeout"}).raise_for_status()
    httpx.post(f"{c.url}/_mock/clock/advance", json={"seconds": 600}).raise_for_status()
    with b.client(key) as http:
        reads = [http.get(f"/api/v1/producer/task/{task_id}").json() for _ in range(2)]
    assert [r["status"] for r in reads] == ["FAILED", "FAILED"], reads
    assert balance(c, key) == 100
    ledger = httpx.get(f"{a.url}/_mock/ledger", params={"api_key": key}).json()
    assert [e["reason"] for e in ledger["entries"]] == ["grant", "adjust", "debit", "refund"], ledger["entries"]
    assert httpx.get(f"{b.url}/_mock/clock").json()["epoch"] == httpx.get(f"{a.url}/_mock/clock").json()["epoch"]


async def _creates(fleet: list[Served], key: str, count: int) -> list[httpx.Response]:
    clients = [httpx.AsyncClient(base_url=s.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) for s in fleet]
    try:
        return list(
            await asyncio.gather(
                *(clients[i % len(clients)].post("/api/v1/producer/create", json=PRODUCER) for i in range(count))
            )
        )
    finally:
        for client in clients:
            await client.aclose()


@pytest.mark.parametrize("room", ["credits", "queue"])
def test_two_hundred_concurrent_creates_on_a_key_with_room_for_twenty(fleet: list[Served], room: str) -> None:
    """Spread over three instances: exactly 20 accepted, the others refused with the documented error,
    the balance exact (credits for 20 creates, or a queue of 20)."""
    key = f"sk_fleet_room_{room}"
    if room == "credits":
        put_key(fleet[0], key, credits=20 * PRICE)
    else:
        put_key(fleet[0], key, credits=10_000, queue_capacity=20)
    responses = asyncio.run(_creates(fleet, key, 200))
    statuses = [r.status_code for r in responses]
    accepted = [r.json()["task_id"] for r in responses if r.status_code == 200]
    assert len(accepted) == 20 == len(set(accepted)), statuses
    expected = {"credits": "producer.insufficient_credits", "queue": "producer.queue_full"}[room]
    assert {r.headers.get("x-mock-error-id") for r in responses if r.status_code != 200} == {expected}
    start = 20 * PRICE if room == "credits" else 10_000
    assert [balance(s, key) for s in fleet] == [start - 20 * PRICE] * 3
    totals = httpx.get(f"{fleet[1].url}/_mock/ledger", params={"api_key": key}).json()["totals"]
    assert totals["debited"] - totals["refunded"] == 20 * PRICE, totals


def test_kill_9_of_one_instance_under_load_loses_no_acknowledged_create(
    cluster: PgCluster, fleet: list[Served], tmp_path: Path
) -> None:
    """A fourth instance takes creates from 16 clients and is killed with SIGKILL mid-run: every create
    it answered 200 is there, with its debit, when read through another instance."""
    key = "sk_fleet_kill"
    put_key(fleet[0], key, credits=1_000_000)
    url = _database_of(fleet[0])
    acknowledged: list[str] = []

    async def load(target: Served, stop_at: float) -> None:
        async with httpx.AsyncClient(base_url=target.url, headers={"Authorization": f"Bearer {key}"}) as http:

            async def client() -> None:
                while time.monotonic() < stop_at:
                    try:
                        response = await http.post("/api/v1/producer/create", json=PRODUCER)
                    except httpx.HTTPError:
                        return  # the instance is gone
                    if response.status_code == 200:
                        acknowledged.append(response.json()["task_id"])

            await asyncio.gather(*(client() for _ in range(16)))

    with serving(tmp_path, "--state", url, "--clock", "manual", name="victim") as victim:

        async def run() -> None:
            task = asyncio.create_task(load(victim, time.monotonic() + 10))
            await asyncio.sleep(1.5)
            victim.kill()
            await task

        asyncio.run(run())
    assert len(acknowledged) > 20, f"too little load to prove anything: {len(acknowledged)} creates"
    with fleet[1].client(key) as http:
        missing = [t for t in acknowledged if http.get(f"/api/v1/producer/task/{t}").status_code != 200]
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged creates were lost"
    entries = httpx.get(f"{fleet[2].url}/_mock/ledger", params={"api_key": key}).json()["entries"]
    debited = {e["task_id"] for e in entries if e["reason"] == "debit"}
    assert set(acknowledged) <= debited
    assert balance(fleet[2], key) == 1_000_000 - PRICE * len(debited)


def test_each_webhook_event_is_sent_once_by_the_fleet(fleet: list[Served], receiver: Receiver) -> None:  # noqa: F811
    """Every instance runs a dispatcher; each event still reaches the receiver exactly once."""
    key = "sk_fleet_hooks"
    created = []
    for index in range(9):
        with fleet[index % 3].client(key) as http:
            made = http.post("/api/v1/producer/create", json={**PRODUCER, "webhook_url": receiver.url})
        assert made.status_code == 200, made.text
        created.append(made.json()["task_id"])
    for served in fleet:
        httpx.post(f"{served.url}/_mock/clock/advance", json={"seconds": 200}).raise_for_status()
    deadline = time.monotonic() + 20
    while len(receiver.received) < len(created) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # a duplicate would arrive in this time
    ids = [r["headers"]["x-webhook-id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == len(created), ids


def _database_of(served: Served) -> str:
    """The ``--state`` URL a served instance was started with."""
    args = served.process.args
    assert isinstance(args, list)
    return str(args[args.index("--state") + 1])


def test_the_schema_is_created_on_first_start_and_another_version_is_refused(
    cluster: PgCluster, tmp_path: Path
) -> None:
    """An empty database gets the schema from the first instance; a database of another schema version
    is refused with a clear message (exit 2, no traceback)."""
    import subprocess

    name = "mock_fresh_schema"
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}".encode())
    url = cluster.url(name)
    with serving(tmp_path, "--state", url, name="first") as first, first.client("sk_schema") as http:
        assert http.post("/api/v1/producer/create", json=PRODUCER).status_code == 200
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == ("1",)
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (1,)
        conn.execute("UPDATE meta SET value = '999' WHERE name = 'schema_version'")
    done = subprocess.run([*CLI, "serve", "--port", "0", "--state", url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "schema 999" in done.stderr and "Traceback" not in done.stderr, done.stderr
    bad = subprocess.run(
        [*CLI, "serve", "--port", "0", "--state", "postgresql://postgres@127.0.0.1:1/nothing"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "cannot connect to PostgreSQL" in bad.stderr and "Traceback" not in bad.stderr


def test_the_fleet_compose_example_runs_instances_that_agree(cluster: PgCluster, tmp_path: Path) -> None:
    """``examples/fleet/compose.yaml``: its mock environment, as the image's CMD reads it, over a database
    of the test server — two instances agree; nginx balances over the service's name and port."""
    import yaml

    from tests.server.test_container import ROOT, run_like_the_image

    compose = yaml.safe_load((ROOT / "examples" / "fleet" / "compose.yaml").read_text())
    assert compose["services"]["musicapi-mock"]["build"]["args"]["EXTRAS"] == "postgres"
    environment = {k: str(v) for k, v in compose["services"]["musicapi-mock"]["environment"].items()}
    assert environment["MUSICAPI_MOCK_STATE"].startswith("postgresql://")
    environment["MUSICAPI_MOCK_STATE"] = cluster.create_database()  # the postgres service's database, here
    token = {"Authorization": f"Bearer {environment['MUSICAPI_MOCK_CONTROL_TOKEN']}"}
    first, url_a, _ = run_like_the_image(environment, tmp_path)
    second, url_b, _ = run_like_the_image(environment, tmp_path)
    try:
        made = httpx.post(f"{url_a}/api/v1/producer/create", json=PRODUCER, headers={"Authorization": "Bearer sk_c"})
        assert made.status_code == 200, made.text
        polled = httpx.get(
            f"{url_b}/api/v1/producer/task/{made.json()['task_id']}", headers={"Authorization": "Bearer sk_c"}
        )
        assert polled.status_code == 200 and polled.json()["status"] in ("PENDING", "RUNNING", "SUCCESS")
        assert httpx.get(f"{url_b}/_mock/clock", headers=token).json()["profile"] == environment["MUSICAPI_MOCK_CLOCK"]
    finally:
        for process in (first, second):
            process.terminate()
            process.communicate(timeout=20)
    nginx = (ROOT / "examples" / "fleet" / "nginx.conf").read_text()
    assert "server musicapi-mock:8000 resolve;" in nginx and compose["services"]["balancer"]["ports"] == ["8000:8000"]
