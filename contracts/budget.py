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

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from mockserver.spec import CONTROL_SPEC, ApiSpec, Operation


class BudgetExceeded(Exception):
    """A request would spend more than the run's budget or the test's declared allowance; it was not sent."""


class UnbudgetedSpend(AssertionError):
    """A request priced as free was answered 2xx by an operation that bills: the documents or the guard are wrong."""


@dataclass(frozen=True, slots=True)
class PricedOperation:
    """A product operation, the regex of its path and its list price."""

    operation: Operation
    pattern: re.Pattern[str]
    price: int
    #: Whether the price list names the operation (an unlisted write is priced at the ceiling, to be safe).
    listed: bool


def _path_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


class Pricing:
    """Documented prices of the product operations of ``spec``."""

    def __init__(self, spec: ApiSpec, costs: Mapping[str, int]) -> None:
        self.spec = spec
        ceiling = max(costs.values(), default=0)
        self.operations: list[PricedOperation] = []
        for op in spec.operations.values():
            if op.spec_name == CONTROL_SPEC:
                continue
            variants = [v for k, v in costs.items() if k == op.operation_id or k.startswith(op.operation_id + ".")]
            if op.method == "GET":
                price = 0
            elif variants:
                price = max(variants)
            else:
                price = ceiling
            self.operations.append(PricedOperation(op, _path_regex(op.path), price, bool(variants)))

    def find(self, method: str, path: str) -> PricedOperation | None:
        """The product operation a request goes to, if any."""
        for priced in self.operations:
            if priced.operation.method == method.upper() and priced.pattern.match(path):
                return priced
        return None

    def list_price(self, operation_id: str) -> int:
        """What one billable call of ``operation_id`` may cost."""
        for priced in self.operations:
            if priced.operation.operation_id == operation_id:
                return priced.price
        return 0

    def billed(self, operation_id: str) -> bool:
        """Whether the documents price the operation (so a call of it is debited)."""
        return any(p.operation.operation_id == operation_id and p.listed and p.price > 0 for p in self.operations)

    def price(self, method: str, path: str, body: Any) -> int:
        """The most one request may cost (see the module docs). ``body`` is parsed JSON, or ``NO_BODY``."""
        priced = self.find(method, path)
        if priced is None or priced.price == 0:
            return 0
        validator = priced.operation.body
        if validator is None:
            return priced.price
        if isinstance(body, bytes | bytearray):
            body = json_body(bytes(body), "application/json")
        try:
            valid = body is not NO_BODY and bool(validator.is_valid(body))
        except (TypeError, ValueError):  # not a JSON value at all
            valid = False
        return priced.price if valid else 0


class _NoBody:
    def __repr__(self) -> str:
        return "NO_BODY"


#: A request without a (JSON) body.
NO_BODY: Any = _NoBody()


def json_body(content: bytes, content_type: str | None) -> Any:
    """The JSON value of a request body, or :data:`NO_BODY` (absent, not JSON, or not labelled JSON)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    is_json = media == "application/json" or (media.startswith("application/") and media.endswith("+json"))
    if not content or not is_json:
        return NO_BODY
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return NO_BODY


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
