"""The hand-written copies of records (faster than ``dataclasses.replace``) copy every other field."""

from __future__ import annotations

from dataclasses import fields, replace

from mockserver.engine.records import Account, Entry


def test_an_account_with_other_balances_keeps_every_other_field() -> None:
    account = Account(
        "k", 10, 3, qps=2.5, queue_capacity=4, expires_at=9.0, usage_limit=7, usage=1, invalid_signature=True
    )
    assert account.with_balances(5, 1, 2) == replace(account, credits=5, extra_credits=1, usage=2)
    assert {f.name for f in fields(Account)} == {
        "api_key",
        "credits",
        "extra_credits",
        "qps",
        "queue_capacity",
        "expires_at",
        "usage_limit",
        "usage",
        "invalid_signature",
    }  # a new field must be copied by with_balances too


def test_a_numbered_entry_keeps_every_other_field() -> None:
    entry = Entry(0, "k", "refund", 3, 1, 2.0, "t", "op", "nuro.failed")
    assert entry.numbered(42) == replace(entry, seq=42)
    assert {f.name for f in fields(Entry)} == {
        "seq",
        "api_key",
        "reason",
        "credits",
        "extra_credits",
        "instant",
        "task_id",
        "operation",
        "error_id",
    }  # a new field must be copied by numbered too
