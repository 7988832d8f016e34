"""Webhooks: a signed JSON POST when a task streams, succeeds or fails, driven by the virtual clock.

Events are derived, like everything else, from each watched task's timeline: a dispatcher looks at
the clock (on a short real-time tick, and at once after ``POST /_mock/clock/advance``) and sends what
has become due. Each event is one delivery with a stable ``X-Webhook-Id``; a non-2xx answer or a
connection error is retried with exponential backoff on the virtual clock. Headers (reference §5.4):
``X-Webhook-Id``, ``X-Webhook-Event`` (``song.streaming`` / ``song.completed`` / ``song.failed``),
``X-Webhook-Timestamp`` (unix seconds) and ``X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret,
"<timestamp>.<raw body>")>``.

Only loopback targets are contacted unless a host is allowed explicitly: the mock must not become a
way to reach other hosts. A blocked delivery is recorded, never sent. The engine never speaks HTTP
itself: deliveries go out through a :class:`Sender` (the server's is ``mockserver.http.webhook_sender``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import hmac
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson

from mockserver.engine.context import Context
from mockserver.engine.family import Family
from mockserver.engine.ports import WebhookStore
from mockserver.engine.records import Attempt, Delivery, Status, Task, Watch

#: Seconds (virtual) before retry n: 2, 4, 8, 16, 32; then the delivery is given up.
BACKOFF = (2.0, 4.0, 8.0, 16.0, 32.0)
TICK = 0.05
#: Over a store shared by worker processes: seconds between looks for work another worker added.
RESCAN = 1.0
#: Real seconds ``POST /_mock/clock/advance`` waits at most for deliveries another worker is sending.
SETTLE_WAIT = 10.0


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, "<timestamp>.<body>")."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def allowed(url: str, allow: tuple[str, ...]) -> bool:
    """Loopback http(s) targets, or a host named in ``allow``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return False
    if host in allow or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One HTTP POST a delivery attempt makes."""

    url: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one :class:`Outgoing`: the answer's status, or why there was none."""

    status: int | None
    error: str | None = None


class Sender(Protocol):
    """Sends webhook POSTs (the server's uses httpx; tests use a recording fake)."""

    async def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        """POST each of ``batch`` in order; one :class:`Outcome` per request, never an exception."""


class Dispatcher:
    """Watches tasks and delivers their webhook events.

    Watches and deliveries live in the store, so every worker process over a durable store sees them:
    whichever worker ticks first emits an event (in a transaction, exactly once) and *claims* a due
    delivery (state ``sending``, shown as ``pending``) before sending it, so no other worker sends it too.
    """

    def __init__(self, ctx: Context, families: Mapping[str, Family], sender: Sender) -> None:
        self.ctx = ctx
        self.families = families
        self.sender = sender
        self._runner: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._resumed = False
        #: The virtual instant the loop means to look next (None: not before it is kicked).
        self._wake_at: float | None = None

    @property
    def store(self) -> WebhookStore:
        """The store holding watches and deliveries."""
        return self.ctx.store

    def watch(self, task: Task, body: Mapping[str, Any], base_url: str) -> None:
        """Deliver ``task``'s events if its create body named a ``webhook_url``."""
        url = body.get("webhook_url")
        platform = self.families[task.family].webhook_platform
        if not url or platform is None:
            return
        secret = str(body.get("webhook_secret") or self.ctx.config.webhook_default_secret)
        watch = Watch(task.id, str(url), secret, platform, base_url)
        self.store.put_watch(watch)
        self._ensure_running()
        # Waking the loop costs a look at every watch: only when this task is due before its planned look
        # (a burst of 20k creates would otherwise cost 20k full scans).
        due, now = self._task_due(task, watch), self.ctx.clock.now()
        if due <= now or (not self.ctx.clock.manual and (self._wake_at is None or due < self._wake_at)):
            self.kick()

    def deliveries(self, task_id: str | None = None) -> list[Delivery]:
        """Every delivery (or a task's), oldest first."""
        return self.store.deliveries(task_id)

    def resume(self) -> None:
        """Once per process: start delivering if the store holds work from before (a restart, another worker)."""
        if self._resumed:
            return
        self._resumed = True
        if self.store.watches() or self.store.deliveries(state="pending") or self.store.deliveries(state="sending"):
            self._ensure_running()

    def _ensure_running(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._runner is None or self._runner.done():
            self._wake = asyncio.Event()
            self._lock = asyncio.Lock()
            # a context of its own: not the request's that happened to start it (see SqliteStore.request)
            self._runner = loop.create_task(self._run(), context=contextvars.Context())

    def kick(self) -> None:
        """Look again now (a new watch, a moved clock): the next wake-up may be sooner."""
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            sleep = self._sleep_for()
            self._wake_at = None if sleep is None else self.ctx.clock.now() + sleep
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), sleep)
            self._wake.clear()
            self.ctx.clock.sync()
            await self.tick()

    def _sleep_for(self) -> float | None:
        """Real seconds until the next event or retry is due (None: until kicked).

        Idle costs nothing: with no running clock to carry time forward (manual mode), or nothing ahead,
        the dispatcher sleeps until a watch, a clock move or a request kicks it. Other worker processes add
        watches this one is not told of, so over a shared store it also looks every :data:`RESCAN` seconds.
        """
        rescan = RESCAN if self.ctx.config.workers > 1 else None
        if self.ctx.clock.manual:
            return rescan
        now = self.ctx.clock.now()
        due = self._next_due()
        if due is None:
            return rescan
        wait = max(TICK, due - now)
        return wait if rescan is None else min(wait, rescan)

    def _next_due(self) -> float | None:
        """The virtual instant of the next event of a watched task, or of the next retry, if any."""
        instants = [delivery.next_at for delivery in self.store.deliveries(state="pending")]
        for watch in self.store.watches():
            task = self.ctx.store.get_task(watch.task_id)
            if task is not None:
                instants.append(self._task_due(task, watch))
        return min(instants, default=None)

    def _task_due(self, task: Task, watch: Watch) -> float:
        """The virtual instant of a watched task's next event."""
        if self.families[task.family].streams(task) and "song.streaming" not in watch.sent:
            return task.started_at
        return task.ends_at if task.failure is None else min(task.ends_at, task.failure.at)

    async def tick(self, settle: bool = False) -> None:
        """Emit the events that became due and send the deliveries whose time has come.

        With ``settle``, also wait (a bounded while) for deliveries another worker is sending, so that
        what was due is delivered when this returns.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = self.ctx.clock.now()
            self._emit(now)
            due = self._claim(now)
            while due:  # in rounds: a task's next event goes only once its previous one is delivered
                firsts = list({delivery.task_id: delivery for delivery in reversed(due)}.values())[::-1]
                await self._send(firsts, now)
                held = {delivery.task_id for delivery in firsts if delivery.state == "pending"}  # will retry
                rest = [delivery for delivery in due if delivery not in firsts]
                for delivery in rest:
                    if delivery.task_id in held:  # waits for the earlier one's retries
                        delivery.state = "pending"
                        self.store.put_delivery(delivery)
                due = [delivery for delivery in rest if delivery.task_id not in held]
        if settle:
            for _ in range(int(SETTLE_WAIT / TICK)):
                if not self.store.deliveries(state="sending"):
                    break
                await asyncio.sleep(TICK)

    def _due_events(self, watch: Watch, task: Task, now: float) -> list[tuple[str, float]]:
        """The events of a watched task that are due at ``now`` and not yet emitted, with their instants."""
        view = task.view(now)
        events: list[tuple[str, float]] = []
        streams = self.families[task.family].streams(task)
        if streams and view.status is not Status.PENDING and "song.streaming" not in watch.sent:
            events.append(("song.streaming", task.started_at))
        if view.status.terminal:
            event = "song.completed" if view.status is Status.SUCCEEDED else "song.failed"
            if event not in watch.sent:
                events.append((event, task.ends_at if view.status is Status.SUCCEEDED else task.failure.at))  # type: ignore[union-attr]
        return events

    def _has_work(self, watch: Watch, now: float) -> bool:
        """Whether a watch has events to emit, or is over (its task gone or finished)."""
        task = self.ctx.store.get_task(watch.task_id)
        return task is None or task.view(now).status.terminal or bool(self._due_events(watch, task, now))

    def _emit(self, now: float) -> None:
        watches = self.store.watches()
        if not any(self._has_work(watch, now) for watch in watches):
            return  # nothing due: no write lock taken
        with self.store.transaction():  # re-read: another worker may have emitted meanwhile
            for watch in self.store.watches():
                task = self.ctx.store.get_task(watch.task_id)
                if task is None:
                    self.store.drop_watch(watch.task_id)
                    continue
                events = self._due_events(watch, task, now)
                for event, due in events:
                    self._add(watch, task, event, due, now)
                if task.view(now).status.terminal:
                    self.store.drop_watch(watch.task_id)
                elif events:
                    self.store.put_watch(watch)

    def _claim(self, now: float) -> list[Delivery]:
        if not self.store.due_deliveries(now):
            return []
        with self.store.transaction():
            ready = self.store.due_deliveries(now)
            due = [d for d in ready if self._in_order(d, {r.id for r in ready})]
            for delivery in due:
                delivery.state = "sending"
                self.store.put_delivery(delivery)
        return due

    def _in_order(self, delivery: Delivery, due_now: set[str]) -> bool:
        """Whether every earlier unsettled delivery of the task is due now too (then it is sent first)."""
        for earlier in self.store.deliveries(delivery.task_id):
            if earlier.id == delivery.id:
                return True
            if earlier.state in ("pending", "sending") and earlier.id not in due_now:
                return False
        return True

    def _add(self, watch: Watch, task: Task, event: str, due: float, now: float) -> None:
        watch.sent.add(event)
        payload = dict(self.families[task.family].poll_body(self.ctx, task, now, watch.base_url))
        payload["task_id"] = task.id
        payload["platform"] = watch.platform
        delivery = Delivery(
            self.ctx.ids.new_id(),
            task.id,
            watch.platform,
            event,
            watch.url,
            orjson.dumps(payload),
            due,
            watch.secret,
            next_at=now,
        )
        if not allowed(watch.url, self.ctx.config.webhook_allow):
            delivery.state = "blocked"
            delivery.attempts.append(Attempt(now, None, "not a loopback target (allow it with --webhook-allow HOST)"))
        self.store.put_delivery(delivery)

    async def _send(self, due: list[Delivery], now: float) -> None:
        timestamp = int(now)
        batch = [
            Outgoing(
                delivery.url,
                delivery.body,
                {
                    "Content-Type": "application/json",
                    "User-Agent": "musicapi-mock-webhooks",
                    "X-Webhook-Id": delivery.id,
                    "Idempotency-Key": delivery.id,  # the webhook guide: mirrors X-Webhook-Id for frameworks
                    "X-Webhook-Event": delivery.event,
                    "X-Webhook-Timestamp": str(timestamp),
                    "X-Webhook-Signature": signature(delivery.secret, timestamp, delivery.body),
                },
            )
            for delivery in due
        ]
        try:
            outcomes = await self.sender.send(batch)
        except Exception as exc:  # a sender that fails must not kill the dispatcher or strand the batch
            outcomes = [Outcome(None, f"not sent: {type(exc).__name__}") for _ in batch]
        for delivery, outcome in zip(due, outcomes, strict=True):
            delivery.attempts.append(Attempt(now, outcome.status, outcome.error))
            if outcome.status is not None and 200 <= outcome.status < 300:
                delivery.state = "delivered"
            elif len(delivery.attempts) > len(BACKOFF):
                delivery.state = "failed"
            else:
                delivery.state = "pending"
                delivery.next_at = now + BACKOFF[len(delivery.attempts) - 1]
            self.store.put_delivery(delivery)
