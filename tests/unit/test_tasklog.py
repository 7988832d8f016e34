"""The task log's rules: each state written once, at its virtual instant, a replanned timeline followed."""

from __future__ import annotations

from typing import Any

from mockserver.clock import Clock
from mockserver.engine.records import Task
from mockserver.http.tasklog import TaskLogger
from mockserver.store.memory import MemoryStore


def logger() -> tuple[TaskLogger, Clock, list[dict[str, Any]]]:
    store = MemoryStore()
    clock = Clock(lambda: 1000.0, store, manual=True)
    lines: list[dict[str, Any]] = []
    return TaskLogger(clock, lines.append), clock, lines


def states(lines: list[dict[str, Any]]) -> list[tuple[str, float]]:
    return [(line["state"], line["instant"] - 1000.0) for line in lines]


def test_each_state_is_written_once_at_its_instant() -> None:
    log, clock, lines = logger()
    log.stored(Task("t", "producer", "k", 1000.0, 1002.0, 1030.0, {}, operation="producerCreate"))
    assert states(lines) == [("created", 0.0)]
    clock.advance(10)
    log.flush(clock.now())
    log.flush(clock.now())
    assert states(lines) == [("created", 0.0), ("running", 2.0)]
    clock.advance(100)
    log.flush(clock.now())
    assert states(lines) == [("created", 0.0), ("running", 2.0), ("succeeded", 30.0)]


def test_a_task_completed_early_is_not_written_running_twice() -> None:
    log, clock, lines = logger()
    task = Task("t", "producer", "k", 1000.0, 1002.0, 1030.0, {}, operation="producerCreate")
    log.stored(task)
    clock.advance(10)
    log.flush(clock.now())
    log.stored(task.completed(clock.now()))  # the control plane's complete: a new timeline
    log.flush(clock.now())
    clock.advance(100)
    log.flush(clock.now())
    assert states(lines) == [("created", 0.0), ("running", 2.0), ("succeeded", 10.0)]


def test_a_failure_is_written_with_its_error_and_replaces_the_success() -> None:
    log, clock, lines = logger()
    task = Task("t", "producer", "k", 1000.0, 1002.0, 1030.0, {}, operation="producerCreate")
    log.stored(task)
    clock.advance(5)
    log.stored(task.failed(clock.now(), "producer.timeout"))
    clock.advance(100)
    log.flush(clock.now())
    assert states(lines) == [("created", 0.0), ("running", 2.0), ("failed", 5.0)]
    assert lines[-1]["error"] == "producer.timeout"
