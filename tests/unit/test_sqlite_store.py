"""The SQLite store on its own: transactions, commits per request, sequences, the journal's bounds."""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.catalog import CATALOG
from mockserver.engine.records import Account, Entry
from mockserver.errors import MockError, StoreError
from mockserver.store.sqlite import SqliteStore


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "state.sqlite3")


@pytest.fixture
def store(path: str) -> Iterator[SqliteStore]:
    opened = SqliteStore(path, journal_size=5)
    yield opened
    opened.close()


def record(n: int) -> dict[str, object]:
    return {
        "instant": float(n),
        "method": "GET",
        "path": f"/p/{n}",
        "operation": "op",
        "status": 200,
        "api_key": "k" if n % 2 else "other",
        "error_id": None,
    }


def test_a_domain_error_commits_what_came_before_it_anything_else_rolls_back(store: SqliteStore) -> None:
    with pytest.raises(MockError), store.transaction():
        store.put_account(Account("kept", 5))
        store.add_entry(Entry(0, "kept", "grant", 5, 0, 1.0))
        raise MockError(CATALOG["nuro.queue_full"])
    with pytest.raises(ZeroDivisionError), store.transaction():
        store.put_account(Account("dropped", 5))
        store.add_entry(Entry(0, "dropped", "grant", 5, 0, 1.0))
        print(1 / 0)
    assert [a.api_key for a in store.accounts()] == ["kept"]
    assert store.get_account("dropped") is None  # the cache forgot it too
    assert [(e.seq, e.api_key) for e in store.entries()] == [(1, "kept")]


def test_a_task_is_refunded_at_most_once_whatever_the_caller_does(store: SqliteStore) -> None:
    store.add_entry(Entry(0, "k", "refund", 10, 0, 1.0, "task-1"))
    with pytest.raises(Exception, match="UNIQUE"):
        store.add_entry(Entry(0, "k", "refund", 10, 0, 2.0, "task-1"))
    assert len(store.entries("k")) == 1


def test_a_request_makes_one_commit_and_answers_only_after_it(path: str) -> None:
    writer, reader = SqliteStore(path, shared=True), SqliteStore(path, shared=True)
    statements: list[str] = []
    writer._conn.set_trace_callback(statements.append)

    async def one_request() -> None:
        with writer.request():
            with writer.transaction():
                writer.put_account(Account("k", 7))
            writer.journal(record(1))
        pending = writer.settled()
        assert pending is not None  # held for the turn's group: not committed yet
        assert reader.get_account("k") is None
        await pending
        assert reader.get_account("k") == Account("k", 7)  # committed: another process sees it

    asyncio.run(one_request())
    assert [s for s in statements if s in ("BEGIN IMMEDIATE", "COMMIT")] == ["BEGIN IMMEDIATE", "COMMIT"]
    assert [r["path"] for r in reader.journal_entries()] == ["/p/1"]
    writer.close()
    reader.close()


@pytest.mark.parametrize("shared", [True, False])
def test_the_requests_of_one_turn_share_one_commit(path: str, shared: bool) -> None:
    writer = SqliteStore(path, shared=shared)
    statements: list[str] = []
    writer._conn.set_trace_callback(statements.append)
    answered: list[int] = []

    async def one_request(n: int) -> None:
        with writer.request():
            with writer.transaction():
                writer.put_account(Account(f"k{n}", n))
            writer.journal(record(n))
        pending = writer.settled()
        assert pending is not None
        await pending
        assert "COMMIT" in statements  # nobody answers before the commit
        answered.append(n)

    async def turn() -> None:
        await asyncio.gather(*(one_request(n) for n in range(10)))

    asyncio.run(turn())
    assert sorted(answered) == list(range(10))
    assert statements.count("COMMIT") == 1 and statements.count("BEGIN IMMEDIATE") == 1
    assert {a.api_key for a in writer.accounts()} == {f"k{n}" for n in range(10)}
    assert len(writer.journal_entries()) == 10
    writer.close()


def test_a_crash_in_a_turn_fails_every_request_of_its_group(path: str) -> None:
    writer = SqliteStore(path)
    outcomes: list[str] = []

    async def one_request(n: int) -> None:
        try:
            with writer.request(), writer.transaction():
                writer.put_account(Account(f"k{n}", n))
                if n == 2:
                    raise ZeroDivisionError  # not a domain outcome: the whole open transaction rolls back
        except ZeroDivisionError:
            outcomes.append("crashed")
            return
        pending = writer.settled()
        try:
            if pending is not None:
                await pending
            outcomes.append("saved")
        except StoreError:
            outcomes.append("not saved")

    async def turn() -> None:
        await asyncio.gather(*(one_request(n) for n in range(4)))

    asyncio.run(turn())
    saved = {a.api_key for a in writer.accounts()}
    # the two before the crash rode in its transaction and are told so; the one after it starts afresh
    assert outcomes.count("crashed") == 1
    assert outcomes.count("saved") == len(saved) and saved == {"k3"}
    assert outcomes.count("not saved") == 2
    writer.close()


def test_a_request_that_pauses_commits_before_it_pauses(path: str) -> None:
    writer, reader = SqliteStore(path, shared=True), SqliteStore(path, shared=True)

    async def one_request() -> None:
        with writer.request():
            with writer.transaction():
                writer.put_account(Account("k", 7))
            await asyncio.sleep(0)  # another request may run now: this one's writes are in
            assert reader.get_account("k") == Account("k", 7)

    asyncio.run(one_request())
    writer.close()
    reader.close()


def test_workers_never_hand_out_the_same_number(path: str) -> None:
    stores = [SqliteStore(path, shared=True) for _ in range(3)]
    drawn: list[list[int]] = [[] for _ in stores]

    def draw(index: int) -> None:
        for _ in range(300):
            drawn[index].append(stores[index].next_sequence("id"))

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(n for numbers in drawn for n in numbers) == list(range(1, 901))
    for opened in stores:
        opened.close()


def test_a_single_process_sequence_carries_on_after_a_restart_and_restarts_after_a_clear(path: str) -> None:
    first = SqliteStore(path)
    assert [first.next_sequence("id") for _ in range(3)] == [1, 2, 3]
    first.close()
    again = SqliteStore(path)
    later = again.next_sequence("id")
    assert later > 3  # numbers reserved by the last run are never handed out again
    again.clear()
    assert again.next_sequence("id") == 1
    again.close()


def test_the_journal_keeps_its_last_records(store: SqliteStore) -> None:
    for n in range(1, 301):
        store.journal(record(n))
    rows = store.journal_entries()
    assert [(r["seq"], r["path"]) for r in rows] == [(n, f"/p/{n}") for n in range(296, 301)]
    assert [r["seq"] for r in store.journal_entries("k", limit=2)] == [297, 299]
    assert store._conn.execute("SELECT count(*) FROM journal").fetchone()[0] < 300  # trimmed on the way


def test_a_schema_1_file_is_migrated_in_place(tmp_path: Path) -> None:
    """A state file written before the feed and download refs existed opens, keeps its data, and gains them."""
    import sqlite3

    path = str(tmp_path / "old.sqlite3")
    store = SqliteStore(path)
    store.put_account(Account("sk_old", 7))
    store.close()
    conn = sqlite3.connect(path)
    conn.executescript(
        "DROP TABLE refs; DROP INDEX clips_by_key; DROP INDEX tasks_by_age; ALTER TABLE journal DROP COLUMN detail; "
        "INSERT INTO journal (instant, method, path, operation, status) VALUES (1.0, 'GET', '/p', 'op', 200); "
        "PRAGMA user_version = 1;"
    )
    conn.close()
    reopened = SqliteStore(path)
    try:
        account = reopened.get_account("sk_old")
        assert account is not None and account.credits == 7
        reopened.put_ref("download/x", "task-1")
        assert reopened.get_ref("download/x") == "task-1" and reopened.clips_of("sk_old", 10) == []
        (old_entry,) = reopened.journal_entries()
        assert old_entry["path"] == "/p" and old_entry["detail"] is None  # journaled before details were kept
    finally:
        reopened.close()
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == 4


def test_a_worker_waits_for_the_other_workers_turn_without_blocking_its_event_loop(path: str) -> None:
    a, b = SqliteStore(path, shared=True), SqliteStore(path, shared=True)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:  # another worker, in the middle of a write
        with a.transaction():
            a.put_account(Account("a", 1))
            holding.set()
            release.wait(5)

    other = threading.Thread(target=hold)
    other.start()
    assert holding.wait(5)
    seen_waiting: list[bool] = []

    async def main() -> None:
        pending = b.writable()
        assert pending is not None  # the other worker's turn

        async def meanwhile() -> None:  # this loop still runs while the request waits
            for _ in range(3):
                seen_waiting.append(not asyncio.ensure_future(pending).done())
                await asyncio.sleep(0.01)
            release.set()

        await asyncio.gather(pending, meanwhile())
        assert b.writable() is None  # this worker's turn now
        with b.request(), b.transaction():
            b.put_account(Account("b", 2))
        settled = b.settled()
        if settled is not None:
            await settled

    asyncio.run(main())
    other.join()
    assert seen_waiting == [True, True, True]
    assert {account.api_key for account in b.accounts()} == {"a", "b"}
    a.close()
    b.close()


def test_a_turn_taken_for_a_request_that_writes_nothing_goes_back(path: str) -> None:
    a, b = SqliteStore(path, shared=True), SqliteStore(path, shared=True)

    probe = os.open(f"{path}-lock", os.O_RDWR)

    def free() -> bool:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(probe, fcntl.LOCK_UN)
        return True

    async def main() -> None:
        assert b.writable() is None  # free: taken at once
        assert not free()
        await asyncio.sleep(0)  # the request wrote nothing: the turn goes back
        await asyncio.sleep(0)
        assert free()

    asyncio.run(main())
    with a.transaction():
        a.put_account(Account("a", 1))
    assert [account.api_key for account in b.accounts()] == ["a"]
    os.close(probe)
    a.close()
    b.close()


def test_reading_the_journal_sees_the_records_of_the_turn_not_yet_committed(path: str) -> None:
    store = SqliteStore(path)

    async def turn() -> None:
        with store.request():
            with store.transaction():
                store.put_account(Account("k", 1))
            store.journal(record(1))
        # a second request of the same turn (the control plane's journal read) joins the held group
        with store.request():
            paths = [r["path"] for r in store.journal_entries()]
        assert paths == ["/p/1"]
        settled = store.settled()
        if settled is not None:
            await settled

    asyncio.run(turn())
    store.close()
