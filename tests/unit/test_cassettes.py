"""Pure rules of record/replay/drift: redaction, request matching, shapes and their differences."""

from __future__ import annotations

from mockserver.cassettes.cassette import REDACTED, Body, Exchange, Redactor
from mockserver.cassettes.drift import sequences
from mockserver.cassettes.replay import request_key
from mockserver.cassettes.shapes import Difference, compare_bodies, compare_headers, flatten, signature

ENUMS = {"state": {"pending", "running", "succeeded"}, "status": {"SUCCESS"}}


def test_credential_headers_keep_their_scheme_and_their_secret_is_scrubbed_everywhere() -> None:
    redactor = Redactor()
    headers = redactor.headers(
        [("Authorization", "Bearer sk_live_abcdef123"), ("Cookie", "session=zzz999yyy"), ("Content-Length", "3")]
    )
    assert headers == {"authorization": f"Bearer {REDACTED}", "cookie": REDACTED}
    assert redactor.scrub("echo sk_live_abcdef123 and session=zzz999yyy") == f"echo {REDACTED} and {REDACTED}"
    assert Redactor().headers([("authorization", "Bearer")]) == {"authorization": "Bearer"}  # no secret in it
    assert "Bearer" not in Redactor().secrets


def test_secret_looking_fields_are_redacted_at_any_depth() -> None:
    redactor = Redactor()
    body = {"webhook_secret": "whsec_1234567", "nested": [{"api_key": "k_7654321", "title": "x"}], "token": None}
    assert redactor.json(body) == {
        "webhook_secret": REDACTED,
        "nested": [{"api_key": REDACTED, "title": "x"}],
        "token": None,
    }
    assert {"whsec_1234567", "k_7654321"} <= redactor.secrets


def exchange(seq: int, path: str, status: int, body: object, method: str = "GET") -> Exchange:
    return Exchange(seq, float(seq), 0.01, method, path, "", None, {}, Body(), status, {}, Body(json=body))


def test_dumps_never_writes_a_remembered_secret() -> None:
    redactor = Redactor()
    redactor.remember("sk_live_abcdef123")
    text = redactor.dumps(exchange(1, "/api/v1/x", 200, {"message": "key sk_live_abcdef123 echoed"}))
    assert b"sk_live_abcdef123" not in text and REDACTED.encode() in text


def test_requests_match_on_method_path_query_and_canonical_body_after_redaction() -> None:
    a = request_key("post", "/api/v1/sonic/create", "", Body(json={"b": 1, "a": 2, "webhook_secret": "s1"}))
    b = request_key("POST", "/api/v1/sonic/create", "", Body(json={"a": 2, "webhook_secret": "other", "b": 1}))
    assert a == b
    assert a != request_key("POST", "/api/v1/sonic/create", "", Body(json={"a": 3, "b": 1}))
    assert a != request_key("POST", "/api/v1/producer/create", "", Body(json={"b": 1, "a": 2}))


def test_shapes_keep_types_lengths_and_enum_values_not_random_values() -> None:
    one = flatten({"task_id": "abc", "data": [{"state": "running", "duration": "1.5"}]}, ENUMS)
    two = flatten({"task_id": "zzz", "data": [{"state": "running", "duration": "9"}]}, ENUMS)
    assert (
        one
        == two
        == {
            "$": "object",
            "task_id": "string",
            "data": "array[1]",
            "data[0]": "object",
            "data[0].state": "enum running",
            "data[0].duration": "string",
        }
    )
    assert signature(one) == {"data[].state": ("running",)}


def test_differences_name_kind_field_and_both_sides() -> None:
    live = flatten({"data": [{"state": "succeeded", "audioUrl": "u"}], "code": 200}, ENUMS)
    mock = flatten({"data": [{"state": "succeeded", "audio_url": "u"}, {"state": "succeeded"}], "code": "200"}, ENUMS)
    assert compare_bodies(live, mock) == [
        Difference("type", "code", "number", "string"),
        Difference("length", "data", "array[1]", "array[2]"),
        Difference("missing", "data[0].audioUrl", "string", "absent"),
        Difference("extra", "data[0].audio_url", "absent", "string"),
    ]
    assert compare_headers(
        {"content-type": "application/json", "sunset": "x"}, {"content-type": "text/plain"}, ["sunset"]
    ) == [
        Difference("header", "content-type", "application/json", "text/plain"),
        Difference("header", "sunset", "present", "absent"),
    ]


def test_sequences_follow_a_created_task_through_its_polls() -> None:
    create = exchange(1, "/api/v1/sonic/create", 200, {"task_id": "t-1"}, method="POST")
    other = exchange(2, "/api/v1/get-credits", 200, {"credits": 1})
    poll = exchange(3, "/api/v1/sonic/task/t-1", 200, {"data": []})
    refused = exchange(4, "/api/v1/sonic/create", 400, {"task_id": "t-2"}, method="POST")
    assert [[e.seq for e in s] for s in sequences([create, other, poll, refused])] == [[1, 3], [2], [4]]


def test_a_postgresql_state_is_told_from_a_sqlite_file() -> None:
    from mockserver.config import Config, is_database_url

    assert is_database_url("postgresql://u@h:5432/db") and is_database_url("POSTGRES://h/db")
    assert not is_database_url("state.sqlite3") and not is_database_url(None) and not is_database_url("")
    assert Config(state="postgresql://h/db").fleet and not Config(state="mock.sqlite3").fleet
    assert Config(state="mock.sqlite3", workers=2).fleet
