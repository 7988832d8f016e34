"""Cost safety on a paid API: prices, per-test allowances and a hard credit budget checked before sending.

Every request the suite makes passes :meth:`CreditGuard.reserve` *before* it is sent (an httpx event hook
for hand-written tests, a schemathesis ``before_call`` hook for generated ones) and
:meth:`CreditGuard.settle` after the answer. A request's price is the documented price of its operation
(``mockserver.config.DEFAULT_COSTS``, the newest documented values) when it could be billed, and 0 when
the documents say it cannot:

* ``GET`` operations (polling, get-credits) are free;
* a body the spec rejects is refused by the gateway before any debit (validation is a gateway check,
  README "Credits and refunds"), so a schema-invalid body is free;
* everything that is not a product operation (the mock's ``/_mock/`` control plane) is free.

An operation the price list does not name is priced, conservatively, at the highest documented price.
A request answered 2xx although it was priced 0 would be spending nobody budgeted: the guard records it
and fails the test.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from mockserver.pricing import NO_BODY, PricedOperation, Pricing, json_body

__all__ = ["NO_BODY", "BudgetExceeded", "CreditGuard", "PricedOperation", "Pricing", "UnbudgetedSpend", "json_body"]


class BudgetExceeded(Exception):
    """A request would spend more than the run's budget or the test's declared allowance; it was not sent."""


class UnbudgetedSpend(AssertionError):
    """A request priced as free was answered 2xx by an operation that bills: the documents or the guard are wrong."""


@dataclass
class TestAllowance:
    """What the running test declared it may spend, and what it has spent."""

    nodeid: str
    credits: int | None
    spent: int = 0
    reserved: int = 0


@dataclass
class CreditGuard:
    """The run's credit accounting. ``limit`` None means no budget (the mock's default)."""

    pricing: Pricing
    limit: int | None
    spent: int = 0
    reserved: int = 0
    blocked: int = 0
    surprises: list[str] = field(default_factory=list)
    current: TestAllowance | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def budgeted(self) -> bool:
        """Whether a hard budget is in force (per-test allowances are enforced then too)."""
        return self.limit is not None

    def begin_test(self, nodeid: str, credits: int | None) -> None:
        """Start accounting for one test with its declared allowance (None: unbounded)."""
        self.current = TestAllowance(nodeid, credits)

    def end_test(self) -> TestAllowance | None:
        """Stop accounting for the current test."""
        current, self.current = self.current, None
        return current

    def remaining_for_test(self) -> int | None:
        """Credits the current test may still reserve (None: unbounded)."""
        allowances: list[int] = []
        if self.limit is not None:
            allowances.append(self.limit - self.spent - self.reserved)
        current = self.current
        if self.budgeted and current is not None and current.credits is not None:
            allowances.append(current.credits - current.spent - current.reserved)
        return min(allowances) if allowances else None

    def reserve(self, method: str, path: str, body: Any) -> int:
        """Price a request before it is sent; raise :class:`BudgetExceeded` if it does not fit."""
        price = self.pricing.price(method, path, body)
        if price == 0:
            return 0
        with self._lock:
            remaining = self.remaining_for_test()
            if remaining is not None and price > remaining:
                self.blocked += 1
                who = self.current.nodeid if self.current else "the run"
                raise BudgetExceeded(
                    f"{method} {path} may cost {price} credits, but only {remaining} are left "
                    f"(budget --max-credits {self.limit}, spent {self.spent}; {who} declared "
                    f"{self.current.credits if self.current else '-'}); the request was not sent"
                )
            self.reserved += price
            if self.current is not None:
                self.current.reserved += price
        return price

    def settle(self, method: str, path: str, price: int, status: int) -> None:
        """Account for an answered request reserved at ``price``."""
        with self._lock:
            self.reserved -= price
            if self.current is not None:
                self.current.reserved -= price
            if not 200 <= status < 300:
                return
            if price:
                self.spent += price
                if self.current is not None:
                    self.current.spent += price
                return
            priced = self.pricing.find(method, path)
            if priced is None or priced.price == 0:
                return
            self.spent += priced.price
            note = (
                f"{method} {path} was priced free (invalid body) but answered {status}: "
                f"{priced.price} credits unbudgeted"
            )
            self.surprises.append(note)
        raise UnbudgetedSpend(note)
