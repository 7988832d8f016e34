"""What "the same answer" means for drift: the shape of a response, not its random values.

A JSON body is flattened to ``path -> descriptor``: ``object``, ``array[<length>]``, ``string``,
``number``, ``boolean``, ``null`` — and, for a field the operation's response schemas give an ``enum``
(``status``, ``state``, ``type``, …), its value. Ids, URLs, timestamps, titles and balances are strings or
numbers like any other: their values never count. Headers that matter are the media type and the headers
the spec documents for that response (``Deprecation``, ``Sunset``, ``Retry-After``, …), by presence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.spec import ApiSpec, resolve_refs

_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True, slots=True)
class Difference:
    """One way the mock's answer differs from the recorded one."""

    #: ``status``, ``header``, ``missing`` (in the mock), ``extra`` (only in the mock), ``type``, ``enum``, ``length``.
    kind: str
    field: str
    live: str
    mock: str


def _walk_schema(node: Any, found: dict[str, set[str]]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk_schema(item, found)
        return
    if not isinstance(node, Mapping):
        return
    for name, prop in (node.get("properties") or {}).items():
        if isinstance(prop, Mapping) and "enum" in prop:
            found.setdefault(str(name), set()).update(str(v) for v in prop["enum"])
        _walk_schema(prop, found)
    for key in ("items", "oneOf", "anyOf", "allOf", "additionalProperties"):
        if key in node:
            _walk_schema(node[key], found)


def enum_fields(spec: ApiSpec, operation_id: str | None) -> dict[str, set[str]]:
    """Field name -> the enum values the operation's response schemas give it."""
    if operation_id is None or operation_id not in spec.operations:
        return {}
    op = spec.operations[operation_id]
    found: dict[str, set[str]] = {}
    resolved = resolve_refs(op.raw.get("responses", {}), spec.documents[op.spec_name])
    _walk_schema([r.get("content", {}).get("application/json", {}).get("schema") for r in resolved.values()], found)
    return found


def documented_headers(spec: ApiSpec, operation_id: str | None, status: int) -> set[str]:
    """Lower-case names of the headers the spec documents for ``status`` of the operation."""
    if operation_id is None or operation_id not in spec.operations:
        return set()
    op = spec.operations[operation_id]
    responses = op.raw.get("responses", {})
    raw = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or {}
    resolved = resolve_refs(raw, spec.documents[op.spec_name])
    return {str(name).lower() for name in (resolved.get("headers") or {})}


def flatten(value: Any, enums: Mapping[str, set[str]], path: str = "") -> dict[str, str]:
    """``path -> descriptor`` of a JSON value (see the module docs); the root is ``$``."""
    out: dict[str, str] = {}
    where = path or "$"
    if isinstance(value, dict):
        out[where] = "object"
        for key, item in value.items():
            out.update(flatten(item, enums, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, list):
        out[where] = f"array[{len(value)}]"
        for index, item in enumerate(value):
            out.update(flatten(item, enums, f"{path}[{index}]"))
    elif isinstance(value, bool):
        out[where] = "boolean"
    elif isinstance(value, int | float):
        out[where] = "number"
    elif value is None:
        out[where] = "null"
    else:
        name = _INDEX.sub("", where.rsplit(".", 1)[-1])
        out[where] = f"enum {value}" if name in enums and str(value) in enums[name] else "string"
    return out


def signature(shape: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The enum values of a shape by field, indices dropped: where in its lifecycle an answer is."""
    values: dict[str, set[str]] = {}
    for path, descriptor in shape.items():
        if descriptor.startswith("enum "):
            values.setdefault(_INDEX.sub("[]", path), set()).add(descriptor[5:])
    return {path: tuple(sorted(v)) for path, v in sorted(values.items())}


def _kind(live: str, mock: str) -> str:
    if live.startswith("array[") and mock.startswith("array["):
        return "length"
    if live.startswith("enum ") and mock.startswith("enum "):
        return "enum"
    return "type"


def _beyond(path: str, short_arrays: Mapping[str, int]) -> bool:
    """Whether ``path`` is inside an element of an array past the shorter side's length."""
    for array, length in short_arrays.items():
        prefix = "[" if array == "$" else f"{array}["
        if path.startswith(prefix):
            index = path[len(prefix) :].split("]", 1)[0]
            if index.isdigit() and int(index) >= length:
                return True
    return False


def compare_bodies(live: Mapping[str, str], mock: Mapping[str, str]) -> list[Difference]:
    """Differences of two flattened bodies (elements past a shorter array count once, as its length)."""
    short: dict[str, int] = {}
    for path in live.keys() & mock.keys():
        a, b = live[path], mock[path]
        if a != b and a.startswith("array[") and b.startswith("array["):
            short[path] = min(int(a[6:-1]), int(b[6:-1]))
    out: list[Difference] = []
    for path in sorted(live.keys() | mock.keys()):
        if _beyond(path, short):
            continue
        found, got = live.get(path), mock.get(path)
        if found == got:
            continue
        a, b = found or "", got or ""
        if got is None:
            out.append(Difference("missing", path, str(a), "absent"))
        elif found is None:
            out.append(Difference("extra", path, "absent", b))
        else:
            out.append(Difference(_kind(a, b), path, a, b))
    return out


def media_type(headers: Mapping[str, str]) -> str:
    """The media type of ``Content-Type`` (lower-case, no parameters); empty when absent."""
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def compare_headers(live: Mapping[str, str], mock: Mapping[str, str], documented: Iterable[str]) -> list[Difference]:
    """Media type, and presence of each documented header."""
    out = []
    if media_type(live) != media_type(mock):
        out.append(Difference("header", "content-type", media_type(live) or "absent", media_type(mock) or "absent"))
    for name in sorted(set(documented)):
        if (name in live) != (name in mock):
            out.append(
                Difference(
                    "header", name, "present" if name in live else "absent", "present" if name in mock else "absent"
                )
            )
    return out
