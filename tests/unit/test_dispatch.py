"""The product routes' hot path routes every path exactly as Starlette would, or leaves it to Starlette."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from mockserver.app import create_app
from mockserver.config import Config
from mockserver.http.dispatch import HotRoutes, MockApp, Template


def _endpoint(name: str) -> Any:
    async def run(request: Request) -> Response:
        return Response(name)

    run.__name__ = name
    return run


def _routes(*paths: tuple[str, tuple[str, ...]]) -> HotRoutes:
    return HotRoutes([(path, {method: _endpoint(f"{method} {path}") for method in methods}) for path, methods in paths])


def _found(routes: HotRoutes, path: str, method: str = "GET") -> tuple[str, dict[str, str]] | None:
    found = routes.find(path, method)
    return None if found is None else (found[0].__name__, found[1])


def test_an_exact_path_and_a_template_are_found_with_their_parameters() -> None:
    routes = _routes(("/api/v1/nuro/create", ("POST",)), ("/api/v1/nuro/task/{task_id}", ("GET",)))
    assert _found(routes, "/api/v1/nuro/create", "POST") == ("POST /api/v1/nuro/create", {})
    assert _found(routes, "/api/v1/nuro/task/abc") == ("GET /api/v1/nuro/task/{task_id}", {"task_id": "abc"})
    assert _found(routes, "/api/v1/nuro/task/abc", "HEAD") == ("GET /api/v1/nuro/task/{task_id}", {"task_id": "abc"})


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/nuro/create", "GET"),  # a method the path lacks: Starlette answers 405 with Allow
        ("/api/v1/nuro/task/", "GET"),  # an empty parameter: Starlette's "missing task id." / 404
        ("/api/v1/nuro/task/a/b", "GET"),  # a parameter takes one segment
        ("/api/v1/nuro/create/", "POST"),  # a trailing slash
        ("/somewhere/else", "GET"),
    ],
)
def test_what_the_hot_path_does_not_answer_goes_to_starlette(path: str, method: str) -> None:
    routes = _routes(("/api/v1/nuro/create", ("POST",)), ("/api/v1/nuro/task/{task_id}", ("GET",)))
    assert routes.find(path, method) is None


def test_the_route_order_decides_between_a_template_and_a_literal_as_in_starlette() -> None:
    routes = _routes(("/x/{item}", ("GET",)), ("/x/list", ("GET",)), ("/y/list", ("GET",)), ("/y/{item}", ("GET",)))
    assert _found(routes, "/x/list") == ("GET /x/{item}", {"item": "list"})  # the template was first
    assert _found(routes, "/y/list") == ("GET /y/list", {})
    assert _found(routes, "/y/other") == ("GET /y/{item}", {"item": "other"})


def test_a_parameter_inside_a_segment_stops_the_hot_path_there() -> None:
    routes = _routes(("/a", ("GET",)), ("/cdn/{name}.mp3", ("GET",)), ("/b", ("GET",)))
    assert _found(routes, "/a") == ("GET /a", {})
    assert routes.find("/cdn/x.mp3", "GET") is None
    assert routes.find("/b", "GET") is None  # after it: Starlette might have routed it to that template


def test_every_product_operation_is_on_the_hot_path_and_matches_starlettes_own_route() -> None:
    app = create_app(Config())
    hot = app.hot
    assert hot is not None
    starlette_routes = [r for r in app.routes if isinstance(r, Route)]
    checked = 0
    for route in starlette_routes:
        if not route.path.startswith("/api/"):
            continue
        concrete = route.path.replace("{task_id}", "t-1").replace("{clip_id}", "c-1")
        concrete = "/".join("p-1" if part.startswith("{") else part for part in concrete.split("/"))
        for method in route.methods or ():
            found = hot.find(concrete, method)
            assert found is not None, (method, route.path)
            scope = {"type": "http", "path": concrete, "method": method, "root_path": ""}
            first = next(r for r in starlette_routes if r.matches(scope)[0] == Match.FULL)
            assert first is route and found[1] == first.matches(scope)[1]["path_params"], route.path
            checked += 1
    assert checked >= 30  # Nuro, Sonic, Producer, credits, uploads, studio


def test_added_middleware_turns_the_hot_path_off() -> None:
    app = create_app(Config())
    assert isinstance(app, MockApp) and app.hot is not None

    class Passing:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.inner(scope, receive, send)

    app.add_middleware(Passing)
    assert app.hot is None


def test_a_template_matches_segment_by_segment() -> None:
    template = Template.parse("/api/v1/{family}/task/{task_id}", {})
    assert template.match("/api/v1/sonic/task/t1".split("/")) == {"family": "sonic", "task_id": "t1"}
    assert template.match("/api/v1/sonic/tasks/t1".split("/")) is None
