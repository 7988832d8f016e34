"""Serve an ASGI app the way ``mockserver/cli.py`` does, for the harness's own servers.

``mockserver.cli.serve`` binds the socket itself, prints ``… listening on http://HOST:PORT`` and runs
``uvicorn.Server(uvicorn.Config(app, log_level=…, access_log=False, lifespan="off"))``. This does the
same, but names the event loop and HTTP parser explicitly (``uvloop`` and ``httptools``, which are
what uvicorn's ``auto`` picks when ``uvicorn[standard]`` is installed), so a missing extra fails
loudly here instead of silently benchmarking the pure-Python fallbacks.
"""

from __future__ import annotations

import socket
from typing import Any

#: Settings shared by every Python server the harness runs.
UVICORN_SETTINGS: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    "lifespan": "off",
    "loop": "uvloop",
    "http": "httptools",
}


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound before the banner so early connections queue instead of failing."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def serve(app: Any, name: str, host: str = "127.0.0.1", port: int = 0) -> None:
    """Bind, print ``<name> listening on http://HOST:PORT`` and serve until SIGINT/SIGTERM."""
    import uvicorn

    sock = bind(host, port)
    bound = sock.getsockname()[1]
    print(f"{name} listening on http://{host}:{bound}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, **UVICORN_SETTINGS))
    server.run(sockets=[sock])
