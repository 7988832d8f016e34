"""HTTP plumbing shared by every family: JSON responses, body parsing, auth, and error rendering.

Errors are rendered in exactly one place, :func:`render_error`, in the body format of the family
the request was for. Nothing reaches a client as a traceback: unexpected exceptions become the
catalog's ``request.internal`` in the family's format.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from mockserver import service
from mockserver.errors import CATALOG, MockError, Refund
from mockserver.logs import request_logger
from mockserver.spec import Operation
from mockserver.tasks import Task

if TYPE_CHECKING:
    from mockserver.state import MockState

log = logging.getLogger("musicapi_mock")

ERROR_ID_HEADER = "x-mock-error-id"
#: With ``--workers`` > 1: the process id of the worker that answered.
WORKER_HEADER = "x-mock-worker"
#: Families of the mock's own API (control plane, media); their errors also carry the catalog id.
MOCK_FAMILIES = frozenset({"control", "media"})


class JSONResponse(Response):
    """A JSON response serialized with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Serialize ``content``."""
        return orjson.dumps(content)


def family_of_path(path: str) -> str:
    """Which family's error format a path answers in."""
    if path.startswith("/_mock") or path.startswith("/cdn"):
        return "control"
    parts = path.split("/")
    if len(parts) > 3 and parts[1] == "api":
        return parts[3]
    return "nuro"


#: Families that answer in the Nuro error format; the others use the general MusicAPI one.
NURO_FORMAT = frozenset({"nuro"}) | MOCK_FAMILIES


ALL_ERROR_FIELDS = ("code", "message", "error", "detail", "type")


def error_body(family: str, error: MockError, fields: tuple[str, ...] = ALL_ERROR_FIELDS) -> dict[str, Any]:
    """The body of ``error`` in ``family``'s format.

    Nuro (documented): ``{type, message, refund_processed?, already_refunded?}``. Other families
    (shape unconfirmed): ``{code, message, error, detail}`` with the same text, so clients that read
    any of those fields find it, plus ``type``.
    """
    spec = error.spec
    if family not in NURO_FORMAT:
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
    if family in MOCK_FAMILIES:
        body["error_id"] = spec.id
    return body


def render_error(family: str, error: MockError, fields: tuple[str, ...] = ALL_ERROR_FIELDS) -> Response:
    """The one place a :class:`MockError` becomes an HTTP response."""
    headers = {ERROR_ID_HEADER: error.spec.id, **error.headers}
    return JSONResponse(error_body(family, error, fields), status_code=error.spec.status, headers=headers)


def _http_exception_error(exc: HTTPException) -> MockError:
    if exc.status_code == 405:
        return MockError(CATALOG["request.method_not_allowed"], headers=exc.headers)
    if exc.status_code == 404:
        return MockError(CATALOG["request.route_not_found"])
    return MockError(CATALOG["request.internal"], str(exc.detail))


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Routing errors (unknown path, wrong method) in the family's format."""
    assert isinstance(exc, HTTPException)
    return render_error(family_of_path(request.url.path), _http_exception_error(exc))


async def mock_error_handler(request: Request, exc: Exception) -> Response:
    """A :class:`MockError` raised outside an operation wrapper."""
    assert isinstance(exc, MockError)
    return render_error(family_of_path(request.url.path), exc)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    """Anything else: logged with its traceback, answered as a clean 500."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return render_error(family_of_path(request.url.path), MockError(CATALOG["request.internal"]))


@dataclass
class Call:
    """One request to one operation, with lazy access to its key and validated body."""

    request: Request
    op: Operation
    state: MockState
    _data: bytes | None = None
    _json: Any = None
    _parsed: bool = False

    @property
    def base_url(self) -> str:
        """The mock's base URL as this client reached it, for the media links it hands out."""
        scope = self.request.scope
        host = self.request.headers.get("host")
        if host:  # the cheap, common case; Starlette's base_url parses a whole URL per request
            return f"{scope['scheme']}://{host}{scope.get('root_path', '')}"
        return str(self.request.base_url).rstrip("/")

    def read_task(self, family: str) -> tuple[Task, Refund | None]:
        """A poll's common steps: authenticate, apply forced errors, read the key's task (404 otherwise)."""
        state = self.state
        api_key = self.api_key()
        service.authenticate(state, family, api_key, state.clock.now())
        service.raise_forced(service.forced_error(state, self.op.operation_id, api_key, self.request.headers))
        return service.read_task(state, family, api_key, self.request.path_params["task_id"])

    def api_key(self) -> str:
        """The bearer token; raises 401 when it is missing or malformed."""
        header = self.request.headers.get("authorization")
        if header is None or not header.strip():
            raise MockError(CATALOG["auth.missing"])
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise MockError(CATALOG["auth.malformed"])
        return token

    async def raw_bytes(self) -> bytes:
        """The request body, read once, refused with 413 past the configured limit."""
        if self._data is not None:
            return self._data
        request = self.request
        limit = self.state.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise MockError(
                CATALOG["request.payload_too_large"], f"Request body too large: {declared} bytes (limit {limit})"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise MockError(CATALOG["request.payload_too_large"], f"Request body too large (limit {limit} bytes)")
            chunks.append(chunk)
        self._data = b"".join(chunks)
        return self._data

    async def raw_json(self) -> Any:
        """The body parsed as JSON, after the size and content-type checks; not yet validated."""
        if self._parsed:
            return self._json
        data = await self.raw_bytes()
        if not data.strip():
            raise MockError(CATALOG["request.body_required"])
        content_type = self.request.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
            raise MockError(
                CATALOG["request.unsupported_media_type"],
                f"Content-Type must be application/json (got {content_type or 'none'})",
            )
        try:
            self._json = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise MockError(CATALOG["request.malformed_json"], f"Malformed JSON body: {exc}") from None
        self._parsed = True
        return self._json

    async def body(self) -> tuple[Any, Mapping[str, Any]]:
        """The body validated against the operation's schema; returns it and the schema that applied."""
        data = await self.raw_json()
        validator = self.op.body
        if validator is None:
            return data, {}
        if not validator.is_valid(data):
            violations = validator.violations(data)
            message = "; ".join(str(v) for v in violations[:5]) or "request body does not match the schema"
            raise MockError(CATALOG["request.validation"], message)
        return data, validator.select(data)


Handler = Callable[[Call], Awaitable[Response]]


def _lenient_key(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def endpoint(
    op: Operation, handler: Handler, state: MockState, *, journal: bool
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint running ``handler`` for ``op``, rendering domain errors in its family.

    With ``journal``, each call is recorded (method, path, status, key, error id, instant); with a
    request log configured, each call is also written as a line. Each call first re-reads the shared
    clock; with several workers, ``X-Mock-Worker`` names the process that answered.
    """
    log = request_logger(state.config.request_log)
    worker = str(os.getpid()) if state.config.workers > 1 else None
    clock, webhooks, store = state.clock, state.webhooks, state.store

    async def run(request: Request) -> Response:
        started = time.perf_counter() if log is not None else 0.0
        clock.sync()  # another worker may have moved the shared clock
        webhooks.resume()
        record: dict[str, Any] | None = None
        with store.request():  # a durable store commits the request's writes and its journal record together
            try:
                response = await handler(Call(request, op, state))
            except MockError as error:
                response = render_error(op.family, error, state.config.error_fields)
            if journal or log is not None:
                record = {
                    "instant": clock.now(),
                    "method": request.method,
                    "path": request.url.path,
                    "operation": op.operation_id,
                    "status": response.status_code,
                    "api_key": _lenient_key(request),
                    "error_id": response.headers.get(ERROR_ID_HEADER),
                }
                if journal:
                    store.journal(record)
        if log is not None and record is not None:
            log({**record, "ms": (time.perf_counter() - started) * 1000})
        if worker is not None:
            response.headers[WORKER_HEADER] = worker
        return response

    run.__name__ = op.operation_id
    return run
