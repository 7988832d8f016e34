"""Each control-plane call described once (:class:`ControlCall`): path, method, body, and how to read the answer.

The sync and async clients, and the servers of :mod:`mockserver.testing`, only differ in how they send it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from mockserver.client import models
from mockserver.clock import format_instant

T = TypeVar("T")


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
    #: Error statuses whose body is an answer of the operation all the same (the health probe's 503).
    answers: tuple[int, ...] = ()

    def read(self, response: httpx.Response) -> T:
        """The parsed answer, or :class:`MockControlError` for an error status."""
        if response.is_success or response.status_code in self.answers:
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


_LIMITS = frozenset(models.KeyLimits.__annotations__)


class calls:  # noqa: N801 - a namespace of call builders
    """Builders of every :class:`ControlCall`, shared by the sync and async clients."""

    @staticmethod
    def reset() -> ControlCall[None]:
        """``POST /_mock/reset``."""
        return ControlCall("POST", "/_mock/reset", _none)

    @staticmethod
    def health() -> ControlCall[models.Health]:
        """``GET /_mock/health`` (its 503 is an answer: ``status: unavailable``)."""
        return ControlCall("GET", "/_mock/health", _body, answers=(503,))

    @staticmethod
    def clock() -> ControlCall[models.ClockState]:
        """``GET /_mock/clock``."""
        return ControlCall("GET", "/_mock/clock", _body)

    @staticmethod
    def advance(seconds: float) -> ControlCall[models.ClockState]:
        """``POST /_mock/clock/advance``."""
        return ControlCall("POST", "/_mock/clock/advance", _body, json={"seconds": seconds})

    @staticmethod
    def errors() -> ControlCall[list[models.CatalogEntry]]:
        """``GET /_mock/errors``."""
        return ControlCall("GET", "/_mock/errors", _item("errors"))

    @staticmethod
    def keys() -> ControlCall[list[models.KeyState]]:
        """``GET /_mock/keys``."""
        return ControlCall("GET", "/_mock/keys", _item("keys"))

    @staticmethod
    def balance(api_key: str) -> ControlCall[models.KeyState]:
        """``GET /_mock/keys/{api_key}``."""
        return ControlCall("GET", f"/_mock/keys/{_segment(api_key)}", _body)

    @staticmethod
    def set_balance(
        api_key: str, credits: int | None, extra_credits: int | None, limits: Mapping[str, Any]
    ) -> ControlCall[models.KeyState]:
        """``PUT /_mock/keys/{api_key}`` with only the fields given."""
        unknown = sorted(set(limits) - _LIMITS)
        if unknown:
            raise TypeError(f"set_balance() got unknown limits {unknown}; known: {sorted(_LIMITS)}")
        body: dict[str, Any] = {**_optional(credits=credits, extra_credits=extra_credits), **limits}
        if "expires_at" in body:
            body["expires_at"] = _instant(body["expires_at"])
        return ControlCall("PUT", f"/_mock/keys/{_segment(api_key)}", _body, json=body)

    @staticmethod
    def ledger(api_key: str | None) -> ControlCall[models.Ledger]:
        """``GET /_mock/ledger``."""
        return ControlCall("GET", "/_mock/ledger", _body, params=_optional(api_key=api_key))

    @staticmethod
    def faults() -> ControlCall[list[models.FaultRuleState]]:
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
    ) -> ControlCall[models.FaultRuleState]:
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
    def tasks(api_key: str | None) -> ControlCall[list[models.TaskState]]:
        """``GET /_mock/tasks``."""
        return ControlCall("GET", "/_mock/tasks", _item("tasks"), params=_optional(api_key=api_key))

    @staticmethod
    def task(task_id: str) -> ControlCall[models.TaskState]:
        """``GET /_mock/tasks/{task_id}``."""
        return ControlCall("GET", f"/_mock/tasks/{_segment(task_id)}", _body)

    @staticmethod
    def fail(task_id: str, error: str, at_progress: int | None) -> ControlCall[models.TaskState]:
        """``POST /_mock/tasks/{task_id}/fail``."""
        body = {"error": error, **_optional(at_progress=at_progress)}
        return ControlCall("POST", f"/_mock/tasks/{_segment(task_id)}/fail", _body, json=body)

    @staticmethod
    def complete(task_id: str) -> ControlCall[models.TaskState]:
        """``POST /_mock/tasks/{task_id}/complete``."""
        return ControlCall("POST", f"/_mock/tasks/{_segment(task_id)}/complete", _body)

    @staticmethod
    def journal(
        api_key: str | None,
        limit: int | None,
        after: int | None = None,
        operation: str | None = None,
        status: int | None = None,
        body_contains: str | None = None,
    ) -> ControlCall[list[models.JournalEntry]]:
        """``GET /_mock/requests``."""
        params = _optional(
            api_key=api_key, limit=limit, after=after, operation=operation, status=status, body_contains=body_contains
        )
        return ControlCall("GET", "/_mock/requests", _item("requests"), params=params)

    @staticmethod
    def webhooks(task_id: str | None) -> ControlCall[list[models.WebhookDelivery]]:
        """``GET /_mock/webhooks``."""
        return ControlCall("GET", "/_mock/webhooks", _item("deliveries"), params=_optional(task_id=task_id))


def verified(found: Sequence[models.JournalEntry], times: int | None) -> bool:
    """Whether ``found`` calls satisfy an expectation of ``times`` calls (None: at least one)."""
    return bool(found) if times is None else len(found) == times


def verification_failure(
    operation: str,
    times: int | None,
    filters: Mapping[str, object],
    found: Sequence[models.JournalEntry],
    recent: Sequence[models.JournalEntry],
) -> str:
    """The message of a failed :meth:`assert_called`: what was expected, what matched, what was called."""
    given = ", ".join(f"{name}={value!r}" for name, value in filters.items() if value is not None)
    expected = (
        f"{operation}{f' ({given})' if given else ''} called {'at least once' if times is None else f'{times} time(s)'}"
    )
    lines = [f"expected {expected}; matched {len(found)} call(s)."]
    lines.append("last calls in the journal:" if recent else "the journal is empty.")
    lines += [f"  #{e['seq']} {e['operation']} {e['method']} {e['path']} -> {e['status']}" for e in recent]
    return "\n".join(lines)


# --- the methods, written once per flavour -------------------------------------------------------------
