"""Documented prices of the product operations, and what one request may cost before it is sent.

Shared by the contract suite's credit guard (``contracts/budget.py``) and the recording proxy
(``musicapi-mock record --max-credits``), so both price a request the same way. A request's price is the
documented price of its operation (``mockserver.config.DEFAULT_COSTS``, the newest documented values) when
it could be billed, and 0 when the documents say it cannot: ``GET`` operations are free, a body the spec
rejects is refused before any debit, and anything that is not a product operation is free. An operation
the price list does not name is priced, conservatively, at the highest documented price.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from mockserver.spec import CONTROL_SPEC, ApiSpec, Operation


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
        self.costs = costs
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

    def base_price(self, operation_id: str) -> int:
        """The documented price of ``operation_id`` without a variant (e.g. Sonic on v4.5+: 14); 0 if unpriced."""
        return int(self.costs.get(operation_id, 0))

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
