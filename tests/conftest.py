"""Shared fixtures: real mock servers (uvicorn on 127.0.0.1) and HTTP clients for them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from mockserver.config import Config, NuroMode
from mockserver.testing import TEST_STORE_ENV, MockServer, store_under_test

KEY = "sk_test_key"
ServerFactory = Callable[..., MockServer]
#: The store every server of this run uses: ``MUSICAPI_MOCK_TEST_STORE=sqlite`` runs the same suite on the
#: SQLite store (``MockServer`` gives each server a temporary state file), the default is memory.
STORE = store_under_test()


def pytest_report_header() -> str:
    """Say which store the run exercises."""
    return f"musicapi-mock store: {STORE} (set {TEST_STORE_ENV}=memory|sqlite)"


def cli_state_args(directory: Path) -> list[str]:
    """``--state FILE`` for a ``musicapi-mock serve`` subprocess when the run exercises SQLite."""
    return ["--state", str(directory / "cli-state.sqlite3")] if STORE == "sqlite" else []


@pytest.fixture
def start_server() -> Iterator[ServerFactory]:
    """Start real servers with any config; all are stopped after the test."""
    with ExitStack() as stack:

        def start(**changes: object) -> MockServer:
            return stack.enter_context(MockServer(Config().with_(**changes)))

        yield start


@pytest.fixture(scope="module")
def legacy_server() -> Iterator[MockServer]:
    """A manual-clock server with Nuro in legacy mode, shared by a module (reset per test)."""
    with MockServer(Config(clock="manual", nuro=NuroMode.parse("legacy"))) as server:
        yield server


@pytest.fixture
def legacy(legacy_server: MockServer) -> Iterator[httpx.Client]:
    """A client of the shared legacy server, after a reset, authenticated with :data:`KEY`."""
    with httpx.Client(base_url=legacy_server.url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        client.post("/_mock/reset").raise_for_status()
        yield client


def advance(client: httpx.Client, seconds: float) -> None:
    """Move the server's virtual clock forward through the control plane."""
    client.post("/_mock/clock/advance", json={"seconds": seconds}).raise_for_status()


def assert_matches_spec(operation_id: str, status: int, body: object) -> None:
    """The body is valid against the operation's response schema for ``status`` in openapi/."""
    import jsonschema

    from mockserver.spec import ApiSpec, to_json_schema

    spec = _spec_cache.get("spec")
    if not isinstance(spec, ApiSpec):
        spec = _spec_cache["spec"] = ApiSpec.load()
    schema = to_json_schema(spec.response_schema(operation_id, status))
    errors = [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(body)]
    assert not errors, f"{operation_id} {status}: {errors[:3]}"


_spec_cache: dict[str, object] = {}
