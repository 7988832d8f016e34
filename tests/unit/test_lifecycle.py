"""The task engine: status and progress as a pure function of timeline and instant."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.engine.lifecycle import TIMINGS, plan
from mockserver.engine.records import Status, Task
from mockserver.errors import TaskStateError
from mockserver.ids import Draws

ORDER = {Status.PENDING: 0, Status.RUNNING: 1, Status.SUCCEEDED: 2, Status.FAILED: 2}


def make(seed: int = 1, profile: str = "realistic", failure: tuple[str, int] | None = None) -> Task:
    return plan(
        task_id="t",
        family="nuro",
        api_key="k",
        now=1000.0,
        timing=TIMINGS[profile],
        rng=Draws(f"timeline/{seed}"),
        result={},
        failure=failure,
    )


Action = tuple[str, float, int | None]
actions = st.lists(
    st.tuples(
        st.sampled_from(["wait", "wait", "wait", "fail", "complete"]),
        st.floats(min_value=0, max_value=20),
        st.one_of(st.none(), st.integers(0, 99)),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 10_000), profile=st.sampled_from(sorted(TIMINGS)), steps=actions)
def test_views_never_go_backwards(seed: int, profile: str, steps: list[Action]) -> None:
    """Whatever happens (time passing, forced failures and completions), state only moves forward."""
    task = make(seed, profile)
    now = 1000.0
    last = task.view(now)
    for kind, amount, at_progress in steps:
        if kind == "wait":
            now += amount
        elif kind == "fail":
            try:
                task = task.failed(now, "nuro.algorithm_error", at_progress)
            except TaskStateError:
                assert last.status.terminal
        else:
            try:
                task = task.completed(now)
            except TaskStateError:
                assert last.status.terminal
        view = task.view(now)
        assert ORDER[view.status] >= ORDER[last.status]
        assert view.progress >= last.progress
        if last.status.terminal:
            assert view == last, "a terminal state changed"
        assert (view.progress == 100) == (view.status is Status.SUCCEEDED)
        last = view


def test_timeline_pending_running_succeeded() -> None:
    task = make()
    assert task.view(1000.0).status is Status.PENDING
    assert task.view(task.started_at).status is Status.RUNNING
    assert task.view(task.ends_at - 0.001).progress == 99
    assert task.view(task.ends_at).status is Status.SUCCEEDED
    assert 30 <= task.ends_at - task.created_at <= 60


def test_planned_failure_freezes_progress() -> None:
    task = make(failure=("nuro.semantic_error", 40))
    halfway = task.instant_of_progress(40)
    assert task.view(halfway - 0.01).status is Status.RUNNING
    failed = task.view(halfway)
    assert failed.status is Status.FAILED and failed.progress == 40 and failed.error_id == "nuro.semantic_error"
    assert task.view(task.ends_at + 100) == failed


def test_fail_at_future_progress_and_now() -> None:
    task = make()
    at = task.started_at + 1
    later = task.failed(at, "nuro.algorithm_error", at_progress=80)
    assert later.view(at).status is Status.RUNNING
    assert later.view(later.instant_of_progress(80)).progress == 80
    now = task.failed(at, "nuro.algorithm_error")
    assert now.view(at).status is Status.FAILED
    assert now.view(at).progress == task.view(at).progress
    with pytest.raises(TaskStateError):
        now.completed(at + 1)
    with pytest.raises(ValueError):
        task.failed(at, "x", at_progress=100)


def test_complete_now() -> None:
    task = make()
    done = task.completed(1000.0)
    assert done.view(1000.0).status is Status.SUCCEEDED
    with pytest.raises(TaskStateError):
        done.failed(1001.0, "nuro.algorithm_error")


def test_instant_profile() -> None:
    assert make(profile="instant").view(1000.0).status is Status.SUCCEEDED
    failed = make(profile="instant", failure=("nuro.algorithm_error", 30)).view(1000.0)
    assert failed.status is Status.FAILED and failed.progress == 30
