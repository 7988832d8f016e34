"""The OpenAPI documents in ``openapi/``: loaded once, turned into routes and compiled validators.

The spec is the single source of truth: request validation, enums and limits come from it. Schemas
are OpenAPI 3.0 objects; they are converted once to JSON Schema draft 4 (``nullable`` becomes a
``null`` type) and compiled with jsonschema-rs, so a valid body costs one native call.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from mockserver.errors import MockServerError

JSON = Any
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
CONTROL_SPEC = "mock-control"
#: libyaml's safe loader where PyYAML was built with it: ~9x faster on these files than the pure-Python one.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Keywords that are OpenAPI-only annotations, dropped before compiling.
_ANNOTATIONS = frozenset(
    {"example", "examples", "discriminator", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly"}
)


class SpecError(MockServerError, RuntimeError):
    """The documents in ``openapi/`` are unusable (missing, a bad reference, a clash)."""


def spec_dir() -> Path:
    """Where the OpenAPI documents live: ``$MUSICAPI_MOCK_SPEC_DIR``, the repo, or the package copy."""
    override = os.environ.get("MUSICAPI_MOCK_SPEC_DIR")
    candidates = [Path(override)] if override else []
    here = Path(__file__).resolve().parent
    candidates += [here.parent / "openapi", here / "openapi"]
    for candidate in candidates:
        if (candidate / f"{CONTROL_SPEC}.yaml").is_file():
            return candidate
    raise SpecError(f"no OpenAPI directory found (looked in {', '.join(map(str, candidates))})")


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where in the body, and what is wrong.

    ``documented`` marks a message the vendor documents verbatim (``x-error-messages`` in the spec):
    it is shown as is, without the field prefix.
    """

    path: tuple[str | int, ...]
    message: str
    documented: bool = False

    @property
    def field(self) -> str:
        """``genre[2]``, ``segments[0].duration`` or ``body``."""
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out or "body"

    def __str__(self) -> str:
        return self.message if self.documented else f"{self.field}: {self.message}"


def _describe(value: JSON) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class SchemaValidator:
    """A compiled validator for one OpenAPI schema, with messages that name the field and the rule.

    For a top-level ``oneOf`` of object schemas it picks the branch the body means (by the
    properties each branch pins to a single enum value, such as ``type`` and ``version``) and reports
    that branch's violations, rather than a useless "valid under none of".
    """

    def __init__(self, schema: Mapping[str, JSON]) -> None:
        self.schema: Mapping[str, JSON] = schema
        self._compiled = jsonschema_rs.Draft4Validator(to_json_schema(schema))
        self.branches = [SchemaValidator(branch) for branch in schema.get("oneOf", ())]

    def is_valid(self, instance: JSON) -> bool:
        """Fast path: no messages."""
        return bool(self._compiled.is_valid(instance))

    def violations(self, instance: JSON) -> list[Violation]:
        """Every broken rule (empty when valid)."""
        if self._compiled.is_valid(instance):
            return []
        if self.branches and isinstance(instance, dict):
            return self._branch_violations(instance)
        if self.branches:
            return [Violation((), "must be a JSON object")]
        return [self._violation(err) for err in self._compiled.iter_errors(instance)]

    def select(self, instance: JSON) -> Mapping[str, JSON]:
        """The schema that applies to a valid ``instance`` (its ``oneOf`` branch, or itself)."""
        for branch in self.branches:
            if branch.is_valid(instance):
                return branch.schema
        return self.schema

    def _branch_violations(self, instance: dict[str, JSON]) -> list[Violation]:
        candidates = list(self.branches)
        for key in _selector_keys(candidates):
            matching = [b for b in candidates if _matches_selector(b.schema, key, instance)]
            if not matching:
                allowed = [v for b in candidates for v in _pinned(b.schema).get(key, ())]
                allowed = list(dict.fromkeys(allowed))
                if key not in instance:
                    return [Violation((key,), f"is required; one of {allowed}")]
                return [Violation((key,), f"{_describe(instance[key])} is not one of {allowed}")]
            candidates = matching
        return candidates[0].violations(instance)

    def _violation(self, err: jsonschema_rs.ValidationError) -> Violation:
        path = tuple(err.instance_path)
        keyword = err.schema_path[-1] if err.schema_path else ""
        node: JSON = self.schema
        for step in list(err.schema_path)[:-1]:
            node = node[step] if isinstance(node, Mapping) or isinstance(step, int) else node
        node = node if isinstance(node, Mapping) else {}
        limit = node.get(keyword)
        instance: Any = err.instance
        kind: Any = err.kind
        documented = node.get("x-error-messages", {}).get(keyword)
        if keyword == "required" and isinstance(documented, Mapping):
            documented = documented.get(kind.property)
        if isinstance(documented, str):
            field = (kind.property,) if keyword == "required" else ()
            return Violation(path + field, documented, documented=True)
        if keyword == "required":
            return Violation(path + (kind.property,), "is required")
        if keyword == "maxLength":
            return Violation(path, f"must be at most {limit} characters long (got {len(instance)})")
        if keyword == "minLength":
            what = "must not be empty" if limit == 1 else f"must be at least {limit} characters long"
            return Violation(path, f"{what} (got {len(instance)})")
        if keyword in ("maximum", "minimum"):
            word = "at most" if keyword == "maximum" else "at least"
            return Violation(path, f"must be {word} {limit} (got {_describe(instance)})")
        if keyword == "maxItems":
            return Violation(path, f"must have at most {limit} items (got {len(instance)})")
        if keyword == "minItems":
            return Violation(path, f"must have at least {limit} item{'s' if limit != 1 else ''}")
        if keyword == "uniqueItems":
            return Violation(path, "must not contain duplicate items")
        if keyword == "enum":
            return Violation(path, f"{_describe(instance)} is not one of {list(limit or ())}")
        if keyword == "type":
            return Violation(path, f"must be of type {limit} (got {_json_type(instance)})")
        if keyword == "not":
            reason = node.get("not", {}).get("description") or node.get("description")
            return Violation(path, reason or "is not allowed here")
        if keyword == "additionalProperties":
            return Violation(path, err.message)
        return Violation(path, err.message if len(err.message) <= 200 else err.message[:197] + "...")


def _json_type(value: JSON) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _pinned(schema: Mapping[str, JSON]) -> dict[str, list[JSON]]:
    """Properties a branch pins to a single enum value (its discriminators)."""
    out: dict[str, list[JSON]] = {}
    for name, prop in schema.get("properties", {}).items():
        enum = prop.get("enum") if isinstance(prop, Mapping) else None
        if enum is not None and len(enum) == 1:
            out[name] = list(enum)
    return out


def _selector_keys(branches: Iterable[SchemaValidator]) -> list[str]:
    keys: dict[str, None] = {}
    for branch in branches:
        for key in _pinned(branch.schema):
            keys[key] = None
    return list(keys)


def _matches_selector(schema: Mapping[str, JSON], key: str, instance: Mapping[str, JSON]) -> bool:
    pinned = _pinned(schema).get(key)
    if pinned is None:
        return True
    if key not in instance:
        return key not in schema.get("required", ())
    return bool(instance[key] == pinned[0])


def to_json_schema(schema: JSON) -> JSON:
    """Convert a resolved OpenAPI 3.0 schema object to JSON Schema draft 4."""
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, JSON] = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-") or key == "nullable":
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        else:
            out[key] = to_json_schema(value)
    if schema.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def resolve_refs(node: JSON, root: Mapping[str, JSON], _seen: tuple[str, ...] = ()) -> JSON:
    """Inline every local ``$ref`` (``#/components/...``) of ``node``."""
    if isinstance(node, list):
        return [resolve_refs(item, root, _seen) for item in node]
    if not isinstance(node, Mapping):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith("#/"):
            raise SpecError(f"only local references are supported, not {ref}")
        if ref in _seen:
            raise SpecError(f"recursive reference {ref}")
        target: JSON = root
        for part in ref[2:].split("/"):
            try:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            except (KeyError, TypeError):
                raise SpecError(f"unresolvable reference {ref}") from None
        return resolve_refs(target, root, _seen + (ref,))
    return {key: resolve_refs(value, root, _seen) for key, value in node.items()}


@dataclass(frozen=True)
class Operation:
    """One operation of a spec: where it lives, what it accepts."""

    operation_id: str
    method: str
    path: str
    family: str
    spec_name: str
    raw: Mapping[str, JSON]
    body: SchemaValidator | None
    body_required: bool
    secured: bool

    @property
    def label(self) -> str:
        """``POST /api/v1/nuro/create``."""
        return f"{self.method} {self.path}"


class ApiSpec:
    """All documents of ``openapi/``: the product specs plus the control-plane spec."""

    def __init__(self, documents: Mapping[str, Mapping[str, JSON]]) -> None:
        if CONTROL_SPEC not in documents:
            raise SpecError(f"missing {CONTROL_SPEC}.yaml")
        self.documents = dict(documents)
        self.operations: dict[str, Operation] = {}
        for name, doc in self.documents.items():
            for op in self._operations_of(name, doc):
                if op.operation_id in self.operations:
                    raise SpecError(f"operationId {op.operation_id} defined twice")
                self.operations[op.operation_id] = op

    @classmethod
    def load(cls, directory: Path | None = None) -> ApiSpec:
        """Read every ``*.yaml`` of the directory (default: :func:`spec_dir`)."""
        folder = directory or spec_dir()
        docs: dict[str, Mapping[str, JSON]] = {}
        for path in sorted(folder.glob("*.yaml")):
            with path.open(encoding="utf-8") as handle:
                docs[path.stem] = yaml.load(handle, Loader=_LOADER)  # noqa: S506 - a safe loader
        return cls(docs)

    def _operations_of(self, name: str, doc: Mapping[str, JSON]) -> Iterable[Operation]:
        default_security = doc.get("security", [])
        for path, item in doc.get("paths", {}).items():
            for method in HTTP_METHODS:
                raw = item.get(method)
                if raw is None:
                    continue
                if "operationId" not in raw:
                    raise SpecError(f"{name}: {method.upper()} {path} has no operationId")
                body_schema = None
                body_required = False
                request_body = raw.get("requestBody")
                if request_body is not None:
                    request_body = resolve_refs(request_body, doc)
                    body_required = bool(request_body.get("required", False))
                    media = request_body.get("content", {}).get("application/json")
                    if media is not None and "schema" in media:
                        body_schema = SchemaValidator(resolve_refs(media["schema"], doc))
                security = raw.get("security", default_security)
                tags = raw.get("tags") or [name]
                yield Operation(
                    operation_id=raw["operationId"],
                    method=method.upper(),
                    path=path,
                    family=str(tags[0]),
                    spec_name=name,
                    raw=raw,
                    body=body_schema,
                    body_required=body_required,
                    secured=bool(security),
                )

    def schema(self, spec_name: str, component: str) -> Mapping[str, JSON]:
        """A resolved component schema, e.g. ``schema("nuro", "NuroVocalRequest")``."""
        doc = self.documents[spec_name]
        try:
            raw = doc["components"]["schemas"][component]
        except KeyError:
            raise SpecError(f"{spec_name}: no schema {component}") from None
        resolved: Mapping[str, JSON] = resolve_refs(raw, doc)
        return resolved

    def response_schema(self, operation_id: str, status: int | str) -> Mapping[str, JSON]:
        """The resolved JSON schema of an operation's response."""
        op = self.operations[operation_id]
        response = resolve_refs(op.raw["responses"][str(status)], self.documents[op.spec_name])
        schema: Mapping[str, JSON] = response["content"]["application/json"]["schema"]
        return schema

    @cached_property
    def product_document(self) -> dict[str, JSON]:
        """Every product spec merged into one document, as served at ``/openapi.json``."""
        merged: dict[str, JSON] = {
            "openapi": "3.0.3",
            "info": {
                "title": "MusicAPI (as mocked by musicapi-mock)",
                "version": "1.0.0",
                "description": "All MusicAPI families the mock serves. Each family's own document is in openapi/.",
            },
            "servers": [{"url": "/"}],
            "security": [{"bearer": []}],
            "tags": [],
            "paths": {},
            "components": {},
        }
        for name, doc in self.documents.items():
            if name == CONTROL_SPEC:
                continue
            merged["tags"].extend(t for t in doc.get("tags", []) if t not in merged["tags"])
            for path, item in doc.get("paths", {}).items():
                if path in merged["paths"]:
                    raise SpecError(f"path {path} defined in two specs")
                merged["paths"][path] = copy.deepcopy(item)
            for section, entries in doc.get("components", {}).items():
                target = merged["components"].setdefault(section, {})
                for key, value in entries.items():
                    if key in target and target[key] != value:
                        raise SpecError(f"component {section}/{key} differs between specs")
                    target[key] = copy.deepcopy(value)
        return merged

    @property
    def control_document(self) -> Mapping[str, JSON]:
        """The control-plane spec, as served at ``/_mock/openapi.json``."""
        return self.documents[CONTROL_SPEC]

    def enum(self, spec_name: str, component: str, prop: str) -> list[JSON]:
        """The enum of a component's property (an array property's item enum)."""
        node = self.schema(spec_name, component)["properties"][prop]
        if node.get("type") == "array":
            node = node["items"]
        return list(node["enum"])

    def default(self, schema: Mapping[str, JSON], prop: str) -> JSON:
        """A property's declared default, or None."""
        return schema.get("properties", {}).get(prop, {}).get("default")
