"""The dashboard at ``/_mock/ui``: plain HTML, CSS and JavaScript shipped in the package (``mockserver/ui``).

No CDN and no build step; the page uses only the control plane's documented endpoints (with the control
token, if the mock has one, typed into the page and kept in the browser's local storage).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

#: Where the page lives.
PATH = "/_mock/ui"
UI = Path(__file__).resolve().parent / "ui"


def routes() -> list[BaseRoute]:
    """``/_mock/ui`` and the files it loads."""
    page = (UI / "index.html").read_text(encoding="utf-8")

    async def dashboard(request: Request) -> Response:
        return HTMLResponse(page)

    return [Route(PATH, dashboard, methods=["GET"]), Mount(PATH, app=StaticFiles(directory=UI), name="dashboard")]
