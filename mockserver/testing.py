"""The mock from Python code: a real server in a thread, its asyncio twin, and an in-process ASGI app.

* :class:`MockServer` — uvicorn on 127.0.0.1 in a background thread::

      with MockServer.start(clock="manual", nuro="legacy") as mock:
          httpx.post(f"{mock.url}/api/v1/nuro/create", headers=mock.headers, json={...})
          mock.advance(60)

* :class:`AsyncMockServer` — the same server for asyncio code; the control methods are coroutines::

      async with AsyncMockServer(clock="manual", nuro="legacy") as mock:
          await mock.advance(60)

* :class:`MockApp` / :func:`asgi_app` — no socket at all: the Starlette app, driven through
  ``httpx.ASGITransport``, and an :class:`~mockserver.client.AsyncMockControl` bound to it.

Settings are keyword arguments named after :class:`~mockserver.config.Config` fields (see
:class:`MockSettings`); they default to what ``musicapi-mock serve`` does (``clock="fast"``,
``nuro="gone"``). The pytest fixture (:mod:`mockserver.pytest_plugin`) uses test-friendly defaults instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, TypedDict, TypeVar, Unpack, overload

import httpx
import uvicorn
from starlette.applications import Starlette

from mockserver.app import create_app
from mockserver.client import AsyncControlMethods, AsyncMockControl, ControlCall, ControlMethods, MockControl
from mockserver.config import ClockMode, Config, NuroMode, parse_clock
from mockserver.errors import ConfigError
from mockserver.http.protocol import GuardedConfig
from mockserver.http.sabotage import FAULTS as FAULTS  # the deliberate faults, for the contract suite
from mockserver.mock import Mock

T = TypeVar("T")

#: The key of :attr:`MockServer.headers` and of :meth:`MockServer.balance` when given none.
DEFAULT_API_KEY = "sk_test_mock"

PathLike = str | os.PathLike[str]


class MockSettings(TypedDict, total=False):
    """Keyword settings of a mock, mapped onto :class:`~mockserver.config.Config`."""

    #: ``instant``, ``fast``, ``realistic`` or ``manual``.
    clock: ClockMode
    #: ``gone``, ``legacy``, an ISO-8601 sunset instant, or a :class:`~mockserver.config.NuroMode`.
    nuro: str | NuroMode
    seed: int
    initial_credits: int
    initial_extra_credits: int
    #: Credits per operationId, on top of the defaults (``{"nuroCreate": 10}``).
    costs: Mapping[str, int]
    default_qps: float | None
    default_queue_capacity: int | None
    #: One scenario file, or several; applied at start and on every reset.
    scenario: PathLike | Sequence[PathLike]
    scenarios: Sequence[PathLike]
    journal_size: int
    journal_body_bytes: int
    journal_bytes: int
    max_body_bytes: int


#: The names :class:`MockSettings` accepts.
SETTINGS: frozenset[str] = frozenset(MockSettings.__annotations__)


def _paths(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str | os.PathLike):
        return (os.fspath(value),)
    if isinstance(value, Sequence):
        return tuple(os.fspath(item) for item in value)
    raise ConfigError(f"{name} takes a path or a list of paths, not {value!r}")


def make_config(config: Config | None = None, **settings: Unpack[MockSettings]) -> Config:
    """``config`` (default: :class:`Config()`) with ``settings`` applied.

    Unknown names raise :class:`TypeError`; unusable values :class:`~mockserver.config.ConfigError`.
    """
    unknown = sorted(set(settings) - SETTINGS)
    if unknown:
        raise TypeError(f"unknown mock setting(s) {', '.join(unknown)}; known: {', '.join(sorted(SETTINGS))}")
    base = config or Config()
    changes: dict[str, object] = {}
    scenarios: list[str] = list(base.scenarios)
    for name, value in settings.items():
        if name == "clock":
            changes["clock"] = parse_clock(str(value))
        elif name == "nuro":
            changes["nuro"] = value if isinstance(value, NuroMode) else NuroMode.parse(str(value))
        elif name == "costs":
            if not isinstance(value, Mapping):
                raise ConfigError(f"costs takes a mapping of operationId to credits, not {value!r}")
            changes["costs"] = {**base.costs, **value}
        elif name in ("scenario", "scenarios"):
            scenarios.extend(_paths(value, name))
            changes["scenarios"] = tuple(scenarios)
        else:
            changes[name] = value
    return base.with_(**changes)


#: ``MUSICAPI_MOCK_TEST_STORE=sqlite``: every :class:`MockServer` and :class:`MockApp` not given a ``state``
#: keeps its state in a SQLite file of its own, in a temporary directory removed once the object is gone;
#: ``postgresql``: in a database of its own, on a PostgreSQL server this process starts on first use
#: (:mod:`mockserver.pgcluster`), dropped once the object is gone (``memory``, the default: in memory).
#: How a test suite — the mock's own — runs on every store.
TEST_STORE_ENV = "MUSICAPI_MOCK_TEST_STORE"
TEST_STORES = ("memory", "sqlite", "postgresql")
_CLUSTER: list[Any] = []


def store_under_test() -> str:
    """The store :data:`TEST_STORE_ENV` asks for: ``memory``, ``sqlite`` or ``postgresql``."""
    kind = os.environ.get(TEST_STORE_ENV, "").strip().lower() or "memory"
    if kind not in TEST_STORES:
        raise ConfigError(f"{TEST_STORE_ENV} takes {', '.join(TEST_STORES)}, not {kind!r}")
    return kind


def cluster_for_tests() -> Any:
    """The PostgreSQL server of this process's test stores (started on first use, stopped at exit)."""
    if not _CLUSTER:
        from mockserver.pgcluster import PgCluster

        _CLUSTER.append(PgCluster().start())
    return _CLUSTER[0]


def with_test_store(owner: object, config: Config) -> Config:
    """``config`` with a temporary state when :data:`TEST_STORE_ENV` asks for SQLite or PostgreSQL.

    The file's directory (the database) is removed when ``owner`` is garbage-collected (or at exit).
    """
    kind = store_under_test()
    if config.state is not None or kind == "memory":
        return config
    if kind == "postgresql":
        cluster = cluster_for_tests()
        url = cluster.create_database()
        weakref.finalize(owner, cluster.drop_database, url)
        return config.with_(state=url)
    directory = tempfile.mkdtemp(prefix="musicapi-mock-test-")
    weakref.finalize(owner, shutil.rmtree, directory, True)
    return config.with_(state=os.path.join(directory, "state.sqlite3"))


# --- a real server in a thread ---------------------------------------------------------------------


class _Factory(Protocol):
    def __call__(
        self,
        config: Config | None = None,
        *,
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        **settings: Unpack[MockSettings],
    ) -> MockServer: ...


class _StartMethod:
    """``MockServer.start(**settings)`` builds and starts a server; ``server.start()`` starts that one."""

    @overload
    def __get__(self, instance: None, owner: type[MockServer]) -> _Factory: ...

    @overload
    def __get__(self, instance: MockServer, owner: type[MockServer]) -> Callable[[], MockServer]: ...

    def __get__(self, instance: MockServer | None, owner: type[MockServer]) -> _Factory | Callable[[], MockServer]:
        if instance is not None:
            return instance._start

        def start(
            config: Config | None = None,
            *,
            port: int = 0,
            api_key: str = DEFAULT_API_KEY,
            **settings: Unpack[MockSettings],
        ) -> MockServer:
            return owner(config, port=port, api_key=api_key, **settings)._start()

        start.__doc__ = "Build a mock with ``settings`` and start it (usable as a context manager)."
        return start


class MockServer(ControlMethods):
    """A running mock: uvicorn on 127.0.0.1 (a free port unless ``port`` is given) in a daemon thread.

    ``MockServer.start(clock="manual", nuro="legacy")`` builds and starts one;
    ``MockServer(Config(...)).start()`` or ``with MockServer(...) as mock:`` also work. Every control-plane
    method of :class:`~mockserver.client.MockControl` is available directly (``mock.advance(30)``,
    ``mock.fail_next("nuroCreate", "nuro.queue_full")``, ``mock.requests``) and through :attr:`control`.
    ``api_key`` is the default key of :meth:`balance`/:meth:`set_balance` and of :attr:`headers`.
    """

    # Later additions to the control plane (webhook inbox, …) get their methods in
    # mockserver.client.ControlMethods and thereby here, on the fixture and on MockControl at once.

    start = _StartMethod()

    def __init__(
        self,
        config: Config | None = None,
        *,
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        **settings: Unpack[MockSettings],
    ) -> None:
        self.config = with_test_store(self, make_config(config, **settings).with_(host="127.0.0.1", port=port))
        self.app: Starlette = create_app(self.config)
        self.api_key = api_key
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._control: MockControl | None = None

    def __repr__(self) -> str:
        where = self.url if self.running else "not started"
        return f"<MockServer {where} clock={self.config.clock} nuro={self.config.nuro.kind}>"

    @property
    def state(self) -> Mock:
        """The server's state (for white-box assertions in the mock's own tests)."""
        state: Mock = self.app.state.mock
        return state

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <api_key>"}`` for an HTTP client of the API."""
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def running(self) -> bool:
        """Whether the server has been started and not stopped."""
        return self._server is not None

    @property
    def control(self) -> MockControl:
        """The control-plane client of this server."""
        if not self.running:
            raise RuntimeError("the mock server is not running: call start() first")
        if self._control is None:
            self._control = MockControl(self.url, api_key=self.api_key, token=self.config.control_token)
        return self._control

    def send(self, call: ControlCall[T]) -> T:
        """Send one control-plane call (what every control method does)."""
        return self.control.send(call)

    def _start(self) -> MockServer:
        """Bind a free port and serve until :meth:`stop` (nothing happens if already running)."""
        if self.running:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.config.port))
        self.port = sock.getsockname()[1]
        config = GuardedConfig(
            self.app, read_timeout=self.config.read_timeout, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"musicapi-mock:{self.port}"
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self._server.should_exit = True
                self._server = None
                sock.close()
                raise RuntimeError("mock server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Shut the server down and wait for it."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> MockServer:
        return self._start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class AsyncMockServer(AsyncControlMethods):
    """:class:`MockServer` for asyncio code: ``async with AsyncMockServer(clock="manual") as mock:``.

    The server still runs in its own thread; the control methods are coroutines over ``httpx.AsyncClient``
    (``await mock.advance(30)``, ``await mock.requests()``).
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        **settings: Unpack[MockSettings],
    ) -> None:
        self.server = MockServer(config, port=port, api_key=api_key, **settings)
        self.api_key = api_key
        self._control: AsyncMockControl | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return self.server.url

    @property
    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <api_key>"}`` for an HTTP client of the API."""
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def state(self) -> Mock:
        """The server's state (white-box)."""
        return self.server.state

    @property
    def control(self) -> AsyncMockControl:
        """The control-plane client of this server."""
        if self._control is None:
            raise RuntimeError("the mock server is not running: use `async with` or await start() first")
        return self._control

    async def send(self, call: ControlCall[T]) -> T:
        """Send one control-plane call."""
        return await self.control.send(call)

    async def start(self) -> AsyncMockServer:
        """Start the server (in its thread) and open the control client."""
        if self._control is None:
            await asyncio.to_thread(self.server.start)
            self._control = AsyncMockControl(
                self.server.url, api_key=self.api_key, token=self.server.config.control_token
            )
        return self

    async def stop(self) -> None:
        """Close the control client and shut the server down."""
        if self._control is not None:
            await self._control.aclose()
            self._control = None
        await asyncio.to_thread(self.server.stop)

    async def __aenter__(self) -> AsyncMockServer:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


# --- in process, no socket ----------------------------------------------------------------------------


class MockApp(AsyncControlMethods):
    """The mock as an in-process ASGI app, for ``httpx.AsyncClient(transport=httpx.ASGITransport(app))``.

    ``app`` is the Starlette app; :attr:`control` an :class:`~mockserver.client.AsyncMockControl` over the
    same transport, and the control methods are available directly (``await mock.advance(30)``).
    :meth:`client` opens an API client with the key's ``Authorization`` header. Nothing listens on a port.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        api_key: str = DEFAULT_API_KEY,
        base_url: str = "http://musicapi-mock",
        **settings: Unpack[MockSettings],
    ) -> None:
        self.config = with_test_store(self, make_config(config, **settings))
        self.app: Starlette = create_app(self.config)
        self.transport = httpx.ASGITransport(app=self.app)
        self.url = base_url
        self.api_key = api_key
        self.control = AsyncMockControl(
            base_url, transport=self.transport, api_key=api_key, token=self.config.control_token
        )

    @property
    def state(self) -> Mock:
        """The app's state (white-box)."""
        state: Mock = self.app.state.mock
        return state

    @property
    def headers(self) -> dict[str, str]:
        """``{"Authorization": "Bearer <api_key>"}`` for an HTTP client of the API."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def client(self, api_key: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` of the API over the ASGI transport, authenticated with ``api_key``."""
        headers = {"Authorization": f"Bearer {api_key or self.api_key}", **kwargs.pop("headers", {})}
        return httpx.AsyncClient(transport=self.transport, base_url=self.url, headers=headers, **kwargs)

    async def send(self, call: ControlCall[T]) -> T:
        """Send one control-plane call through the ASGI transport."""
        return await self.control.send(call)

    async def aclose(self) -> None:
        """Close the control client."""
        await self.control.aclose()

    async def __aenter__(self) -> MockApp:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def asgi_app(config: Config | None = None, **settings: Unpack[MockSettings]) -> tuple[Starlette, AsyncMockControl]:
    """``(app, control)``: the mock's ASGI app and an async control client bound to it (no socket)."""
    mock = MockApp(config, **settings)
    mock.app.state.owner = mock  # a test store (file, database) lives as long as the app, not the wrapper
    return mock.app, mock.control
