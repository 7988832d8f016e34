"""The one place a :class:`~mockserver.errors.MockError` becomes an HTTP response.

Errors are rendered in the body format of the family the request was for. Nothing reaches a client as
a traceback: unexpected exceptions become the catalog's ``request.internal`` in the family's format.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.catalog import CATALOG
from mockserver.config import ERROR_FIELDS
from mockserver.engine.family import ErrorFormat
from mockserver.errors import MockError
from mockserver.http.responses import JSONResponse

log = logging.getLogger("musicapi_mock")

ERROR_ID_HEADER = "x-mock-error-id"
ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]
#: Scope extension of a request the protocol refused while reading it: ``(error id, message)``.
REFUSAL = "musicapi_mock.refusal"
#: Scope extension set when a request body stopped arriving: the seconds waited (the body reader answers 408).
BODY_TIMED_OUT = "musicapi_mock.body_timed_out"


def error_body(fmt: ErrorFormat, error: MockError, fields: tuple[str, ...] = ERROR_FIELDS) -> dict[str, Any]:
    """The body of ``error`` in format ``fmt``.

    Nuro (documented): ``{type, message, refund_processed?, already_refunded?}``; the mock's own API adds
    ``error_id``. Other families (shape unconfirmed): ``{code, message, error, detail}`` with the same
    text, so clients that read any of those fields find it, plus ``type``.
    """
    spec = error.spec
    if fmt == "general":
        full = {
            "code": spec.status,
            "message": error.message,
            "error": error.message,
            "detail": error.message,
            "type": spec.type,
        }
        return {name: full[name] for name in fields if name in full}
    body: dict[str, Any] = {"type": spec.type, "message": error.message}
    if error.refund is not None:
        body["refund_processed"] = error.refund.processed
        body["already_refunded"] = error.refund.already
    if fmt == "mock":
        body["error_id"] = spec.id
    return body


def render_error(fmt: ErrorFormat, error: MockError, fields: tuple[str, ...] = ERROR_FIELDS) -> Response:
    """``error`` as a response: its status, its body in ``fmt``, and ``X-Mock-Error-Id``."""
    headers = {ERROR_ID_HEADER: error.spec.id, **error.headers}
    response = JSONResponse(error_body(fmt, error, fields), status_code=error.spec.status, headers=headers)
    response.error_id = error.spec.id
    return response


class PathFormats:
    """Which error format a path answers in, for errors raised before any operation is known (routing).

    ``/api/v1/<family>/…`` answers in that family's format (the general one for an unknown family), the
    mock's own ``/_mock`` and ``/cdn`` paths in the mock's, anything else in Nuro's (the first family).
    """

    def __init__(self, families: Mapping[str, ErrorFormat]) -> None:
        self.families = dict(families)

    def __call__(self, path: str) -> ErrorFormat:
        """The format for ``path``."""
        if path.startswith(("/_mock", "/cdn")):
            return "mock"
        parts = path.split("/")
        if len(parts) > 3 and parts[1] == "api":
            return self.families.get(parts[3], "general")
        return "nuro"


def _http_exception_error(exc: HTTPException) -> MockError:
    if exc.status_code == 405:
        return MockError(CATALOG["request.method_not_allowed"], headers=exc.headers)
    if exc.status_code == 404:
        return MockError(CATALOG["request.route_not_found"])
    return MockError(CATALOG["request.internal"], str(exc.detail))


def exception_handlers(
    format_of: PathFormats, missing_ids: Mapping[str, str] | None = None
) -> dict[Any, ExceptionHandler]:
    """Starlette exception handlers: routing errors, stray domain errors and crashes, each in its format.

    ``missing_ids`` maps a poll path without its id (``/api/v1/sonic/task/``) to the error its family documents
    for it ("missing task id."); other unknown paths are 404.
    """
    missing = dict(missing_ids or {})

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        error_id = missing.get(path) or missing.get(path + "/")
        if exc.status_code == 404 and error_id is not None and request.method in ("GET", "HEAD"):
            return render_error(format_of(path), MockError(CATALOG[error_id]))
        return render_error(format_of(path), _http_exception_error(exc))

    async def on_mock_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, MockError)
        return render_error(format_of(request.url.path), exc)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return render_error(format_of(request.url.path), MockError(CATALOG["request.internal"]))

    return {HTTPException: on_http_exception, MockError: on_mock_error, Exception: on_unexpected}


class RefusalMiddleware:
    """Answers the requests the protocol refused while reading them (:data:`REFUSAL`), in the path's format.

    Those requests never reach routing: their head was cut short, so only the path is known.
    """

    def __init__(self, app: ASGIApp, format_of: PathFormats) -> None:
        self.app = app
        self.format_of = format_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Render a refusal, or pass the request on."""
        refusal = scope.get("extensions", {}).get(REFUSAL) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        error_id, message = refusal
        response = render_error(self.format_of(scope["path"]), MockError(CATALOG[error_id], message))
        response.headers["connection"] = "close"
        await response(scope, receive, send)
