"""The credit ledger's arithmetic: debits, refunds and the totals every key must balance.

``extra_credits`` are spent before ``credits``; a refund returns exactly what its debit took, to the
same pools, at most once. Every movement is an :class:`~mockserver.engine.records.Entry`, so for any
key: ``sum of entries == balance`` and ``granted + adjusted == balance + debits - refunds``.
"""

from __future__ import annotations

from collections.abc import Iterable

from mockserver.engine.records import Account, Entry

_TOTAL_OF = {"grant": "granted", "adjust": "adjusted", "debit": "debited", "refund": "refunded"}


def debit(account: Account, cost: int) -> tuple[Account, int, int]:
    """Take ``cost`` (extra credits first; the caller checked it is affordable).

    Returns the new account and the amounts taken per pool.
    """
    from_extra = min(account.extra_credits, cost)
    from_credits = cost - from_extra
    updated = account.with_balances(
        account.credits - from_credits, account.extra_credits - from_extra, account.usage + 1
    )
    return updated, from_credits, from_extra


def credit_back(account: Account, credits: int, extra_credits: int) -> Account:
    """Return a debit's amounts to their pools."""
    return account.with_balances(account.credits + credits, account.extra_credits + extra_credits, account.usage)


def totals(entries: Iterable[Entry]) -> dict[str, int]:
    """``granted``, ``adjusted``, ``debited``, ``refunded`` (all positive) and the ``balance`` they imply."""
    sums = dict.fromkeys(_TOTAL_OF.values(), 0)
    for entry in entries:
        sums[_TOTAL_OF[entry.reason]] += -entry.amount if entry.reason == "debit" else entry.amount
    sums["balance"] = sums["granted"] + sums["adjusted"] - sums["debited"] + sums["refunded"]
    return sums
