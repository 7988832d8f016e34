"""The pytest plugin, as a user meets it: small test files run by pytester against the installed plugin.

Nothing here passes ``-p mockserver.pytest_plugin``: the fixture comes from the ``pytest11`` entry point,
so these tests also prove the plugin is registered.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

HEADER = """
import json
import httpx
import pytest

BGM = {"type": "bgm", "description": "calm piano", "duration": 30}


def client(mock):
    return httpx.Client(base_url=mock.url, headers=mock.headers)
"""


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    """Write ``source`` (after the shared header) as a test module and run it with strict markers."""
    pytester.makepyfile(test_user=HEADER + source)
    return pytester.runpytest("--strict-markers", "-p", "no:cacheprovider", *args)


def test_entry_point_is_registered() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("musicapi_mock") == "mockserver.pytest_plugin"


def test_nuro_task_runs_to_success_on_advance(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_song(musicapi_mock, musicapi_mock_url):
    assert musicapi_mock_url == musicapi_mock.url
    assert musicapi_mock.api_key == "sk_test_mock"
    with client(musicapi_mock) as http:
        created = http.post("/api/v1/nuro/create", json=BGM)
        assert created.status_code == 200, created.text
        task_id = created.json()["task_id"]
        assert http.get(f"/api/v1/nuro/task/{task_id}").json()["status"] == "pending"
        musicapi_mock.advance(10)
        assert http.get(f"/api/v1/nuro/task/{task_id}").json()["status"] == "running"
        musicapi_mock.advance(120)
        body = http.get(f"/api/v1/nuro/task/{task_id}").json()
    assert body["status"] == "succeeded" and body["audio_url"].endswith(".wav")
    assert [r["operation"] for r in musicapi_mock.requests] == ["nuroCreate"] + ["nuroGetTask"] * 3
    assert musicapi_mock.balance()["credits"] == 990
""",
    )
    result.assert_outcomes(passed=1)


def test_fail_next_then_the_403_body(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_queue_full(musicapi_mock):
    rule = musicapi_mock.fail_next("nuroCreate", "nuro.queue_full")
    assert rule["remaining"] == 1
    with client(musicapi_mock) as http:
        refused = http.post("/api/v1/nuro/create", json=BGM)
        assert refused.status_code == 403
        assert refused.json() == {"type": "forbidden", "message": "Queue is full",
                                  "refund_processed": True, "already_refunded": False}
        assert http.post("/api/v1/nuro/create", json=BGM).status_code == 200  # only the next call
    assert [e["reason"] for e in musicapi_mock.ledger()["entries"]] == ["grant", "debit", "refund", "debit"]
    assert musicapi_mock.requests[0]["error_id"] == "nuro.queue_full"
""",
    )
    result.assert_outcomes(passed=1)


def test_set_balance_then_balance(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_poor(musicapi_mock):
    musicapi_mock.set_balance("sk_poor", credits=5, extra_credits=3, queue_capacity=1)
    state = musicapi_mock.balance("sk_poor")
    assert (state["credits"], state["extra_credits"], state["queue_capacity"]) == (5, 3, 1)
    with httpx.Client(base_url=musicapi_mock.url, headers={"Authorization": "Bearer sk_poor"}) as http:
        assert http.get("/api/v1/get-credits").json() == {"credits": 5, "extra_credits": 3}
        assert http.post("/api/v1/nuro/create", json=BGM).status_code == 403  # 8 < 10

def test_default_key(musicapi_mock):
    musicapi_mock.set_balance(credits=42)
    assert musicapi_mock.balance()["credits"] == 42
    assert musicapi_mock.balance(musicapi_mock.api_key)["credits"] == 42
""",
    )
    result.assert_outcomes(passed=2)


def test_marker_nuro_gone_gives_410(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
@pytest.mark.musicapi_mock(nuro="gone")
def test_gone(musicapi_mock):
    with client(musicapi_mock) as http:
        response = http.post("/api/v1/nuro/create", json=BGM)
    assert response.status_code == 410 and response.json()["type"] == "gone"

@pytest.mark.musicapi_mock(initial_credits=5, clock="fast")
def test_poor_and_fast(musicapi_mock):
    assert musicapi_mock.balance()["credits"] == 5
    assert musicapi_mock.clock()["profile"] == "fast"
    with client(musicapi_mock) as http:
        response = http.post("/api/v1/nuro/create", json=BGM)
    assert response.status_code == 403 and "not enough" in response.json()["message"]

def test_unmarked_defaults(musicapi_mock):
    assert musicapi_mock.clock()["profile"] == "manual"
    assert musicapi_mock.balance()["credits"] == 1000
    with client(musicapi_mock) as http:
        assert http.post("/api/v1/nuro/create", json=BGM).status_code == 200
""",
    )
    result.assert_outcomes(passed=3)


def test_two_tests_cannot_see_each_others_tasks_or_balances(pytester: pytest.Pytester) -> None:
    record = pytester.path / "record.json"
    result = run(
        pytester,
        f"""
RECORD = {str(record)!r}

def test_a_spends(musicapi_mock):
    with client(musicapi_mock) as http:
        task_id = http.post("/api/v1/nuro/create", json=BGM).json()["task_id"]
        musicapi_mock.set_balance(extra_credits=7)
        musicapi_mock.fail_next("nuroGetTask", "nuro.api_error", times=5)
        musicapi_mock.advance(3600)
    assert musicapi_mock.balance()["credits"] == 990
    with open(RECORD, "w") as f:
        json.dump({{"task_id": task_id, "url": musicapi_mock.url}}, f)

def test_b_sees_nothing(musicapi_mock):
    with open(RECORD) as f:
        seen = json.load(f)
    assert seen["url"] == musicapi_mock.url  # the same server, reset in between
    with client(musicapi_mock) as http:
        response = http.get(f"/api/v1/nuro/task/{{seen['task_id']}}")
        assert response.status_code == 404, response.text
        assert response.json()["message"] == "Task not found"
        assert http.get("/api/v1/get-credits").json() == {{"credits": 1000, "extra_credits": 0}}
    assert musicapi_mock.tasks() == [] and musicapi_mock.faults() == []
    assert [e["operation"] for e in musicapi_mock.requests] == ["nuroGetTask", "getCredits"]
""",
    )
    result.assert_outcomes(passed=2)
    assert record.exists()


def test_servers_are_cached_by_configuration(pytester: pytest.Pytester) -> None:
    urls = pytester.path / "urls.txt"
    result = run(
        pytester,
        f"""
def note(mock, name):
    with open({str(urls)!r}, "a") as f:
        f.write(f"{{name}} {{mock.url}}\\n")

@pytest.mark.musicapi_mock(initial_credits=5)
def test_one(musicapi_mock):
    note(musicapi_mock, "five")

@pytest.mark.musicapi_mock(initial_credits=5)
def test_two(musicapi_mock):
    note(musicapi_mock, "five")

def test_three(musicapi_mock):
    note(musicapi_mock, "default")

@pytest.mark.musicapi_mock(api_key="sk_other")
def test_four(musicapi_mock):
    assert musicapi_mock.api_key == "sk_other"
    assert musicapi_mock.headers == {{"Authorization": "Bearer sk_other"}}

def test_five(musicapi_mock):
    assert musicapi_mock.api_key == "sk_test_mock"
""",
    )
    result.assert_outcomes(passed=5)
    rows = [line.split() for line in urls.read_text().splitlines()]
    assert [name for name, _ in rows] == ["five", "five", "default"]
    assert rows[0][1] == rows[1][1] != rows[2][1]


def test_module_and_function_markers_merge_closest_wins(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
pytestmark = pytest.mark.musicapi_mock(initial_credits=7, nuro="gone")

def test_module_settings(musicapi_mock):
    assert musicapi_mock.balance()["credits"] == 7
    with client(musicapi_mock) as http:
        assert http.get("/api/v1/nuro/task/x").status_code == 410

@pytest.mark.musicapi_mock(initial_credits=3)
def test_function_wins(musicapi_mock):
    assert musicapi_mock.balance()["credits"] == 3
    with client(musicapi_mock) as http:
        assert http.get("/api/v1/nuro/task/x").status_code == 410  # nuro still from the module
""",
    )
    result.assert_outcomes(passed=2)


def test_marker_scenario_next_to_the_test_file(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        scn="keys:\n  sk_ci_poor: {credits: 20}\n"
        "faults:\n  - {operation: nuroCreate, error: nuro.queue_full, times: 1}\n",
    )
    result = run(
        pytester,
        """
@pytest.mark.musicapi_mock(scenario="scn.yaml")
def test_scenario(musicapi_mock):
    assert musicapi_mock.balance("sk_ci_poor")["credits"] == 20
    with client(musicapi_mock) as http:
        assert http.post("/api/v1/nuro/create", json=BGM).status_code == 403
        assert http.post("/api/v1/nuro/create", json=BGM).status_code == 200

@pytest.mark.musicapi_mock(scenario="scn.yaml")
def test_scenario_again_after_reset(musicapi_mock):
    with client(musicapi_mock) as http:
        assert http.post("/api/v1/nuro/create", json=BGM).status_code == 403
""",
    )
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        (
            'colour="red", clock="manual"',
            "*@pytest.mark.musicapi_mock: unknown setting(s) colour; known: api_key, clock*",
        ),
        ('"manual"', "*@pytest.mark.musicapi_mock takes keyword arguments only*"),
        (
            'clock="slow"',
            "*@pytest.mark.musicapi_mock: clock must be one of instant, fast, realistic, manual, not 'slow'*",
        ),
        ('nuro="someday"', "*@pytest.mark.musicapi_mock: --nuro takes gone, legacy or an ISO-8601 instant*"),
        ('scenario="missing.yaml"', "*@pytest.mark.musicapi_mock: scenario file missing.yaml*"),
    ],
)
def test_bad_marker_is_a_clear_error(pytester: pytest.Pytester, marker: str, message: str) -> None:
    result = run(
        pytester,
        f"""
@pytest.mark.musicapi_mock({marker})
def test_bad(musicapi_mock):
    pass

def test_unaffected(musicapi_mock):
    pass
""",
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([message])


def test_marker_is_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="")
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.musicapi_mock(**settings): *"])


def test_the_fixture_comes_from_the_plugin(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_song(musicapi_mock):
    pass
""",
        "-p",
        "no:musicapi_mock",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'musicapi_mock' not found*"])


def test_plugin_is_harmless_when_unused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
import sys
import threading

def test_nothing_started():
    assert "mockserver.pytest_plugin" in sys.modules  # loaded...
    assert "mockserver.testing" not in sys.modules  # ...but nothing imported or started
    assert not [t for t in threading.enumerate() if t.name.startswith("musicapi-mock")]
"""
    )
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
