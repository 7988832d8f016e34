"""``endpoint()``: one operation's handler as a Starlette endpoint, with what every request does around it.

Around each call: re-read the shared clock (another worker may have moved it), resume webhook delivery
once per process, bracket the call in the store's request scope (a durable store commits the request's
writes and its journal record together), render a domain error in the operation's family format,
record the call in the journal, write the request log line, and name the worker that answered.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mockserver.engine.context import Context
from mockserver.engine.family import ErrorFormat
from mockserver.engine.webhooks import Dispatcher
from mockserver.errors import MockError
from mockserver.http.call import Call, Handler, lenient_key
from mockserver.http.errors import ERROR_ID_HEADER, render_error
from mockserver.http.logs import request_logger
from mockserver.spec import Operation

#: With ``--workers`` > 1: the process id of the worker that answered.
WORKER_HEADER = "x-mock-worker"


def endpoint(
    op: Operation,
    handler: Handler,
    ctx: Context,
    webhooks: Dispatcher,
    *,
    fmt: ErrorFormat,
    journal: bool,
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint running ``handler`` for ``op``, rendering domain errors in format ``fmt``.

    With ``journal``, each call is recorded (method, path, status, key, error id, instant); with a
    request log configured, each call is also written as a line.
    """
    config = ctx.config
    log = request_logger(config.request_log)
    worker = str(os.getpid()) if config.workers > 1 else None
    clock, store = ctx.clock, ctx.store

    async def run(request: Request) -> Response:
        started = time.perf_counter() if log is not None else 0.0
        clock.sync()  # another worker may have moved the shared clock
        webhooks.resume()
        record: dict[str, Any] | None = None
        with store.request():
            try:
                response = await handler(Call(request, op, ctx))
            except MockError as error:
                response = render_error(fmt, error, config.error_fields)
            if journal or log is not None:
                record = {
                    "instant": clock.now(),
                    "method": request.method,
                    "path": request.url.path,
                    "operation": op.operation_id,
                    "status": response.status_code,
                    "api_key": lenient_key(request),
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
