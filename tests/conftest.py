"""Shared fixtures: real mock servers (uvicorn on 127.0.0.1) and HTTP clients for them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from mockserver.config import Config, NuroMode
from mockserver.testing import TEST_STORE_ENV, MockServer
from tests.helpers import KEY, STORE, ServerFactory


def pytest_report_header() -> str:
    """Say which store the run exercises."""
    return f"musicapi-mock store: {STORE} (set {TEST_STORE_ENV}=memory|sqlite|postgresql)"


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
