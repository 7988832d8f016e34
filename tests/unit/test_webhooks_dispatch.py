"""The webhook dispatcher with a recording sender and a stand-in family: events, signatures, retries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mockserver.catalog import FamilyErrors
from mockserver.config import Config
from mockserver.engine.context import Context
from mockserver.engine.family import ErrorFormat
from mockserver.engine.lifecycle import Span, Timing, plan
from mockserver.engine.records import Status, Task
from mockserver.engine.webhooks import BACKOFF, RESCAN, Dispatcher, Outcome, Outgoing, allowed, signature
from mockserver.ids import Draws
from tests.unit.engine_kit import Kit


class Streaming:
    """A family whose tasks stream, with a poll body naming the status."""

    name = "fam"
    errors = FamilyErrors()
    error_format: ErrorFormat = "general"
    webhook_platform = "fam-platform"

    def streams(self, task: Task) -> bool:
        return True

    def timing(self, profile: str) -> Timing:
        return Timing(Span(10, 10), Span(20, 20))

    def poll_body(self, ctx: Context, task: Task, now: float, base_url: str) -> Mapping[str, Any]:
        return {"status": task.view(now).status.value, "base": base_url}

    def clip_status(self, task: Task, index: int, now: float) -> Status:
        return task.view(now).status

    def task_audio(self, task: Task, now: float) -> float | None:
        return None


@dataclass
class Recorder:
    """A sender that records what it is asked to send; answers per event (None: no answer), else 200."""

    statuses: dict[str, list[int | None]] = field(default_factory=dict)
    sent: list[Outgoing] = field(default_factory=list)

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        outcomes = []
        for request in batch:
            self.sent.append(request)
            queue = self.statuses.get(request.headers["X-Webhook-Event"], [])
            status = queue.pop(0) if queue else 200
            outcomes.append(Outcome(status, None if status else "ConnectError: refused"))
        return outcomes


def setup(url: str, statuses: dict[str, list[int | None]] | None = None) -> tuple[Kit, Dispatcher, Recorder, Task]:
    kit = Kit()
    recorder = Recorder(dict(statuses or {}))
    family = Streaming()
    dispatcher = Dispatcher(kit.ctx, {"fam": family}, recorder)
    now = kit.ctx.clock.now()
    task = plan(
        task_id="t1", family="fam", api_key="k", now=now, timing=family.timing("manual"), rng=Draws("x"), result={}
    )
    kit.store.put_task(task)
    dispatcher.watch(task, {"webhook_url": url, "webhook_secret": "s3cret"}, "http://mock")
    return kit, dispatcher, recorder, task


def test_events_are_sent_when_due_and_signed() -> None:
    kit, dispatcher, recorder, _ = setup("http://127.0.0.1:9/hook")
    asyncio.run(dispatcher.tick())
    assert recorder.sent == []  # still pending
    kit.advance(15)
    asyncio.run(dispatcher.tick())
    kit.advance(20)
    asyncio.run(dispatcher.tick())
    events = [r.headers["X-Webhook-Event"] for r in recorder.sent]
    assert events == ["song.streaming", "song.completed"]
    request = recorder.sent[1]
    expected = hmac.new(
        b"s3cret", request.headers["X-Webhook-Timestamp"].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers["X-Webhook-Signature"] == f"sha256={expected}"
    assert b'"platform":"fam-platform"' in request.body and b'"status":"succeeded"' in request.body
    assert [d.state for d in dispatcher.deliveries()] == ["delivered", "delivered"]


def test_a_failing_receiver_is_retried_on_the_backoff_then_given_up() -> None:
    failing: list[int | None] = [500, None, 503, 500, 500, 500]
    answers: dict[str, list[int | None]] = {"song.streaming": failing, "song.completed": [500]}
    kit, dispatcher, recorder, _ = setup("http://localhost:9/hook", answers)
    kit.advance(40)  # both events due at once: streaming first; completed waits for it (events arrive in order)
    asyncio.run(dispatcher.tick())
    for pause in BACKOFF:
        before = len(recorder.sent)
        kit.advance(pause - 0.5)
        asyncio.run(dispatcher.tick())
        assert len(recorder.sent) == before, "retried before its backoff was over"
        kit.advance(0.5)
        asyncio.run(dispatcher.tick())
    (streaming, completed) = dispatcher.deliveries()
    assert streaming.state == "failed" and [a.status for a in streaming.attempts] == [500, None, 503, 500, 500, 500]
    assert [a.instant - streaming.attempts[0].instant for a in streaming.attempts] == [0, 2, 6, 14, 30, 62]
    assert completed.attempts[0].instant == streaming.attempts[-1].instant  # sent once streaming was settled
    kit.advance(2)
    asyncio.run(dispatcher.tick())
    assert [a.status for a in dispatcher.deliveries()[1].attempts] == [500, 200]
    events = [r.headers["X-Webhook-Event"] for r in recorder.sent]
    assert events.index("song.completed") > max(i for i, e in enumerate(events) if e == "song.streaming")
    streamed = [r for r in recorder.sent if r.headers["X-Webhook-Event"] == "song.streaming"]
    assert len(streamed) == 6 and len({r.headers["X-Webhook-Id"] for r in streamed}) == 1  # one id across retries
    assert all(r.headers["Idempotency-Key"] == r.headers["X-Webhook-Id"] for r in recorder.sent)


def test_non_loopback_targets_are_recorded_as_blocked_never_sent() -> None:
    kit, dispatcher, recorder, _ = setup("http://example.com/hook")
    kit.advance(40)
    asyncio.run(dispatcher.tick())
    assert recorder.sent == [] and {d.state for d in dispatcher.deliveries()} == {"blocked"}


def test_allowed_and_signature() -> None:
    assert allowed("http://127.0.0.2:1/x", ()) and allowed("https://localhost/x", ())
    assert not allowed("http://10.0.0.1/x", ()) and not allowed("ftp://127.0.0.1/x", ())
    assert allowed("http://hooks.test/x", ("hooks.test",))
    assert signature("k", 1, b"{}") == "sha256=" + hmac.new(b"k", b"1.{}", hashlib.sha256).hexdigest()


def test_an_idle_dispatcher_sleeps_until_kicked_or_until_the_next_due_instant() -> None:
    kit, dispatcher, _, task = setup("http://127.0.0.1:9/hook")
    assert dispatcher._sleep_for() is None  # manual clock: nothing becomes due until somebody moves it
    running = Kit(Config(clock="fast"))
    dispatcher = Dispatcher(running.ctx, {"fam": Streaming()}, Recorder())
    assert dispatcher._sleep_for() is None  # nothing watched: no wake-ups at all
    running.store.put_task(task)
    dispatcher.watch(task, {"webhook_url": "http://127.0.0.1:9/hook"}, "http://mock")
    wait = dispatcher._sleep_for()
    assert wait is not None and wait == task.started_at - running.ctx.clock.now()  # the streaming event
    shared = Kit(Config(clock="manual", workers=2))
    assert Dispatcher(shared.ctx, {"fam": Streaming()}, Recorder())._sleep_for() == RESCAN  # other workers' watches
