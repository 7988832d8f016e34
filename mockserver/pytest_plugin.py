"""pytest plugin: the ``musicapi_mock`` fixture and marker (registered as the ``musicapi_mock`` pytest11 entry point).

::

    def test_song(musicapi_mock):
        http = httpx.Client(base_url=musicapi_mock.url, headers=musicapi_mock.headers)
        task_id = http.post("/api/v1/nuro/create", json={"type": "bgm", "description": "calm piano"}).json()["task_id"]
        musicapi_mock.advance(120)
        assert http.get(f"/api/v1/nuro/task/{task_id}").json()["status"] == "succeeded"

    @pytest.mark.musicapi_mock(nuro="gone", initial_credits=5)
    def test_other_settings(musicapi_mock): ...

* The fixture is a running :class:`~mockserver.testing.MockServer` (uvicorn on 127.0.0.1, a free port):
  every control method (``advance``, ``complete``, ``fail``, ``fail_next``, ``balance``, ``set_balance``,
  ``ledger``, ``errors``, ``requests``, ``reset``, …), ``url``, ``api_key`` (``sk_test_mock``) and ``headers``.
* Defaults suit tests: ``clock="manual"`` (time moves only with ``advance``), ``seed=0``, ``nuro="legacy"``
  (Nuro answers as documented instead of ``410 Gone``); everything else as ``musicapi-mock serve``.
* One server per configuration per session: the unmarked tests share one; each distinct marker
  configuration gets its own, started the first time a test asks for it and kept for the session.
  Every test starts from a reset (no tasks, starting balances, no fault rules, clock at real time).
* ``@pytest.mark.musicapi_mock(**settings)`` takes the keywords of :class:`~mockserver.testing.MockSettings`
  plus ``api_key``; markers on a module or class apply too, the closest winning. A relative
  ``scenario`` path is looked up next to the test file first.

Importing this module starts nothing; servers start only when a test asks for the fixture.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mockserver.testing import MockServer

MARKER = "musicapi_mock"

#: The fixture's settings when no marker says otherwise.
FIXTURE_DEFAULTS: Mapping[str, Any] = {"clock": "manual", "seed": 0, "nuro": "legacy"}


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): settings of the musicapi_mock fixture's server for this test "
        "(clock, nuro, seed, initial_credits, initial_extra_credits, costs, default_qps, "
        "default_queue_capacity, scenario, scenarios, journal_size, journal_body_bytes, journal_bytes, "
        "max_body_bytes, api_key).",
    )


class MockServerPool:
    """Running mock servers by configuration, shared by a session and stopped at its end."""

    def __init__(self) -> None:
        self._servers: dict[str, MockServer] = {}

    def get(self, settings: Mapping[str, Any]) -> MockServer:
        """The server for ``settings`` (keywords of ``MockSettings`` plus ``api_key``), started if new.

        Raises ``TypeError`` for unknown names and ``ConfigError`` for unusable values.
        """
        from mockserver.testing import DEFAULT_API_KEY, MockServer, make_config

        options = dict(settings)
        api_key = str(options.pop("api_key", DEFAULT_API_KEY))
        config = make_config(**options)
        key = repr(config)
        server = self._servers.get(key)
        if server is None:
            server = MockServer(config).start()
            self._servers[key] = server
        server.api_key = api_key
        return server

    def close(self) -> None:
        """Stop every server."""
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


def _marker_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The markers' settings on top of the defaults (module, then class, then function)."""
    from mockserver.testing import SETTINGS

    settings = dict(FIXTURE_DEFAULTS)
    known = SETTINGS | {"api_key"}
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            pytest.fail(f"@pytest.mark.{MARKER} takes keyword arguments only, not {marker.args!r}", pytrace=False)
        unknown = sorted(set(marker.kwargs) - known)
        if unknown:
            pytest.fail(
                f"@pytest.mark.{MARKER}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}",
                pytrace=False,
            )
        settings.update(marker.kwargs)
    for name in ("scenario", "scenarios"):
        if name in settings:
            settings[name] = _near_test(request, settings[name])
    return settings


def _near_test(request: pytest.FixtureRequest, value: Any) -> Any:
    """Relative scenario paths that exist next to the test file, made absolute; others as given."""

    def resolve(item: Any) -> Any:
        if isinstance(item, str | os.PathLike) and not Path(item).is_absolute():
            candidate = Path(request.node.path).parent / item
            if candidate.exists():
                return str(candidate)
        return item

    if isinstance(value, list | tuple):
        return [resolve(item) for item in value]
    return resolve(value)


@pytest.fixture(scope="session")
def musicapi_mock_pool() -> Iterator[MockServerPool]:
    """The session's mock servers, by configuration (used by :func:`musicapi_mock`)."""
    pool = MockServerPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def musicapi_mock(request: pytest.FixtureRequest, musicapi_mock_pool: MockServerPool) -> MockServer:
    """A running MusicAPI mock, reset for this test (manual clock, seed 0, Nuro legacy unless marked).

    A :class:`~mockserver.testing.MockServer`: ``url``, ``api_key``, ``headers``, ``advance(seconds)``,
    ``complete(task_id)``, ``fail(task_id, error, at_progress=None)``, ``fail_next(operation, error, times=1)``,
    ``balance(key=None)``, ``set_balance(key, credits=..., ...)``, ``ledger()``, ``tasks()``, ``errors()``,
    ``requests``, ``reset()``. (Control-plane features added later, such as a webhook inbox, arrive through
    :class:`~mockserver.client.ControlMethods`, which the server inherits.)
    """
    from mockserver.errors import ConfigError

    settings = _marker_settings(request)
    try:
        server = musicapi_mock_pool.get(settings)
    except (TypeError, ConfigError) as exc:
        pytest.fail(f"@pytest.mark.{MARKER}: {exc}", pytrace=False)
    server.reset()
    return server


@pytest.fixture
def musicapi_mock_url(musicapi_mock: MockServer) -> str:
    """The base URL of :func:`musicapi_mock` (reset for this test like it)."""
    return musicapi_mock.url
