"""``endpoint()``: one operation's handler as a Starlette endpoint, with what every request does around it.

Around each call: wait for this worker's turn to write (``--workers``: without blocking the event loop),
re-read the shared clock (another worker may have moved it), resume webhook delivery once per process,
bracket the call in the store's request scope (a durable store commits the request's writes and its
journal record together, with those of the other requests of the same event-loop turn), render a domain
error in the operation's family format, record the call in the journal, answer only once the store has
committed, write the request log line, and name the worker that answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from mockserver.catalog import CATALOG
from mockserver.config import Config
from mockserver.engine.context import Context
from mockserver.engine.family import ErrorFormat
from mockserver.engine.ports import Store
from mockserver.engine.webhooks import Dispatcher
from mockserver.errors import MockError, StoreError
from mockserver.http import examples
from mockserver.http.call import Call, Handler, lenient_key
from mockserver.http.errors import render_error
from mockserver.http.logs import request_logger
from mockserver.http.responses import JSONResponse
from mockserver.spec import CONTROL_SPEC, Operation

#: With ``--workers`` > 1: the process id of the worker that answered; over PostgreSQL: host and process id.
WORKER_HEADER = "x-mock-worker"
#: Bytes of request headers accepted (431 beyond), and characters of a path kept in the journal.
MAX_HEADER_BYTES = 64 * 1024
MAX_LOGGED_PATH = 512
#: Keys up to this long are kept whole in the journal (test keys); longer ones are fingerprinted.
SHORT_KEY = 16
quiet = logging.getLogger("musicapi_mock")


def _worker_name(config: Config) -> str | None:
    """What ``X-Mock-Worker`` says: the process id among workers, host and process id in a fleet."""
    if config.database:
        return f"{socket.gethostname()}:{os.getpid()}"
    return str(os.getpid()) if config.workers > 1 else None


def key_fingerprint(key: str | None) -> str | None:
    """What the journal keeps of a bearer key: a short (test) key as it is; a real one's start and a hash."""
    if key is None or len(key) <= SHORT_KEY:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{key[:8]}…{digest}"


def _loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def control_guard(config: Config) -> Callable[[Request], MockError | None] | None:
    """The check a control-plane request passes (None: none needed, a loopback bind without a token)."""
    token = config.control_token
    if token is not None:
        expected = f"Bearer {token}"

        def needs_token(request: Request) -> MockError | None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return MockError(CATALOG["control.token_required"])
            return None

        return needs_token
    if _loopback(config.host):
        return None

    def loopback_only(request: Request) -> MockError | None:
        peer = request.client.host if request.client is not None else None
        return None if _loopback(peer) else MockError(CATALOG["control.loopback_only"])

    return loopback_only


#: Request headers the journal keeps only as "[redacted]" (the bearer token is kept as its fingerprint).
SECRET_HEADERS = frozenset({"cookie", "proxy-authorization", "x-api-key", "x-mock-control-token"})


def journal_detail(request: Request, received: bytes | None, response: Response, body_bytes: int) -> bytes:
    """What the journal keeps of a call besides its summary: query, request headers (secrets redacted),
    and both bodies cut at ``body_bytes`` (as JSON, for either store)."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.scope["headers"]:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name == "authorization":
            scheme, _, token = value.partition(" ")
            value = f"{scheme} {key_fingerprint(token.strip()) or ''}".strip()
        elif name in SECRET_HEADERS:
            value = "[redacted]"
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    sent = getattr(response, "body", None)
    return orjson.dumps(
        {
            "query": request.scope.get("query_string", b"").decode("latin-1"),
            "request_headers": headers,
            **_cut("request_body", received, body_bytes),
            **_cut("response_body", sent if isinstance(sent, bytes) else None, body_bytes),
        }
    )


def _cut(name: str, body: bytes | None, limit: int) -> dict[str, Any]:
    if body is None or limit <= 0:
        return {name: None, f"{name}_truncated": bool(body)}
    return {name: body[:limit].decode("utf-8", "replace"), f"{name}_truncated": len(body) > limit}


def _example_asked(call: Call) -> tuple[str, int | None] | None:
    prefer = call.headers.get("prefer")
    if (prefer and "example=" in prefer) or b"__example=" in call.request.scope.get("query_string", b""):
        return examples.wanted(prefer, call.request.query_params)
    return None


def _oversized(request: Request) -> MockError | None:
    size = sum(len(name) + len(value) for name, value in request.scope.get("headers", ()))
    if size > MAX_HEADER_BYTES:
        return MockError(
            CATALOG["request.headers_too_large"], f"Request headers too large: {size} bytes (limit {MAX_HEADER_BYTES})"
        )
    return None


def _uncancel() -> None:
    """Carry on after uvicorn cancelled the request (a graceful shutdown whose time is up)."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def _shutting_down(request: Request, fmt: ErrorFormat, config: Config) -> Response:
    """The answer to a request cancelled by a graceful shutdown whose time is up (503, in the API's format)."""
    _uncancel()
    quiet.warning("shutting down: answered %s %s 503", request.method, request.scope["path"])
    return render_error(fmt, MockError(CATALOG["request.shutting_down"]), config.error_fields)


async def _committed(store: Store, response: Response, fmt: ErrorFormat, config: Config) -> Response:
    """``response`` once the store has committed what the request did (group commit), or an error if it could not."""
    pending = store.settled()
    if pending is None:
        return response
    try:
        await pending
    except asyncio.CancelledError:  # a graceful shutdown's time is up: commit now rather than lose the answer
        _uncancel()
        store.settle_now()
    except StoreError as exc:
        quiet.error("%s", exc)
        return render_error(fmt, MockError(CATALOG["request.internal"]), config.error_fields)
    return response


def endpoint(
    op: Operation,
    handler: Handler,
    ctx: Context,
    webhooks: Dispatcher,
    *,
    fmt: ErrorFormat,
    journal: bool,
    guard: Callable[[Request], MockError | None] | None = None,
    probe: bool = False,
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint running ``handler`` for ``op``, rendering domain errors in format ``fmt``.

    With ``journal``, each call is recorded (method, path, status, key, error id, instant); with a
    request log configured, each call is also written as a line. A ``probe`` (the health check) skips the
    shared-state preamble (clock sync, webhook resume, the store's request scope): it reports on the
    store, so it must answer when the store does not.
    """
    config = ctx.config
    log = request_logger(config.request_log)
    worker = _worker_name(config)
    clock, store = ctx.clock, ctx.store
    examples_allowed = op.spec_name != CONTROL_SPEC
    body_bytes = config.journal_body_bytes

    async def run(request: Request) -> Response:
        started = time.perf_counter() if log is not None else 0.0
        if not probe:
            ready = store.writable()
            if ready is not None:  # another worker's turn to write: wait for ours without blocking the loop
                try:
                    await ready
                except asyncio.CancelledError:
                    return _shutting_down(request, fmt, config)
            clock.sync()  # another worker may have moved the shared clock
            webhooks.resume()
        record: dict[str, Any] | None = None
        call = Call(request, op, ctx)
        with contextlib.nullcontext() if probe else store.request():
            try:
                refused = _oversized(request) or (guard(request) if guard is not None else None)
                if refused is not None:
                    raise refused
                asked = _example_asked(call) if examples_allowed else None
                if asked is not None:  # Prism's Prefer: example= / ?__example=: the spec's example, no state
                    status, body = examples.example(op, *asked)
                    headers = {examples.EXAMPLE_HEADER: asked[0]}
                    response: Response = JSONResponse(body, status_code=status, headers=headers)
                else:
                    response = await handler(call)
            except MockError as error:
                response = render_error(fmt, error, config.error_fields)
            except asyncio.CancelledError:
                # uvicorn cancels what still runs when a graceful shutdown's time is up: an answer in the API's
                # format instead of its plain-text 500 and a traceback. Nothing else cancels a request's task.
                response = _shutting_down(request, fmt, config)
            except ClientDisconnect:  # the client went away mid-body: nobody to answer, nothing to trace
                quiet.info("client disconnected during %s %s", request.method, request.url.path)
                response = Response(status_code=400)
            except Exception:  # a crash is answered in the API's format and journaled like any answer
                quiet.exception("unhandled error on %s %s", request.method, request.url.path)
                response = render_error(fmt, MockError(CATALOG["request.internal"]), config.error_fields)
            if journal or log is not None:
                record = {
                    "instant": clock.now(),
                    "method": request.method,
                    "path": request.scope["path"][:MAX_LOGGED_PATH],
                    "operation": op.operation_id,
                    "status": response.status_code,
                    "api_key": key_fingerprint(lenient_key(call.headers)),
                    "error_id": getattr(response, "error_id", None),
                }
                if journal:
                    store.journal({**record, "detail": journal_detail(request, call.received, response, body_bytes)})
        if not probe:
            response = await _committed(store, response, fmt, config)
        if log is not None and record is not None:
            log({**record, "ms": (time.perf_counter() - started) * 1000})
        if worker is not None:
            response.headers[WORKER_HEADER] = worker
        return response

    run.__name__ = op.operation_id
    return run
