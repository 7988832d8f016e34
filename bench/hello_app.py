"""The ceiling: a bare Starlette app answering the two Nuro routes with a constant small JSON body.

No validation, no state, no auth: just routing and a response, served with the same uvicorn settings
as the mock (see ``serving.py``). ``python bench/hello_app.py [--port 0]``.
"""

from __future__ import annotations

import argparse
import sys

from serving import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CREATE_BODY = b'{"message":"success","task_id":"00000000-0000-4000-8000-000000000000"}'
TASK_BODY = (
    b'{"task_id":"00000000-0000-4000-8000-000000000000","status":"succeeded","progress":100,'
    b'"audio_url":"","duration":29.5}'
)


async def create(request: Request) -> Response:
    """``POST /api/v1/nuro/create``: read the body (as any real handler must), answer a constant."""
    await request.body()
    return Response(CREATE_BODY, media_type="application/json")


async def get_task(request: Request) -> Response:
    """``GET /api/v1/nuro/task/{task_id}``: a constant."""
    return Response(TASK_BODY, media_type="application/json")


def build_app() -> Starlette:
    """The hello app."""
    return Starlette(
        routes=[
            Route("/api/v1/nuro/create", create, methods=["POST"]),
            Route("/api/v1/nuro/task/{task_id}", get_task, methods=["GET"]),
        ]
    )


def main() -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    serve(build_app(), "starlette-hello", args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
