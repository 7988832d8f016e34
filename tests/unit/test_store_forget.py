"""Retention: both stores forget expired tasks oldest first, a few at a time, never one owed a refund."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.engine.lifecycle import Span, Timing, plan
from mockserver.engine.ports import Store
from mockserver.engine.records import Entry, Watch
from mockserver.ids import Draws
from mockserver.store.memory import MemoryStore
from mockserver.store.sqlite import SqliteStore

TIMING = Timing(Span(1, 1), Span(2, 2))


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store = MemoryStore() if request.param == "memory" else SqliteStore(str(tmp_path / "s.sqlite3"))
    yield opened
    opened.close()


def put(store: Store, n: int, *, failing: bool = False) -> str:
    task = plan(
        task_id=f"t{n}",
        family="fam",
        api_key="k",
        now=float(n),
        timing=TIMING,
        rng=Draws(str(n)),
        result={},
        failure=("x.failed", 50) if failing else None,
        charged=(10, 0),
    )
    store.put_task(task)
    store.put_watch(Watch(task.id, "http://127.0.0.1:9/h", "s", "p", "http://m"))
    return task.id


def test_expired_tasks_go_oldest_first_within_the_limit(store: Store) -> None:
    for n in range(10):
        put(store, n)
    assert store.forget_tasks(created_before=6.0, limit=4) == 4
    assert [t.id for t in store.tasks()] == [f"t{n}" for n in range(4, 10)]
    assert store.forget_tasks(created_before=6.0, limit=4) == 2
    assert store.forget_tasks(created_before=6.0, limit=4) == 0
    assert store.task_count() == 4 and [w.task_id for w in store.watches()] == [f"t{n}" for n in range(6, 10)]


def test_a_task_owed_a_refund_stays_until_it_is_refunded(store: Store) -> None:
    owed = put(store, 0, failing=True)
    put(store, 1)
    assert store.forget_tasks(created_before=5.0, limit=10) == 1
    assert store.get_task(owed) is not None and store.unsettled_task_ids("k") == [owed]
    store.add_entry(Entry(0, "k", "refund", 10, 0, 3.0, owed))
    assert store.forget_tasks(created_before=5.0, limit=10) == 1 and store.task_count() == 0
