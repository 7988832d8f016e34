"""API docs: Swagger UI pages and their assets, served by the mock itself (no CDN)."""

from __future__ import annotations

import re

import httpx
import pytest


@pytest.mark.parametrize(("page", "spec"), [("/docs", "/openapi.json"), ("/_mock/docs", "/_mock/openapi.json")])
def test_a_docs_page_loads_swagger_ui_from_the_mock_and_its_spec(client: httpx.Client, page: str, spec: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    text = answer.text
    assert f'url: "{spec}"' in text
    assert client.get(spec).status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert sources and all(s.startswith("/_mock/docs/assets/") for s in sources), sources  # nothing from elsewhere
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 100, source
    assert "requestInterceptor: toThisMock" in text  # try-it-out never leaves the mock


def test_an_unknown_asset_is_a_404_in_the_mock_format(client: httpx.Client) -> None:
    for path in ("/_mock/docs/assets/nope.js", "/_mock/docs/assets/..%2f..%2f..%2fetc%2fpasswd"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["error_id"] == "request.route_not_found"
