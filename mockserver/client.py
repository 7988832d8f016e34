"""Typed clients of the mock's control plane (``/_mock/``): :class:`MockControl` and :class:`AsyncMockControl`.

Each call maps onto one operation of ``openapi/mock-control.yaml``::

    control = MockControl("http://127.0.0.1:8000")
    control.advance(30)                                 # POST /_mock/clock/advance
    control.fail_next("nuroCreate", "nuro.queue_full")  # POST /_mock/faults
    control.balance("sk_test")["credits"]               # GET  /_mock/keys/sk_test

An error answered by the control plane (``{type, message, error_id}``) raises :class:`MockControlError`.
Transport errors (connection refused, timeouts) are httpx's own exceptions.

The request for each call is described once (:class:`ControlCall`); the sync and async clients, and the
servers of :mod:`mockserver.testing`, only differ in how they send it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Literal, TypedDict, TypeVar, Unpack
from urllib.parse import quote

import httpx

from mockserver.config import format_instant

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0


# --- what the control plane answers (the schemas of openapi/mock-control.yaml) ----------------------


class ClockState(TypedDict):
    """``ClockState``: the virtual clock."""

    now: str
    epoch: float
    mode: Literal["manual", "running"]
    profile: Literal["instant", "fast", "realistic", "manual"]


class KeyState(TypedDict):
    """``KeyState``: a key's balances, limits and usage."""

    api_key: str
    credits: int
    extra_credits: int
    qps: float | None
    queue_capacity: int | None
    expires_at: str | None
    usage_limit: int | None
    usage: int
    magic: bool


class KeyLimits(TypedDict, total=False):
    """The limits :meth:`MockControl.set_balance` can set; ``None`` removes a limit."""

    qps: float | None
    queue_capacity: int | None
    #: An ISO-8601 string, a :class:`~datetime.datetime` or seconds since the epoch.
    expires_at: str | datetime | float | None
    usage_limit: int | None


class LedgerEntry(TypedDict):
    """``LedgerEntry``: one movement of credits."""

    seq: int
    api_key: str
    reason: Literal["grant", "adjust", "debit", "refund"]
    credits: int
    extra_credits: int
    amount: int
    instant: str
    task_id: str | None
    operation: str | None
    error_id: str | None


class LedgerTotals(TypedDict):
    """The totals of a :class:`Ledger`: ``balance = granted + adjusted - debited + refunded``."""

    granted: int
    adjusted: int
    debited: int
    refunded: int
    balance: int


class Ledger(TypedDict):
    """``Ledger``: entries, oldest first, and their totals."""

    entries: list[LedgerEntry]
    totals: LedgerTotals


class FaultRuleState(TypedDict):
    """``FaultRuleState``: a fault rule as stored, with its hit count."""

    id: int
    operation: str
    error: str
    times: int | None
    probability: float | None
    api_key: str | None
    at_progress: int | None
    hits: int
    remaining: int | None


class TaskFailure(TypedDict):
    """When and how a task fails."""

    error: str
    at: str
    progress: int


class TaskCharge(TypedDict):
    """What a task was charged."""

    credits: int
    extra_credits: int


class TaskState(TypedDict):
    """``TaskState``: a task's timeline and its state now."""

    task_id: str
    family: str
    api_key: str
    operation: str
    status: Literal["pending", "running", "succeeded", "failed"]
    progress: int
    created_at: str
    started_at: str
    ends_at: str
    failure: TaskFailure | None
    charged: TaskCharge
    refunded: bool


class JournalEntry(TypedDict):
    """``JournalEntry``: one API request the mock answered."""

    seq: int
    instant: str
    method: str
    path: str
    operation: str
    status: int
    api_key: str | None
    error_id: str | None


class CatalogEntry(TypedDict):
    """``CatalogEntry``: one error of the catalog."""

    id: str
    status: int
    type: str
    message: str
    refunds: bool
    task_failure: bool
    after_debit: bool
    operations: list[str]
    source: str


class WebhookAttempt(TypedDict):
    """One try at delivering a webhook."""

    instant: str
    status: int | None
    error: str | None


class WebhookDelivery(TypedDict):
    """A webhook event and its delivery attempts (``WebhookDelivery`` in mock-control.yaml)."""

    id: str
    task_id: str
    platform: str
    event: str
    url: str
    state: str
    due: str
    payload: dict[str, Any]
    attempts: list[WebhookAttempt]


class MockControlError(Exception):
    """The control plane answered an error.

    ``status`` is the HTTP status, ``error_id`` the catalog id (``control.task_not_found``, …; ``None``
    when the answer was not the control plane's error format), ``message`` the human explanation.
    """

    def __init__(self, status: int, error_id: str | None, message: str, type_: str | None = None) -> None:
        super().__init__(f"{status} {error_id or 'error'}: {message}")
        self.status = status
        self.error_id = error_id
        self.message = message
        self.type = type_


# --- one description of each call ---------------------------------------------------------------------


@dataclass(frozen=True)
class ControlCall(Generic[T]):
    """One control-plane request and how to read its answer."""

    method: str
    path: str
    parse: Callable[[Any], T]
    json: Any = None
    params: Mapping[str, str | int] = field(default_factory=dict)

    def read(self, response: httpx.Response) -> T:
        """The parsed answer, or :class:`MockControlError` for an error status."""
        if response.is_success:
            return self.parse(response.json())
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            error_id = body.get("error_id")
            raise MockControlError(
                response.status_code, error_id if isinstance(error_id, str) else None, body["message"], body.get("type")
            )
        raise MockControlError(response.status_code, None, response.text or response.reason_phrase)


def _body(body: Any) -> Any:
    """The answer as is: its shape is the control plane's schema (the mock's own tests check it)."""
    return body


def _item(name: str) -> Callable[[Any], Any]:
    """One member of the answer (``{"tasks": [...]}`` -> the list)."""
    return lambda body: body[name]


def _none(body: Any) -> None:
    return None


def _segment(value: str) -> str:
    return quote(value, safe="")


def _instant(value: str | datetime | float | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return format_instant(float(value))


def _optional(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


_LIMITS = frozenset(KeyLimits.__annotations__)


class calls:  # noqa: N801 - a namespace of call builders
    """Builders of every :class:`ControlCall`, shared by the sync and async clients."""

    @staticmethod
    def reset() -> ControlCall[None]:
        """``POST /_mock/reset``."""
        return ControlCall("POST", "/_mock/reset", _none)

    @staticmethod
    def clock() -> ControlCall[ClockState]:
        """``GET /_mock/clock``."""
        return ControlCall("GET", "/_mock/clock", _body)

    @staticmethod
    def advance(seconds: float) -> ControlCall[ClockState]:
        """``POST /_mock/clock/advance``."""
        return ControlCall("POST", "/_mock/clock/advance", _body, json={"seconds": seconds})

    @staticmethod
    def errors() -> ControlCall[list[CatalogEntry]]:
        """``GET /_mock/errors``."""
        return ControlCall("GET", "/_mock/errors", _item("errors"))

    @staticmethod
    def keys() -> ControlCall[list[KeyState]]:
        """``GET /_mock/keys``."""
        return ControlCall("GET", "/_mock/keys", _item("keys"))

    @staticmethod
    def balance(api_key: str) -> ControlCall[KeyState]:
        """``GET /_mock/keys/{api_key}``."""
        return ControlCall("GET", f"/_mock/keys/{_segment(api_key)}", _body)

    @staticmethod
    def set_balance(
        api_key: str, credits: int | None, extra_credits: int | None, limits: Mapping[str, Any]
    ) -> ControlCall[KeyState]:
        """``PUT /_mock/keys/{api_key}`` with only the fields given."""
        unknown = sorted(set(limits) - _LIMITS)
        if unknown:
            raise TypeError(f"set_balance() got unknown limits {unknown}; known: {sorted(_LIMITS)}")
        body: dict[str, Any] = {**_optional(credits=credits, extra_credits=extra_credits), **limits}
        if "expires_at" in body:
            body["expires_at"] = _instant(body["expires_at"])
        return ControlCall("PUT", f"/_mock/keys/{_segment(api_key)}", _body, json=body)

    @staticmethod
    def ledger(api_key: str | None) -> ControlCall[Ledger]:
        """``GET /_mock/ledger``."""
        return ControlCall("GET", "/_mock/ledger", _body, params=_optional(api_key=api_key))

    @staticmethod
    def faults() -> ControlCall[list[FaultRuleState]]:
        """``GET /_mock/faults``."""
        return ControlCall("GET", "/_mock/faults", _item("faults"))

    @staticmethod
    def add_fault(
        operation: str,
        error: str,
        *,
        times: int | None = None,
        probability: float | None = None,
        api_key: str | None = None,
        at_progress: int | None = None,
    ) -> ControlCall[FaultRuleState]:
        """``POST /_mock/faults``."""
        body = {
            "operation": operation,
            "error": error,
            **_optional(times=times, probability=probability, api_key=api_key, at_progress=at_progress),
        }
        return ControlCall("POST", "/_mock/faults", _body, json=body)

    @staticmethod
    def clear_faults() -> ControlCall[None]:
        """``DELETE /_mock/faults``."""
        return ControlCall("DELETE", "/_mock/faults", _none)

    @staticmethod
    def tasks(api_key: str | None) -> ControlCall[list[TaskState]]:
        """``GET /_mock/tasks``."""
        return ControlCall("GET", "/_mock/tasks", _item("tasks"), params=_optional(api_key=api_key))

    @staticmethod
    def task(task_id: str) -> ControlCall[TaskState]:
        """``GET /_mock/tasks/{task_id}``."""
        return ControlCall("GET", f"/_mock/tasks/{_segment(task_id)}", _body)

    @staticmethod
    def fail(task_id: str, error: str, at_progress: int | None) -> ControlCall[TaskState]:
        """``POST /_mock/tasks/{task_id}/fail``."""
        body = {"error": error, **_optional(at_progress=at_progress)}
        return ControlCall("POST", f"/_mock/tasks/{_segment(task_id)}/fail", _body, json=body)

    @staticmethod
    def complete(task_id: str) -> ControlCall[TaskState]:
        """``POST /_mock/tasks/{task_id}/complete``."""
        return ControlCall("POST", f"/_mock/tasks/{_segment(task_id)}/complete", _body)

    @staticmethod
    def journal(api_key: str | None, limit: int | None) -> ControlCall[list[JournalEntry]]:
        """``GET /_mock/requests``."""
        return ControlCall("GET", "/_mock/requests", _item("requests"), params=_optional(api_key=api_key, limit=limit))

    @staticmethod
    def webhooks(task_id: str | None) -> ControlCall[list[WebhookDelivery]]:
        """``GET /_mock/webhooks``."""
        return ControlCall("GET", "/_mock/webhooks", _item("deliveries"), params=_optional(task_id=task_id))


# --- the methods, written once per flavour -------------------------------------------------------------


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

    def clock(self) -> ClockState:
        """The virtual clock."""
        return self.send(calls.clock())

    def advance(self, seconds: float) -> ClockState:
        """Move the virtual clock forward by ``seconds``; every task moves with it."""
        return self.send(calls.advance(seconds))

    def complete(self, task_id: str) -> TaskState:
        """Make a task succeed now."""
        return self.send(calls.complete(task_id))

    def fail(self, task_id: str, error: str, at_progress: int | None = None) -> TaskState:
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
    ) -> FaultRuleState:
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
    ) -> FaultRuleState:
        """Make each call of ``operation`` answer ``error`` with ``probability`` (seeded: reproducible)."""
        return self.send(
            calls.add_fault(operation, error, probability=probability, api_key=api_key, at_progress=at_progress)
        )

    def faults(self) -> list[FaultRuleState]:
        """The active fault rules with their hit counts."""
        return self.send(calls.faults())

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.send(calls.clear_faults())

    def balance(self, api_key: str | None = None) -> KeyState:
        """A key's balances (``credits``, ``extra_credits``), limits and usage."""
        return self.send(calls.balance(self._key(api_key)))

    def set_balance(
        self,
        api_key: str | None = None,
        credits: int | None = None,
        extra_credits: int | None = None,
        **limits: Unpack[KeyLimits],
    ) -> KeyState:
        """Set a key's balances and any of ``qps``, ``queue_capacity``, ``expires_at``, ``usage_limit``.

        Only the fields given are sent; a limit given as ``None`` is removed.
        """
        return self.send(calls.set_balance(self._key(api_key), credits, extra_credits, limits))

    def keys(self) -> list[KeyState]:
        """Every key the mock has seen or been given."""
        return self.send(calls.keys())

    def ledger(self, api_key: str | None = None) -> Ledger:
        """Ledger entries and totals, for one key or (``None``) all."""
        return self.send(calls.ledger(api_key))

    def tasks(self, api_key: str | None = None) -> list[TaskState]:
        """Tasks with their timelines, oldest first, for one key or (``None``) all."""
        return self.send(calls.tasks(api_key))

    def task(self, task_id: str) -> TaskState:
        """One task's timeline and state now (:class:`MockControlError` 404 if unknown)."""
        return self.send(calls.task(task_id))

    def errors(self) -> list[CatalogEntry]:
        """The error catalog: every error the mock can answer."""
        return self.send(calls.errors())

    def journal(self, api_key: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        """The request journal (API calls only), oldest first; the last ``limit`` entries if given."""
        return self.send(calls.journal(api_key, limit))

    @property
    def requests(self) -> list[JournalEntry]:
        """The whole request journal (:meth:`journal` filters it)."""
        return self.journal()

    def deliveries(self, task_id: str | None = None) -> list[WebhookDelivery]:
        """Webhook deliveries (events and their attempts), oldest first; for one task if given."""
        return self.send(calls.webhooks(task_id))

    @property
    def webhooks(self) -> list[WebhookDelivery]:
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

    async def clock(self) -> ClockState:
        """The virtual clock."""
        return await self.send(calls.clock())

    async def advance(self, seconds: float) -> ClockState:
        """Move the virtual clock forward by ``seconds``; every task moves with it."""
        return await self.send(calls.advance(seconds))

    async def complete(self, task_id: str) -> TaskState:
        """Make a task succeed now."""
        return await self.send(calls.complete(task_id))

    async def fail(self, task_id: str, error: str, at_progress: int | None = None) -> TaskState:
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
    ) -> FaultRuleState:
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
    ) -> FaultRuleState:
        """Make each call of ``operation`` answer ``error`` with ``probability`` (seeded: reproducible)."""
        return await self.send(
            calls.add_fault(operation, error, probability=probability, api_key=api_key, at_progress=at_progress)
        )

    async def faults(self) -> list[FaultRuleState]:
        """The active fault rules with their hit counts."""
        return await self.send(calls.faults())

    async def clear_faults(self) -> None:
        """Remove every fault rule."""
        await self.send(calls.clear_faults())

    async def webhooks(self, task_id: str | None = None) -> list[WebhookDelivery]:
        """Webhook deliveries (events and their attempts), oldest first; for one task if given."""
        return await self.send(calls.webhooks(task_id))

    async def balance(self, api_key: str | None = None) -> KeyState:
        """A key's balances (``credits``, ``extra_credits``), limits and usage."""
        return await self.send(calls.balance(self._key(api_key)))

    async def set_balance(
        self,
        api_key: str | None = None,
        credits: int | None = None,
        extra_credits: int | None = None,
        **limits: Unpack[KeyLimits],
    ) -> KeyState:
        """Set a key's balances and limits (only the fields given; a limit given as ``None`` is removed)."""
        return await self.send(calls.set_balance(self._key(api_key), credits, extra_credits, limits))

    async def keys(self) -> list[KeyState]:
        """Every key the mock has seen or been given."""
        return await self.send(calls.keys())

    async def ledger(self, api_key: str | None = None) -> Ledger:
        """Ledger entries and totals, for one key or (``None``) all."""
        return await self.send(calls.ledger(api_key))

    async def tasks(self, api_key: str | None = None) -> list[TaskState]:
        """Tasks with their timelines, oldest first, for one key or (``None``) all."""
        return await self.send(calls.tasks(api_key))

    async def task(self, task_id: str) -> TaskState:
        """One task's timeline and state now (:class:`MockControlError` 404 if unknown)."""
        return await self.send(calls.task(task_id))

    async def errors(self) -> list[CatalogEntry]:
        """The error catalog."""
        return await self.send(calls.errors())

    async def journal(self, api_key: str | None = None, limit: int | None = None) -> list[JournalEntry]:
        """The request journal (API calls only), oldest first; the last ``limit`` entries if given."""
        return await self.send(calls.journal(api_key, limit))

    async def requests(self) -> list[JournalEntry]:
        """The whole request journal (a coroutine here; a property on the blocking clients)."""
        return await self.journal()


# --- the clients ---------------------------------------------------------------------------------------


class MockControl(ControlMethods):
    """A blocking client of the control plane.

    ``MockControl("http://127.0.0.1:8000")``, or over an existing ``httpx.Client`` (``client=``) or
    transport (``transport=``). ``api_key`` is the default key of :meth:`balance` and :meth:`set_balance`.
    Close it with :meth:`close` or use it as a context manager (a client passed in is left open).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if client is None and base_url is None:
            raise TypeError("MockControl needs a base_url or a client")
        self._owned = client is None
        self.client = client or httpx.Client(base_url=base_url or "", transport=transport, timeout=timeout)
        self.api_key = api_key

    def send(self, call: ControlCall[T]) -> T:
        """Send one call and read its answer."""
        response = self.client.request(call.method, call.path, json=call.json, params=dict(call.params))
        return call.read(response)

    def close(self) -> None:
        """Close the HTTP client (if this object made it)."""
        if self._owned:
            self.client.close()

    def __enter__(self) -> MockControl:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncMockControl(AsyncControlMethods):
    """An asyncio client of the control plane; every method is a coroutine.

    ``AsyncMockControl("http://127.0.0.1:8000")``, over an ``httpx.AsyncClient`` (``client=``), or with no
    socket at all: ``AsyncMockControl(transport=httpx.ASGITransport(app=app))``.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if client is None and base_url is None and transport is None:
            raise TypeError("AsyncMockControl needs a base_url, a client or a transport")
        self._owned = client is None
        self.client = client or httpx.AsyncClient(
            base_url=base_url or "http://mock", transport=transport, timeout=timeout
        )
        self.api_key = api_key

    async def send(self, call: ControlCall[T]) -> T:
        """Send one call and read its answer."""
        response = await self.client.request(call.method, call.path, json=call.json, params=dict(call.params))
        return call.read(response)

    async def aclose(self) -> None:
        """Close the HTTP client (if this object made it)."""
        if self._owned:
            await self.client.aclose()

    async def __aenter__(self) -> AsyncMockControl:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
