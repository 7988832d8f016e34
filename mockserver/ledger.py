"""Accounts and the credit ledger.

One account per API key. ``extra_credits`` are spent before ``credits``; a refund returns exactly
what its debit took, to the same pools, at most once. Every movement is an :class:`Entry`, so
for any key: ``sum of entries == balance`` and ``granted + adjusted == balance + debits - refunds``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Reason = Literal["grant", "adjust", "debit", "refund"]


@dataclass(frozen=True, slots=True)
class Account:
    """A key's balances and limits. ``None`` means unlimited / never."""

    api_key: str
    credits: int
    extra_credits: int = 0
    qps: float | None = None
    queue_capacity: int | None = None
    expires_at: float | None = None
    usage_limit: int | None = None
    #: Generations accepted so far (counts against ``usage_limit``).
    usage: int = 0
    #: Magic keys: every request fails authentication with "Invalid signature".
    invalid_signature: bool = False

    @property
    def total(self) -> int:
        """Credits available for spending."""
        return self.credits + self.extra_credits


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger movement. ``credits``/``extra_credits`` are signed deltas."""

    seq: int
    api_key: str
    reason: Reason
    credits: int
    extra_credits: int
    instant: float
    task_id: str | None = None
    operation: str | None = None
    error_id: str | None = None

    @property
    def amount(self) -> int:
        """The total signed delta."""
        return self.credits + self.extra_credits


class InsufficientCredits(Exception):
    """The account cannot pay ``cost``."""


def debit(account: Account, cost: int) -> tuple[Account, int, int]:
    """Take ``cost`` (extra credits first). Returns the new account and the amounts taken per pool."""
    if cost > account.total:
        raise InsufficientCredits(f"{account.total} credits left, {cost} needed")
    from_extra = min(account.extra_credits, cost)
    from_credits = cost - from_extra
    updated = replace(
        account,
        credits=account.credits - from_credits,
        extra_credits=account.extra_credits - from_extra,
        usage=account.usage + 1,
    )
    return updated, from_credits, from_extra


def credit_back(account: Account, credits: int, extra_credits: int) -> Account:
    """Return a debit's amounts to their pools."""
    return replace(account, credits=account.credits + credits, extra_credits=account.extra_credits + extra_credits)
