"""Every document in openapi/ is valid OpenAPI, and every example in it is valid against its schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from mockserver.spec import ApiSpec, resolve_refs, spec_dir, to_json_schema

FILES = sorted(spec_dir().glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def examples(node: Any, where: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(location, example, schema) for every example in a (resolved) document subtree."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from examples(item, f"{where}[{i}]")
        return
    if not isinstance(node, dict):
        return
    schema = node.get("schema")
    if isinstance(schema, dict):  # a media type or parameter object
        if "example" in node:
            yield where, node["example"], schema
        for name, ex in (node.get("examples") or {}).items():
            yield f"{where}.examples.{name}", ex["value"], schema
    elif "example" in node and ("type" in node or "oneOf" in node or "properties" in node):
        yield where, node["example"], node  # a schema object's own example
    for key, value in node.items():
        if key in ("example", "examples"):
            continue
        yield from examples(value, f"{where}.{key}" if where else key)


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_document_is_valid_openapi(path: Path) -> None:
    validate(load(path))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_example_matches_its_schema(path: Path) -> None:
    doc = load(path)
    found = list(examples(resolve_refs({k: v for k, v in doc.items() if k != "components"}, doc)))
    found += list(examples(resolve_refs(doc.get("components", {}), doc), "components"))
    assert found, f"{path.name} has no examples"
    for where, example, schema in found:
        if schema.get("format") == "binary":
            continue
        errors = list(jsonschema.Draft4Validator(to_json_schema(schema)).iter_errors(example))
        assert not errors, f"{path.name} {where}: {[e.message for e in errors][:3]}"


def test_request_examples_select_exactly_one_branch() -> None:
    spec = ApiSpec.load()
    op = spec.operations["nuroCreate"]
    assert op.body is not None
    media = resolve_refs(op.raw["requestBody"], spec.documents["nuro"])["content"]["application/json"]
    assert len(media["examples"]) >= 5
    for name, example in media["examples"].items():
        matching = [b for b in op.body.branches if b.is_valid(example["value"])]
        assert len(matching) == 1, f"{name} matches {len(matching)} branches"


def test_every_operation_has_an_implementation_and_links_are_sound() -> None:
    spec = ApiSpec.load()
    from mockserver.app import all_handlers
    from mockserver.config import Config
    from mockserver.mock import Mock

    mock = Mock.build(Config(clock="manual"), lambda: 0.0, spec)
    try:
        assert set(spec.operations) == set(all_handlers(mock))
    finally:
        mock.close()
    create = spec.operations["nuroCreate"].raw["responses"]["200"]
    link = create["links"]["GetTask"]
    assert link["operationId"] == "nuroGetTask"
    assert link["parameters"] == {"task_id": "$response.body#/task_id"}
