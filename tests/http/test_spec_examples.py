"""Every example in openapi/ is true of the server: request examples get the answer their operation declares,
and every error example is the text of a catalog entry that produces it (so the documents cannot drift)."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from mockserver.catalog import CATALOG
from mockserver.spec import CONTROL_SPEC, ApiSpec, resolve_refs
from tests.helpers import advance, assert_matches_spec
from tests.http.surface import finished_producer, finished_sonic

SPEC = ApiSpec.load()
PRODUCT = [op for op in SPEC.operations.values() if op.spec_name != CONTROL_SPEC]
UPLOAD_KINDS = ("extend_upload_music", "cover_upload_music")


def _examples(op: Any, where: Any) -> list[tuple[str, Any]]:
    media = resolve_refs(where, SPEC.documents[op.spec_name]).get("content", {}).get("application/json", {})
    found = [(name, ex["value"]) for name, ex in (media.get("examples") or {}).items() if "value" in ex]
    return found + ([("example", media["example"])] if "example" in media else [])


REQUESTS = [
    pytest.param(op.operation_id, body, id=f"{op.operation_id}-{name}")
    for op in PRODUCT
    if op.body is not None and op.family != "studio"
    for name, body in _examples(op, op.raw["requestBody"])
]


KEY = "sk_examples"


def _made_real(client: httpx.Client, operation_id: str, body: Any) -> Any:
    """The example with the ids it names made real: finished clips, an uploaded clip, an extension, a persona."""
    if not isinstance(body, dict):
        return body
    body = copy.deepcopy(body)
    producer = SPEC.operations[operation_id].family == "producer"
    if any(k.endswith(("clip_id", "clip_ids")) for k in body) or "persona_id" in body:
        clips = [finished_producer(client)["clip_id"]] if producer else [c["clip_id"] for c in finished_sonic(client)]
        if body.get("task_type") in UPLOAD_KINDS:
            clips = [client.post("/api/v1/sonic/upload", json={"url": "https://example.com/a.mp3"}).json()["clip_id"]]
        if body.get("task_type") == "concat_music":
            extend = {
                "task_type": "extend_music",
                "continue_clip_id": clips[0],
                "continue_at": 10,
                "custom_mode": True,
                "mv": "sonic-v4-5",
                "prompt": "more",
            }
            task = client.post("/api/v1/sonic/create", json=extend).json()["task_id"]
            advance(client, 400)
            clips = [client.get(f"/api/v1/sonic/task/{task}").json()["data"][0]["clip_id"]]
        for name in [k for k in body if k.endswith("clip_id")]:
            body[name] = clips[0]
        for name in [k for k in body if k.endswith("clip_ids")]:
            body[name] = (clips * 2)[:2]
        if "persona_id" in body:
            made = client.post("/api/v1/sonic/persona", json={"name": "p", "clip_id": clips[0]}).json()
            body["persona_id"] = made["persona_id"]
    return body


@pytest.mark.parametrize(("operation_id", "example"), REQUESTS)
def test_request_example_gets_the_answer_its_operation_declares(
    client: httpx.Client, operation_id: str, example: Any
) -> None:
    op = SPEC.operations[operation_id]
    answer = client.request(op.method, op.path, json=_made_real(client, operation_id, example))
    assert str(answer.status_code) in op.raw["responses"], f"{answer.status_code} {answer.text}"
    assert_matches_spec(operation_id, answer.status_code, answer.json())
    if op.body is not None and op.body.is_valid(example):
        assert answer.status_code < 300, f"a valid example was refused: {answer.text}"


def _documented_messages(op: Any) -> set[str]:
    """Texts a request to ``op`` can be refused with: its x-error-messages, and the rule messages of the schema."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "x-error-messages" and isinstance(value, dict):
                    for text in value.values():
                        found.update(text.values() if isinstance(text, dict) else [text])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(resolve_refs(op.raw.get("requestBody", {}), SPEC.documents[op.spec_name]))
    return found


def _model_limit_messages(op: Any) -> set[str]:
    """The per-model length messages (``x-model-limit-messages`` filled with each model's limits)."""
    if op.family != "sonic":
        return set()
    templates = SPEC.schema("sonic", "SonicCreateRequest").get("x-model-limit-messages", {})
    limits = SPEC.schema("sonic", "SonicMv").get("x-model-limits", {})
    return {
        template.format(limit=limit)
        for per_model in limits.values()
        for field, limit in per_model.items()
        for name, template in templates.items()
        if name == field
    }


def _error_examples() -> dict[str, tuple[str, list[str], list[tuple[str, Any]]]]:
    """Each error response (a shared component, or inline): its status, the operations using it, its examples."""
    found: dict[str, tuple[str, list[str], list[tuple[str, Any]]]] = {}
    for op in PRODUCT:
        for status, response in op.raw["responses"].items():
            if int(status) < 400:
                continue
            key = str(response.get("$ref") or f"{op.operation_id}/{status}")
            _, users, examples = found.setdefault(key, (status, [], _examples(op, response)))
            users.append(op.operation_id)
    return found


ERRORS = [
    pytest.param(status, users, example, id=f"{key.rsplit('/', 1)[-1]}-{name}")
    for key, (status, users, examples) in _error_examples().items()
    for name, example in examples
]


@pytest.mark.parametrize(("status", "users", "example"), ERRORS)
def test_error_example_is_the_text_of_a_catalog_entry(status: str, users: list[str], example: Any) -> None:
    """An error example shows what some operation using it answers: a catalog entry's real text."""
    message = example["message"]
    entries = [e for e in CATALOG if e.status == int(status) and (not e.operations or set(e.operations) & set(users))]
    texts = {e.message for e in entries} | {e.example for e in entries if e.example}
    if int(status) == 400:  # validation: a documented rule message, or the mock's "<field>: <rule>" wording
        for operation_id in users:
            op = SPEC.operations[operation_id]
            texts |= _documented_messages(op) | _model_limit_messages(op)
        field = message.split(":")[0].replace("[", "").replace("]", "").replace(".", "")
        if ": " in message and field.isidentifier():
            return
    assert message in texts, f"{users} {status}: {message!r} is the text of no catalog entry that applies"
    if "refund_processed" in example:  # the flags appear only where a debit happened and was refunded
        assert any(e.after_debit and e.message == message for e in entries), message
