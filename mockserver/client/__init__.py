"""Typed clients of the mock's control plane (``/_mock/``): :class:`MockControl` and :class:`AsyncMockControl`.

Each call maps onto one operation of ``openapi/mock-control.yaml``::

    control = MockControl("http://127.0.0.1:8000")
    control.advance(30)                                 # POST /_mock/clock/advance
    control.fail_next("nuroCreate", "nuro.queue_full")  # POST /_mock/faults
    control.balance("sk_test")["credits"]               # GET  /_mock/keys/sk_test

An error answered by the control plane (``{type, message, error_id}``) raises :class:`MockControlError`.
Transport errors (connection refused, timeouts) are httpx's own exceptions.
"""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

import httpx

from mockserver.client.calls import ControlCall, MockControlError, calls
from mockserver.client.methods import AsyncControlMethods, ControlMethods
from mockserver.client.models import (
    CatalogEntry,
    ClockState,
    FaultRuleState,
    JournalEntry,
    KeyLimits,
    KeyState,
    Ledger,
    LedgerEntry,
    LedgerTotals,
    TaskCharge,
    TaskFailure,
    TaskState,
    WebhookAttempt,
    WebhookDelivery,
)

__all__ = [
    "AsyncControlMethods",
    "AsyncMockControl",
    "ControlCall",
    "ControlMethods",
    "MockControl",
    "MockControlError",
    "calls",
    "ClockState",
    "KeyState",
    "KeyLimits",
    "LedgerEntry",
    "LedgerTotals",
    "Ledger",
    "FaultRuleState",
    "TaskFailure",
    "TaskCharge",
    "TaskState",
    "JournalEntry",
    "CatalogEntry",
    "WebhookAttempt",
    "WebhookDelivery",
]

T = TypeVar("T")
DEFAULT_TIMEOUT = 10.0


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
        token: str | None = None,
    ) -> None:
        if client is None and base_url is None:
            raise TypeError("MockControl needs a base_url or a client")
        self._owned = client is None
        headers = {"Authorization": f"Bearer {token}"} if token else None  # the server's --control-token
        self.client = client or httpx.Client(
            base_url=base_url or "", transport=transport, timeout=timeout, headers=headers
        )
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
        token: str | None = None,
    ) -> None:
        if client is None and base_url is None and transport is None:
            raise TypeError("AsyncMockControl needs a base_url, a client or a transport")
        self._owned = client is None
        headers = {"Authorization": f"Bearer {token}"} if token else None  # the server's --control-token
        self.client = client or httpx.AsyncClient(
            base_url=base_url or "http://mock", transport=transport, timeout=timeout, headers=headers
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
