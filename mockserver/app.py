"""``create_app``: an ASGI app whose routes are the operations of the specs in ``openapi/``."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockserver.api import account, control, media, nuro, producer, sonic
from mockserver.clock import TimeSource
from mockserver.config import Config, ConfigError
from mockserver.errors import MockError
from mockserver.http import (
    Handler,
    JSONResponse,
    endpoint,
    http_exception_handler,
    mock_error_handler,
    unexpected_error_handler,
)
from mockserver.spec import CONTROL_SPEC, ApiSpec, SpecError
from mockserver.state import MockState


def all_handlers() -> dict[str, Handler]:
    """Every implemented operation's handler, by operationId."""
    return {
        **nuro.handlers(),
        **sonic.handlers(),
        **producer.handlers(),
        **account.handlers(),
        **control.handlers(),
        **media.handlers(),
    }


def _routes(state: MockState, handlers: Mapping[str, Handler]) -> list[Route]:
    ops = state.spec.operations
    missing = sorted(set(ops) - set(handlers))
    if missing:
        raise SpecError(f"operations without a handler: {', '.join(missing)}")
    routes: list[Route] = []
    # Starlette tries routes in order, one regex each: the product's create and poll routes go first,
    # the control plane and media last (that alone took a sixth of a create's time).
    for op_id, op in sorted(ops.items(), key=lambda item: _route_rank(item[1].spec_name, item[1].path)):
        methods = [op.method] + (["HEAD"] if op.method == "GET" else [])
        journal = op.spec_name != CONTROL_SPEC and state.config.journal_size > 0
        routes.append(Route(op.path, endpoint(op, handlers[op_id], state, journal=journal), methods=methods))
    return routes


def _route_rank(spec_name: str, path: str) -> int:
    if spec_name == CONTROL_SPEC:
        return 3
    return 0 if path.endswith("/create") or "/task/" in path else 1


#: The environment variable through which ``serve --workers`` hands its configuration (JSON) to each worker.
WORKER_CONFIG_ENV = "MUSICAPI_MOCK_WORKER_CONFIG"


def app_from_env() -> Starlette:
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
) -> Starlette:
    """Build the mock. ``time_source`` is the only real-time input (tests may inject their own)."""
    state = MockState.build(config or Config(), time_source, spec)

    async def product_spec(request: Request) -> Response:
        return JSONResponse(state.spec.product_document)

    async def control_spec(request: Request) -> Response:
        return JSONResponse(state.spec.control_document)

    routes = [
        Route("/openapi.json", product_spec, methods=["GET"]),
        Route("/_mock/openapi.json", control_spec, methods=["GET"]),
        *_routes(state, all_handlers()),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: http_exception_handler,
            MockError: mock_error_handler,
            Exception: unexpected_error_handler,
        },
    )
    app.state.mock = state
    if state.config.sabotage:  # deliberate faults (contract-suite proofs); nothing is installed otherwise
        from mockserver.sabotage import install

        install(app, state)
    return app
