"""What the control plane answers: the response schemas of ``openapi/mock-control.yaml`` as TypedDicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypedDict


class ClockState(TypedDict):
    """``ClockState``: the virtual clock."""

    now: str
    epoch: float
    mode: Literal["manual", "running"]
    profile: Literal["instant", "fast", "realistic", "manual"]


class HealthStore(TypedDict, total=False):
    """``Health.store``: which store, whether it answers, and why not."""

    kind: Literal["memory", "sqlite"]
    reachable: bool
    error: str


class Health(TypedDict):
    """``Health``: the readiness probe's answer."""

    status: Literal["ok", "unavailable"]
    version: str
    uptime_seconds: float
    store: HealthStore
    clock: ClockState
    nuro: str
    workers: int


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
    query: str
    request_headers: dict[str, str]
    request_body: str | None
    request_body_truncated: bool
    response_body: str | None
    response_body_truncated: bool


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
