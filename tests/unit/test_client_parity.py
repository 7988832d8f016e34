"""The blocking and async control clients are twins: same methods, same parameters, same answers."""

from __future__ import annotations

import inspect

from mockserver.client import AsyncControlMethods, ControlMethods

#: Conveniences that are properties on the blocking side and zero-argument coroutines on the async one.
PROPERTIES = {"requests", "webhooks"}


def public(cls: type) -> dict[str, object]:
    return {name: value for name, value in vars(cls).items() if not name.startswith("_") and name != "api_key"}


def test_the_same_methods_on_both_sides() -> None:
    assert set(public(ControlMethods)) == set(public(AsyncControlMethods))


def test_each_async_method_is_a_coroutine_with_the_blocking_twins_signature() -> None:
    sync, async_ = public(ControlMethods), public(AsyncControlMethods)
    for name, method in sync.items():
        twin = async_[name]
        assert inspect.iscoroutinefunction(twin), name
        if name in PROPERTIES:
            assert isinstance(method, property) and list(inspect.signature(twin).parameters) == ["self"], name
            continue
        assert callable(method) and not inspect.iscoroutinefunction(method), name
        assert inspect.signature(method) == inspect.signature(twin), name
