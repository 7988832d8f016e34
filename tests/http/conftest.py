"""The HTTP tests' shared server: one manual-clock, Nuro-legacy mock per module, reset before each test.

A module names the key its client sends as ``KEY``; a module that needs another configuration defines its
own ``server`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockserver.config import Config, NuroMode
from mockserver.testing import MockServer


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    """A manual-clock mock with Nuro in legacy mode, for the whole module."""
    with MockServer(Config(clock="manual", nuro=NuroMode.parse("legacy"))) as mock:
        yield mock


@pytest.fixture
def client(server: MockServer, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """An API client with the module's ``KEY``, over a freshly reset mock."""
    key = getattr(request.module, "KEY", "sk_test")
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        c.post("/_mock/reset").raise_for_status()
        yield c
