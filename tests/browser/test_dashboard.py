"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright), over a real server.

Without Chromium the tests are skipped, unless ``MUSICAPI_MOCK_REQUIRE_BROWSER`` is set (CI sets it, after
installing the package): there a missing browser is a failure. A failing step saves a screenshot next to
the test's temporary files and names it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.config import Config, NuroMode
from mockserver.testing import MockServer

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: The flags this machine's closed network needs (no background fetches, no QUIC), as root.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Where the README's screenshot is written when ``MUSICAPI_MOCK_SCREENSHOT`` is set.
README_SHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"
PRODUCER = {"task_type": "create_music", "sound": "calm lofi piano"}
SONIC = {"custom_mode": True, "mv": "sonic-v4-5", "prompt": "[Verse] la la", "tags": "pop"}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("MUSICAPI_MOCK_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
        pytest.skip("no Chromium here (apt-get install chromium); CI runs these")
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer(Config(clock="manual", nuro=NuroMode.parse("legacy")), api_key="sk_dash") as server:
        yield server


@pytest.fixture
def page(browser: object, mock: MockServer, tmp_path: Path) -> Iterator[object]:
    opened = browser.new_page(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    opened.goto(f"{mock.url}/_mock/ui")
    try:
        yield opened
    except BaseException:
        raise
    finally:
        opened.close()


def step(page: object, tmp_path: Path, name: str, check: Callable[[], None]) -> None:
    """Run ``check``; on failure save a screenshot and say where."""
    try:
        check()
    except AssertionError as failure:
        shot = tmp_path / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)  # type: ignore[attr-defined]
        raise AssertionError(f"{name}: {failure} (screenshot: {shot})") from failure


def test_the_dashboard_follows_tasks_as_the_clock_moves(page: object, mock: MockServer, tmp_path: Path) -> None:
    expect = playwright_api.expect
    with httpx.Client(base_url=mock.url, headers=mock.headers) as http:
        task = http.post("/api/v1/producer/create", json=PRODUCER).json()["task_id"]
        http.post("/api/v1/sonic/create", json=SONIC, headers={"X-Mock-Scenario": "sonic.generation_failed@40"})
    row = page.locator(f'tr[data-task-id="{task}"]')  # type: ignore[attr-defined]
    status = row.locator('[data-testid="task-status"]')
    step(page, tmp_path, "pending", lambda: expect(status).to_have_text("pending", timeout=10_000))
    page.click("#advance-60")  # type: ignore[attr-defined]
    step(page, tmp_path, "succeeded", lambda: expect(status).to_have_text("succeeded", timeout=10_000))
    clock = page.locator('[data-testid="clock"]')  # type: ignore[attr-defined]
    step(page, tmp_path, "clock", lambda: expect(clock).to_contain_text("manual"))
    failed = page.locator("#tasks td.status-failed")  # type: ignore[attr-defined]
    step(page, tmp_path, "failed", lambda: expect(failed).to_have_count(1, timeout=10_000))
    journal = page.locator("#journal tbody tr", has_text="producerCreate")  # type: ignore[attr-defined]
    step(page, tmp_path, "journal", lambda: expect(journal).to_have_count(1, timeout=10_000))
    journal.locator("summary", has_text="request").click()
    step(page, tmp_path, "body", lambda: expect(journal.locator("pre").first).to_contain_text("calm lofi piano"))
    keys = page.locator("#keys tbody tr", has_text="sk_dash")  # type: ignore[attr-defined]
    step(page, tmp_path, "keys", lambda: expect(keys).to_have_count(1))
    row.click()
    detail = page.locator("#task-detail")  # type: ignore[attr-defined]
    step(page, tmp_path, "detail", lambda: expect(detail).to_contain_text(f'"task_id": "{task}"', timeout=10_000))
    players = page.locator("#task-media audio")  # type: ignore[attr-defined]
    step(page, tmp_path, "audio", lambda: expect(players.first).to_be_attached(timeout=10_000))
    source = players.first.get_attribute("src")
    assert source is not None and source.startswith(mock.url)
    with httpx.Client() as media:  # the page's player points at audio the mock serves
        answer = media.get(source)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("audio/")
    loaded = (
        "a => new Promise(done => { a.onloadedmetadata = () => done(a.duration); a.onerror = () => done(-1); "
        "a.preload = 'metadata'; a.load(); })"
    )
    assert players.first.evaluate(loaded) > 1  # the browser decodes it: seconds of real audio
    if os.environ.get("MUSICAPI_MOCK_SCREENSHOT"):
        page.screenshot(path=str(README_SHOT), full_page=False)  # type: ignore[attr-defined]


def test_fault_rules_and_force_on_next_call_from_the_page(page: object, mock: MockServer, tmp_path: Path) -> None:
    expect = playwright_api.expect
    operation = page.locator("#fault-operation")  # type: ignore[attr-defined]
    step(
        page,
        tmp_path,
        "operations",
        lambda: expect(operation.locator("option[value=sonicCreate]")).to_have_count(1),
    )
    operation.select_option("sonicCreate")
    page.locator("#fault-error").select_option("sonic.rate_limited")  # type: ignore[attr-defined]
    page.click("#fault-form button[type=submit]")  # type: ignore[attr-defined]
    rules = page.locator("#faults tbody tr")  # type: ignore[attr-defined]
    step(page, tmp_path, "rule", lambda: expect(rules).to_have_count(1, timeout=10_000))
    with httpx.Client(base_url=mock.url, headers=mock.headers) as http:
        assert http.post("/api/v1/sonic/create", json=SONIC).status_code == 429  # the page's rule fired
        page.click("#faults-clear")  # type: ignore[attr-defined]
        step(page, tmp_path, "cleared", lambda: expect(rules).to_have_count(0, timeout=10_000))
        force = page.locator("#errors tbody tr", has_text="producer.timeout").locator("button")  # type: ignore[attr-defined]
        force.click()
        step(page, tmp_path, "forced", lambda: expect(rules).to_have_count(1, timeout=10_000))
        created = http.post("/api/v1/producer/create", json=PRODUCER)
        assert created.status_code == 200
    assert mock.control.faults()[0]["hits"] == 1  # the forced error was used by that create


@pytest.mark.parametrize(("path", "operation"), [("/docs", "sonicCreate"), ("/_mock/docs", "mockAdvanceClock")])
def test_swagger_ui_renders_the_spec_offline(
    browser: object, mock: MockServer, tmp_path: Path, path: str, operation: str
) -> None:
    expect = playwright_api.expect
    docs = browser.new_page()  # type: ignore[attr-defined]
    outside: list[str] = []
    docs.on("request", lambda request: None if request.url.startswith(mock.url) else outside.append(request.url))
    try:
        docs.goto(f"{mock.url}{path}")
        block = docs.locator(f'[id$="{operation}"]').first
        step(docs, tmp_path, "swagger", lambda: expect(block).to_be_visible(timeout=15_000))
        assert docs.locator(".opblock").count() > 10
    finally:
        docs.close()
    assert outside == []  # every asset from the mock itself


def test_a_guarded_mock_needs_its_token_typed_into_the_page(browser: object, tmp_path: Path) -> None:
    expect = playwright_api.expect
    config = Config(clock="manual", nuro=NuroMode.parse("legacy"), control_token="t0ken")
    with (
        MockServer(config, api_key="sk_dash") as guarded,
        httpx.Client(base_url=guarded.url, headers=guarded.headers) as http,
    ):
        task = http.post("/api/v1/producer/create", json=PRODUCER).json()["task_id"]
        page = browser.new_page()  # type: ignore[attr-defined]
        try:
            page.goto(f"{guarded.url}/_mock/ui")
            status = page.locator('[role="status"]')
            step(page, tmp_path, "refused", lambda: expect(status).to_contain_text("401", timeout=10_000))
            page.fill("#token", "t0ken")
            page.dispatch_event("#token", "change")
            row = page.locator(f'tr[data-task-id="{task}"]')
            step(page, tmp_path, "token", lambda: expect(row).to_have_count(1, timeout=10_000))
        finally:
            page.close()
