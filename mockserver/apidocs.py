"""API docs pages: Swagger UI for the product spec at ``/docs`` and for the control plane at ``/_mock/docs``.

The Swagger UI assets come from the ``swagger-ui-bundle`` package and are served by the mock itself
(``/_mock/docs/assets/…``): no CDN, works offline. "Try it out" always calls the mock that served the
page, whatever the spec's ``servers`` say, so a click never reaches the live service.
"""

from __future__ import annotations

import html

import swagger_ui_bundle
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

#: Where the pages load Swagger UI's files from.
ASSETS = "/_mock/docs/assets"

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script src="{assets}/swagger-ui-standalone-preset.js"></script>
  <script>
    // "Try it out" goes to the mock that served this page, never to a server named in the spec.
    function toThisMock(request) {{
      const url = new URL(request.url, window.location.origin);
      url.protocol = window.location.protocol;
      url.host = window.location.host;
      request.url = url.toString();
      return request;
    }}
    window.ui = SwaggerUIBundle({{
      url: "{spec}",
      dom_id: "#swagger-ui",
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
      requestInterceptor: toThisMock,
      persistAuthorization: true,
      tryItOutEnabled: true,
    }});
  </script>
</body>
</html>
"""


def page(title: str, spec_url: str) -> str:
    """The HTML of a Swagger UI page for the spec at ``spec_url``."""
    return _PAGE.format(title=html.escape(title), assets=ASSETS, spec=html.escape(spec_url))


def routes() -> list[BaseRoute]:
    """``/docs``, ``/_mock/docs`` and the assets both pages load."""
    product = page("MusicAPI (musicapi-mock)", "/openapi.json")
    control = page("musicapi-mock control plane", "/_mock/openapi.json")

    async def product_docs(request: Request) -> Response:
        return HTMLResponse(product)

    async def control_docs(request: Request) -> Response:
        return HTMLResponse(control)

    return [
        Route("/docs", product_docs, methods=["GET"]),
        Route("/_mock/docs", control_docs, methods=["GET"]),
        Mount(ASSETS, app=StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets"),
    ]
