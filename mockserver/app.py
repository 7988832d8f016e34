"""``create_app``: an ASGI app whose routes are the operations of the specs in ``openapi/``.

Every operation of the specs must have a handler and every handler an operation (checked at start-up).
The product operations are answered on the hot path of :class:`~mockserver.http.dispatch.MockApp` (a dict
dispatch); Starlette routes the rest, in an order that puts the product first and the control plane,
media and docs last, so both agree on which route a path is.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver import apidocs, dashboard
from mockserver.clock import TimeSource
from mockserver.config import Config
from mockserver.control import ControlHandlers
from mockserver.engine.family import ErrorFormat
from mockserver.engine.webhooks import Sender
from mockserver.errors import ConfigError
from mockserver.http.call import Handler
from mockserver.http.dispatch import HotRoutes, MockApp, with_head
from mockserver.http.endpoint import control_guard, endpoint
from mockserver.http.errors import PathFormats, RefusalMiddleware, exception_handlers
from mockserver.http.responses import JSONResponse
from mockserver.media.handlers import MediaHandlers
from mockserver.mock import Mock
from mockserver.spec import CONTROL_SPEC, ApiSpec, SpecError

#: A Starlette endpoint.
Endpoint = Callable[[Request], Awaitable[Response]]
#: The families of the mock's own API (tags of mock-control.yaml); they answer in the mock's error format.
OWN_FAMILIES = ("control", "media")


def all_handlers(mock: Mock) -> dict[str, Handler]:
    """Every implemented operation's handler, by operationId."""
    handlers: dict[str, Handler] = {}
    for entry in mock.families:
        handlers.update(entry.handlers(mock.ctx, mock.outbound))
    handlers.update(ControlHandlers(mock.ctx, mock.spec, mock.webhooks, mock.reset).routes())
    stems = {name for names in mock.spec.schema("sonic", "SonicStemsResponse")["x-stems"].values() for name in names}
    handlers.update(MediaHandlers(mock.ctx, mock.webhooks.families, stems).routes())
    return handlers


def error_formats(mock: Mock) -> dict[str, ErrorFormat]:
    """Each family's error format, by the family name its operations are tagged with."""
    formats: dict[str, ErrorFormat] = {entry.name: entry.error_format for entry in mock.families}
    formats.update(dict.fromkeys(OWN_FAMILIES, "mock"))
    return formats


def missing_ids(mock: Mock) -> dict[str, str]:
    """Poll paths without their id (``/api/v1/sonic/task/``) and the error the family documents for them."""
    errors = {entry.name: entry.tasks.errors for entry in mock.families if entry.tasks is not None}
    found: dict[str, str] = {}
    for op in mock.spec.operations.values():
        family_errors = errors.get(op.family)
        if op.path.endswith("/{task_id}") and family_errors is not None and family_errors.missing_task_id:
            found[op.path.removesuffix("{task_id}")] = family_errors.missing_task_id
    return found


def _routes(
    mock: Mock, handlers: Mapping[str, Handler], formats: Mapping[str, ErrorFormat]
) -> tuple[list[Route], HotRoutes]:
    ops = mock.spec.operations
    missing = sorted(set(ops) - set(handlers))
    if missing:
        raise SpecError(f"operations without a handler: {', '.join(missing)}")
    extra = sorted(set(handlers) - set(ops))
    if extra:
        raise SpecError(f"handlers without an operation in openapi/: {', '.join(extra)}")
    control = control_guard(mock.config)
    # One route per path, whatever its methods: a 405 then names every method of the path in ``Allow``.
    by_path: dict[str, dict[str, Endpoint]] = {}
    product: set[str] = set()
    for op_id, op in sorted(ops.items(), key=lambda item: _route_rank(item[1].spec_name, item[1].path)):
        journal = op.spec_name != CONTROL_SPEC and mock.config.journal_size > 0
        fmt = formats.get(op.family, "general")
        probe = bool(op.raw.get("x-probe"))  # the health probe: open to all, and it must answer a broken store
        guard = control if op.family == "control" and not probe else None
        by_path.setdefault(op.path, {})[op.method] = endpoint(
            op, handlers[op_id], mock.ctx, mock.webhooks, fmt=fmt, journal=journal, guard=guard, probe=probe
        )
        if op.spec_name != CONTROL_SPEC:
            product.add(op.path)
    # the product's paths come first in the route order, so the hot path answers them as Starlette would
    hot = HotRoutes([(path, table) for path, table in by_path.items() if path in product])
    return [_route(path, table) for path, table in by_path.items()], hot


def _route(path: str, table: dict[str, Endpoint]) -> Route:
    if len(table) == 1:
        ((method, run),) = table.items()
        return Route(path, run, methods=[method])  # Starlette adds HEAD to GET routes itself
    table = with_head(table)

    async def by_method(request: Request) -> Response:
        return await table[request.method](request)

    return Route(path, by_method, methods=list(table))


def _route_rank(spec_name: str, path: str) -> int:
    if spec_name == CONTROL_SPEC:
        return 3
    return 0 if path.endswith("/create") or "/task/" in path else 1


#: The environment variable through which ``serve --workers`` hands its configuration (JSON) to each worker.
WORKER_CONFIG_ENV = "MUSICAPI_MOCK_WORKER_CONFIG"


def app_from_env() -> MockApp:
    """The app of one worker of ``musicapi-mock serve --workers N`` (uvicorn's import-string app factory).

    Its :class:`~mockserver.config.Config` is the JSON in :data:`WORKER_CONFIG_ENV`, set by the command.
    """
    text = os.environ.get(WORKER_CONFIG_ENV)
    if not text:
        raise ConfigError(
            f"{WORKER_CONFIG_ENV} is not set: app_from_env serves the workers of `musicapi-mock serve --workers N`"
        )
    return create_app(Config.from_json(text))


def create_app(
    config: Config | None = None,
    *,
    time_source: TimeSource = time.time,
    spec: ApiSpec | None = None,
    sender: Sender | None = None,
) -> MockApp:
    """Build the mock. ``time_source`` is the only real-time input (tests may inject their own)."""
    mock = Mock.build(config or Config(), time_source, spec, sender)

    async def product_spec(request: Request) -> Response:
        return JSONResponse(mock.spec.product_document)

    async def control_spec(request: Request) -> Response:
        return JSONResponse(mock.spec.control_document)

    formats = error_formats(mock)
    operation_routes, hot = _routes(mock, all_handlers(mock), formats)
    routes = [
        Route("/openapi.json", product_spec, methods=["GET"]),
        Route("/_mock/openapi.json", control_spec, methods=["GET"]),
        *operation_routes,
        *apidocs.routes(),  # last: every product request would try their patterns first
        *dashboard.routes(),
    ]
    format_of = PathFormats(formats)
    app = MockApp(
        routes=routes,
        exception_handlers=exception_handlers(format_of, missing_ids(mock)),
        middleware=[Middleware(RefusalMiddleware, format_of=format_of)],
    )
    app.router.redirect_slashes = False  # a Host-built redirect on a trailing slash: a 404 in the API format instead
    app.state.mock = mock
    app.hot = hot  # off again if middleware is added below
    if mock.config.sabotage:  # deliberate faults (contract-suite proofs); nothing is installed otherwise
        from mockserver.http.sabotage import install

        install(app, mock.ctx)
    if mock.config.replay:  # recorded answers first (musicapi-mock serve --replay DIR)
        from mockserver.cassettes.replay import Replay, ReplayMiddleware

        app.add_middleware(ReplayMiddleware, replay=Replay.load(Path(mock.config.replay)))
    return app
