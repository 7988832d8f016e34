"""The control-plane methods, blocking (:class:`ControlMethods`) and as coroutines (:class:`AsyncControlMethods`).

The two classes are twins: same names, same parameters, one returning what the other awaits, except the
two conveniences that are properties on the blocking side (``requests``, ``webhooks``) and zero-argument
coroutines on the async one. ``tests/unit/test_client_parity.py`` holds them to that.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypeVar, Unpack

from mockserver.client import models
from mockserver.client.calls import ControlCall, calls, verification_failure, verified

T = TypeVar("T")


class ControlMethods(ABC):
    """Every control-plane method, blocking; subclasses say how a :class:`ControlCall` is sent."""

    #: The key that :meth:`balance` and :meth:`set_balance` use when given none.
    api_key: str | None = None

    @abstractmethod
    def send(self, call: ControlCall[T]) -> T:
        """Send one call and read its answer."""

    def _key(self, api_key: str | None) -> str:
        key = api_key or self.api_key
        if not key:
            raise TypeError("no api_key given and no default api_key set")
        return key

    def reset(self) -> None:
        """Forget all state: tasks, keys, ledger, faults, journal; clock back to real time; ids restarted."""
        self.send(calls.reset())

    def health(self) -> models.Health:
        """The readiness probe: version, uptime, store, clock (``status`` is ``unavailable`` on a 503)."""
        return self.send(calls.health())

    def clock(self) -> models.ClockState:
        """The virtual clock."""
        return self.send(calls.clock())

    def advance(self, seconds: float) -> models.ClockState:
        """Move the virtual clock forward by ``seconds``; every task moves with it."""
        return self.send(calls.advance(seconds))

    def complete(self, task_id: str) -> models.TaskState:
        """Make a task succeed now."""
        return self.send(calls.complete(task_id))

    def fail(self, task_id: str, error: str, at_progress: int | None = None) -> models.TaskState:
        """Make a task fail with catalog error ``error`` now, or when it reaches ``at_progress``."""
        return self.send(calls.fail(task_id, error, at_progress))

    def fail_next(
        self,
        operation: str,
        error: str,
        times: int = 1,
        *,
        api_key: str | None = None,
        at_progress: int | None = None,
    ) -> models.FaultRuleState:
        """Make the next ``times`` calls of ``operation`` (an operationId, e.g. ``nuroCreate``) answer ``error``.

        ``api_key`` limits the rule to one key; ``at_progress`` places a task failure.
        """
        return self.send(calls.add_fault(operation, error, times=times, api_key=api_key, at_progress=at_progress))

    def fail_randomly(
        self,
        operation: str,
        error: str,
        probability: float,
        *,
        api_key: str | None = None,
        at_progress: int | None = None,
    ) -> models.FaultRuleState:
        """Make each call of ``operation`` answer ``error`` with ``probability`` (seeded: reproducible)."""
        return self.send(
            calls.add_fault(operation, error, probability=probability, api_key=api_key, at_progress=at_progress)
        )

    def faults(self) -> list[models.FaultRuleState]:
        """The active fault rules with their hit counts."""
        return self.send(calls.faults())

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.send(calls.clear_faults())

    def balance(self, api_key: str | None = None) -> models.KeyState:
        """A key's balances (``credits``, ``extra_credits``), limits and usage."""
        return self.send(calls.balance(self._key(api_key)))

    def set_balance(
        self,
        api_key: str | None = None,
        credits: int | None = None,
        extra_credits: int | None = None,
        **limits: Unpack[models.KeyLimits],
    ) -> models.KeyState:
        """Set a key's balances and any of ``qps``, ``queue_capacity``, ``expires_at``, ``usage_limit``.

        Only the fields given are sent; a limit given as ``None`` is removed.
        """
        return self.send(calls.set_balance(self._key(api_key), credits, extra_credits, limits))

    def keys(self) -> list[models.KeyState]:
        """Every key the mock has seen or been given."""
        return self.send(calls.keys())

    def ledger(self, api_key: str | None = None) -> models.Ledger:
        """models.Ledger entries and totals, for one key or (``None``) all."""
        return self.send(calls.ledger(api_key))

    def tasks(self, api_key: str | None = None) -> list[models.TaskState]:
        """Tasks with their timelines, oldest first, for one key or (``None``) all."""
        return self.send(calls.tasks(api_key))

    def task(self, task_id: str) -> models.TaskState:
        """One task's timeline and state now (:class:`MockControlError` 404 if unknown)."""
        return self.send(calls.task(task_id))

    def errors(self) -> list[models.CatalogEntry]:
        """The error catalog: every error the mock can answer."""
        return self.send(calls.errors())

    def journal(
        self,
        api_key: str | None = None,
        limit: int | None = None,
        after: int | None = None,
        *,
        operation: str | None = None,
        status: int | None = None,
        body_contains: str | None = None,
    ) -> list[models.JournalEntry]:
        """The request journal (API calls only), oldest first: the last ``limit`` entries if given, or with
        ``after`` the first ``limit`` whose ``seq`` is greater (pass the last ``seq`` seen to follow it);
        only the calls of ``operation``, answered ``status``, whose request body contains ``body_contains``."""
        return self.send(calls.journal(api_key, limit, after, operation, status, body_contains))

    def calls(
        self, operation: str, *, api_key: str | None = None, status: int | None = None, body_contains: str | None = None
    ) -> list[models.JournalEntry]:
        """The journaled calls of ``operation`` (an operationId), oldest first, with their bodies and headers."""
        return self.journal(api_key, operation=operation, status=status, body_contains=body_contains)

    def assert_called(
        self,
        operation: str,
        *,
        times: int | None = None,
        api_key: str | None = None,
        status: int | None = None,
        body_contains: str | None = None,
    ) -> list[models.JournalEntry]:
        """Assert ``operation`` was called (exactly ``times`` times if given) as the filters say; the calls.

        The :class:`AssertionError` says what was called instead (the journal's last entries).
        """
        found = self.calls(operation, api_key=api_key, status=status, body_contains=body_contains)
        if not verified(found, times):
            filters = {"api_key": api_key, "status": status, "body_contains": body_contains}
            raise AssertionError(verification_failure(operation, times, filters, found, self.journal(limit=10)))
        return found

    @property
    def requests(self) -> list[models.JournalEntry]:
        """The whole request journal (:meth:`journal` filters it)."""
        return self.journal()

    def deliveries(self, task_id: str | None = None) -> list[models.WebhookDelivery]:
        """Webhook deliveries (events and their attempts), oldest first; for one task if given."""
        return self.send(calls.webhooks(task_id))

    @property
    def webhooks(self) -> list[models.WebhookDelivery]:
        """Every webhook delivery so far (:meth:`deliveries` filters by task)."""
        return self.deliveries()


class AsyncControlMethods(ABC):
    """Every control-plane method as a coroutine; subclasses say how a :class:`ControlCall` is sent."""

    #: The key that :meth:`balance` and :meth:`set_balance` use when given none.
    api_key: str | None = None

    @abstractmethod
    async def send(self, call: ControlCall[T]) -> T:
        """Send one call and read its answer."""

    def _key(self, api_key: str | None) -> str:
        key = api_key or self.api_key
        if not key:
            raise TypeError("no api_key given and no default api_key set")
        return key

    async def reset(self) -> None:
        """Forget all state: tasks, keys, ledger, faults, journal; clock back to real time; ids restarted."""
        await self.send(calls.reset())

    async def health(self) -> models.Health:
        """The readiness probe: version, uptime, store, clock (``status`` is ``unavailable`` on a 503)."""
        return await self.send(calls.health())

    async def clock(self) -> models.ClockState:
        """The virtual clock."""
        return await self.send(calls.clock())

    async def advance(self, seconds: float) -> models.ClockState:
        """Move the virtual clock forward by ``seconds``; every task moves with it."""
        return await self.send(calls.advance(seconds))

    async def complete(self, task_id: str) -> models.TaskState:
        """Make a task succeed now."""
        return await self.send(calls.complete(task_id))

    async def fail(self, task_id: str, error: str, at_progress: int | None = None) -> models.TaskState:
        """Make a task fail with catalog error ``error`` now, or when it reaches ``at_progress``."""
        return await self.send(calls.fail(task_id, error, at_progress))

    async def fail_next(
        self,
        operation: str,
        error: str,
        times: int = 1,
        *,
        api_key: str | None = None,
        at_progress: int | None = None,
    ) -> models.FaultRuleState:
        """Make the next ``times`` calls of ``operation`` answer ``error``."""
        return await self.send(calls.add_fault(operation, error, times=times, api_key=api_key, at_progress=at_progress))

    async def fail_randomly(
        self,
        operation: str,
        error: str,
        probability: float,
        *,
        api_key: str | None = None,
        at_progress: int | None = None,
    ) -> models.FaultRuleState:
        """Make each call of ``operation`` answer ``error`` with ``probability`` (seeded: reproducible)."""
        return await self.send(
            calls.add_fault(operation, error, probability=probability, api_key=api_key, at_progress=at_progress)
        )

    async def faults(self) -> list[models.FaultRuleState]:
        """The active fault rules with their hit counts."""
        return await self.send(calls.faults())

    async def clear_faults(self) -> None:
        """Remove every fault rule."""
        await self.send(calls.clear_faults())

    async def deliveries(self, task_id: str | None = None) -> list[models.WebhookDelivery]:
        """Webhook deliveries (events and their attempts), oldest first; for one task if given."""
        return await self.send(calls.webhooks(task_id))

    async def balance(self, api_key: str | None = None) -> models.KeyState:
        """A key's balances (``credits``, ``extra_credits``), limits and usage."""
        return await self.send(calls.balance(self._key(api_key)))

    async def set_balance(
        self,
        api_key: str | None = None,
        credits: int | None = None,
        extra_credits: int | None = None,
        **limits: Unpack[models.KeyLimits],
    ) -> models.KeyState:
        """Set a key's balances and limits (only the fields given; a limit given as ``None`` is removed)."""
        return await self.send(calls.set_balance(self._key(api_key), credits, extra_credits, limits))

    async def keys(self) -> list[models.KeyState]:
        """Every key the mock has seen or been given."""
        return await self.send(calls.keys())

    async def ledger(self, api_key: str | None = None) -> models.Ledger:
        """models.Ledger entries and totals, for one key or (``None``) all."""
        return await self.send(calls.ledger(api_key))

    async def tasks(self, api_key: str | None = None) -> list[models.TaskState]:
        """Tasks with their timelines, oldest first, for one key or (``None``) all."""
        return await self.send(calls.tasks(api_key))

    async def task(self, task_id: str) -> models.TaskState:
        """One task's timeline and state now (:class:`MockControlError` 404 if unknown)."""
        return await self.send(calls.task(task_id))

    async def errors(self) -> list[models.CatalogEntry]:
        """The error catalog."""
        return await self.send(calls.errors())

    async def journal(
        self,
        api_key: str | None = None,
        limit: int | None = None,
        after: int | None = None,
        *,
        operation: str | None = None,
        status: int | None = None,
        body_contains: str | None = None,
    ) -> list[models.JournalEntry]:
        """The request journal (API calls only), oldest first: the last ``limit`` entries if given, or with
        ``after`` the first ``limit`` whose ``seq`` is greater (pass the last ``seq`` seen to follow it);
        only the calls of ``operation``, answered ``status``, whose request body contains ``body_contains``."""
        return await self.send(calls.journal(api_key, limit, after, operation, status, body_contains))

    async def calls(
        self, operation: str, *, api_key: str | None = None, status: int | None = None, body_contains: str | None = None
    ) -> list[models.JournalEntry]:
        """The journaled calls of ``operation`` (an operationId), oldest first, with their bodies and headers."""
        return await self.journal(api_key, operation=operation, status=status, body_contains=body_contains)

    async def assert_called(
        self,
        operation: str,
        *,
        times: int | None = None,
        api_key: str | None = None,
        status: int | None = None,
        body_contains: str | None = None,
    ) -> list[models.JournalEntry]:
        """Assert ``operation`` was called (exactly ``times`` times if given) as the filters say; the calls.

        The :class:`AssertionError` says what was called instead (the journal's last entries).
        """
        found = await self.calls(operation, api_key=api_key, status=status, body_contains=body_contains)
        if not verified(found, times):
            filters = {"api_key": api_key, "status": status, "body_contains": body_contains}
            recent = await self.journal(limit=10)
            raise AssertionError(verification_failure(operation, times, filters, found, recent))
        return found

    async def requests(self) -> list[models.JournalEntry]:
        """The whole request journal (a coroutine here; a property on the blocking clients)."""
        return await self.journal()

    async def webhooks(self) -> list[models.WebhookDelivery]:
        """Every webhook delivery so far (a coroutine here; a property on the blocking clients)."""
        return await self.deliveries()


# --- the clients ---------------------------------------------------------------------------------------
