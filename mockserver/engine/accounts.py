"""Accounts: opened on first sight, authenticated on every call, configured from the control plane."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from mockserver.catalog import CATALOG, FamilyErrors
from mockserver.clock import parse_instant
from mockserver.engine.context import Context
from mockserver.engine.records import Account, Entry
from mockserver.engine.settlement import settle_key
from mockserver.engine.triggers import apply_preset, magic_preset
from mockserver.errors import MockError


def account_for(ctx: Context, api_key: str, now: float) -> Account:
    """The key's account, opened with the configured starting balance (or a magic preset) on first sight."""
    store = ctx.store
    account = store.get_account(api_key)
    if account is not None:
        return account
    with store.transaction():
        account = store.get_account(api_key)  # opened meanwhile by another worker?
        if account is not None:
            return account
        config = ctx.config
        account = Account(
            api_key,
            config.initial_credits,
            config.initial_extra_credits,
            qps=config.default_qps,
            queue_capacity=config.default_queue_capacity,
        )
        preset = magic_preset(api_key)
        if preset is not None:
            account = apply_preset(account, preset)
        store.put_account(account)
        if account.credits or account.extra_credits:
            store.add_entry(Entry(0, api_key, "grant", account.credits, account.extra_credits, now))
    return account


def authenticate(ctx: Context, errors: FamilyErrors, api_key: str, now: float) -> Account:
    """Gateway checks every call passes: signature, expiry, QPS (errors in the family's entries)."""
    account = account_for(ctx, api_key, now)
    if account.invalid_signature:
        raise MockError(CATALOG[errors.invalid_signature])
    if account.expires_at is not None and now >= account.expires_at:
        raise MockError(CATALOG[errors.expired])
    if not ctx.limiter.admit(api_key, account.qps, now):
        raise MockError(CATALOG[errors.qps_limit])
    return account


def configure_key(ctx: Context, api_key: str, settings: Mapping[str, Any]) -> Account:
    """Set a key's balances and limits; balance changes are ledger ``adjust`` entries."""
    now = ctx.clock.now()
    changes = dict(settings)
    if isinstance(changes.get("expires_at"), str):
        changes["expires_at"] = parse_instant(changes["expires_at"])
    with ctx.store.transaction():
        settle_key(ctx, api_key, now)
        account = account_for(ctx, api_key, now)
        updated = replace(account, **changes)
        delta_credits = updated.credits - account.credits
        delta_extra = updated.extra_credits - account.extra_credits
        ctx.store.put_account(updated)
        if delta_credits or delta_extra:
            ctx.store.add_entry(Entry(0, api_key, "adjust", delta_credits, delta_extra, now))
    return updated


def balance(ctx: Context, api_key: str) -> Account:
    """A key's account after settling refunds that are due."""
    now = ctx.clock.now()
    settle_key(ctx, api_key, now)
    return account_for(ctx, api_key, now)
