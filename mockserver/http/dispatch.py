"""The product routes' hot path: a dict dispatch on (path, method) in front of Starlette's routing.

Starlette tries its routes in order, one regular expression each, under four layers of middleware and
exception wrappers, and builds a fresh handler closure per request: together about as much time as the
mock's own work on a create. :class:`MockApp` answers the product operations itself — an exact path looked
up in a dict, a templated one (``/api/v1/sonic/task/{task_id}``) matched segment by segment in Starlette's
own route order — and hands everything else (the control plane, media, the docs, 404s and 405s, requests
the protocol refused, a path under a ``root_path``) to Starlette, unchanged.

The endpoints themselves catch every exception and answer it in the family's format, so skipping
Starlette's error middleware loses nothing. Once middleware is added (``serve --replay``, sabotage), the
hot path is off: each request then goes through that middleware as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mockserver.http.errors import REFUSAL

Endpoint = Callable[[Request], Awaitable[Response]]
#: Methods of one path: the endpoint of each (HEAD answered by GET's, as Starlette does).
Methods = Mapping[str, Endpoint]


@dataclass(frozen=True, slots=True)
class Template:
    """A path with parameters, as segments: a literal, or None where a parameter goes (named in ``names``)."""

    parts: tuple[str | None, ...]
    names: tuple[str, ...]
    methods: Methods

    @classmethod
    def parse(cls, path: str, methods: Methods) -> Template:
        """``/api/v1/sonic/task/{task_id}`` → its segments and parameter names."""
        parts: list[str | None] = []
        names: list[str] = []
        for segment in path.split("/"):
            if segment.startswith("{") and segment.endswith("}") and ":" not in segment:
                parts.append(None)
                names.append(segment[1:-1])
            else:
                parts.append(segment)
        return cls(tuple(parts), tuple(names), methods)

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        """The path parameters if ``segments`` fit (a parameter takes one non-empty segment, as ``[^/]+``)."""
        if len(segments) != len(self.parts):
            return None
        values: list[str] = []
        for literal, segment in zip(self.parts, segments, strict=True):
            if literal is None:
                if not segment:
                    return None
                values.append(segment)
            elif literal != segment:
                return None
        return dict(zip(self.names, values, strict=True))


def with_head(methods: Mapping[str, Endpoint]) -> dict[str, Endpoint]:
    """``methods`` plus HEAD answered by GET's endpoint, as Starlette routes it."""
    table = dict(methods)
    if "GET" in table:
        table.setdefault("HEAD", table["GET"])
    return table


class HotRoutes:
    """The product paths, in Starlette's route order, split into exact paths and templates."""

    def __init__(self, ordered: Sequence[tuple[str, Mapping[str, Endpoint]]]) -> None:
        self.exact: dict[str, Methods] = {}
        self.templates: list[Template] = []
        for path, methods in ordered:
            table = with_head(methods)
            if "{" not in path:
                segments = path.split("/")
                # Starlette would give the path to a template it tries first: leave it to Starlette then
                if not any(t.match(segments) is not None for t in self.templates):
                    self.exact[path] = table
            else:
                template = Template.parse(path, table)
                if any(p is not None and ("{" in p or "}" in p) for p in template.parts):
                    break  # a parameter inside a segment: this path and every later one go to Starlette
                self.templates.append(template)
        self.by_length: dict[int, list[Template]] = {}
        for template in self.templates:
            self.by_length.setdefault(len(template.parts), []).append(template)

    def find(self, path: str, method: str) -> tuple[Endpoint, dict[str, str]] | None:
        """The endpoint for ``method`` on ``path`` and its path parameters, or None (Starlette decides)."""
        methods = self.exact.get(path)
        if methods is not None:
            run = methods.get(method)
            return None if run is None else (run, {})
        candidates = self.by_length.get(path.count("/") + 1)
        if candidates is None:
            return None
        segments = path.split("/")
        for template in candidates:
            params = template.match(segments)
            if params is not None:
                run = template.methods.get(method)
                return None if run is None else (run, params)
        return None


class MockApp(Starlette):
    """Starlette with the product routes' hot path in front (see the module docstring)."""

    hot: HotRoutes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a product request on the hot path, or pass it to Starlette."""
        hot = self.hot
        if hot is not None and scope["type"] == "http" and not scope.get("root_path"):
            found = hot.find(scope["path"], scope["method"])
            if found is not None and REFUSAL not in scope.get("extensions", ()):
                run, params = found
                scope["app"] = self
                scope["path_params"] = params
                response = await run(Request(scope, receive))
                await send_response(response, scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def add_middleware(self, middleware_class: Any, *args: Any, **kwargs: Any) -> None:
        """Add middleware (as Starlette does); every request then goes through it: the hot path is off."""
        self.hot = None
        super().add_middleware(middleware_class, *args, **kwargs)


async def send_response(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    """Send ``response``: a plain one as two messages, any other kind (files, streams) as it sends itself."""
    if type(response).__call__ is Response.__call__ and response.background is None:
        await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})
    else:
        await response(scope, receive, send)
