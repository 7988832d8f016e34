"""What each family's documents promise beyond its schema, written once per family.

The schemathesis layer covers every operation of the product spec automatically; this module holds the
few things a schema cannot say, so that generated data is judged honestly:

* **input rules** (``repair_body``): rules the schema cannot express, applied to schema-valid generated
  bodies so that "positive" data really is acceptable. Nuro: the v2.0 segment rules and the input
  language (Chinese or English, by script). Each repair keeps the body schema-valid.
* **documented refusals** (:class:`RefusalPolicy`): the only answers other than 2xx a schema-valid
  request may get — a documented *content* error of its operation (a 4xx error-catalog entry naming the
  operation, matched by status, type and message, whose type is not about auth, limits, credits or
  retirement), a value the spec marks ``x-retired-values`` (410), and the 410/503 of an operation that
  documents no 2xx at all or belongs to a family retired on the target (Nuro where it answers 410).
* **task rules** (``TASK_RULES``): per poll operation, what a task body must satisfy at any instant.
* **sample bodies** (``valid_body``): one valid request per create operation, for hand-written tests.

Add a family by adding its entries here; the layers pick them up.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.errors import Catalog, ErrorSpec
from mockserver.spec import CONTROL_SPEC, ApiSpec, Operation

JSON = Any
#: The statuses of an operation that is gone (410) or unavailable (503) whatever the request.
RETIREMENT_STATUSES = frozenset({410, 503})
#: Error types that are about the caller's identity or account, never about the content of a request.
ACCOUNT_TYPES = frozenset({"unauthorized", "forbidden", "rate_limited"})
_SUPPORTED_SCRIPTS = ("LATIN", "CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")


# --- Nuro input rules ---------------------------------------------------------------------------------


def _english_or_chinese(text: str) -> str:
    """``text`` with letters of other scripts replaced by ``a`` (same length); magic markers defused.

    The documents: "Supported lyric languages: Chinese and English". Like the mock, the kit reads that
    by script (Latin or Han letters); digits, punctuation and control characters are left as generated.
    """
    out = []
    for char in text:
        if char.isalpha() and not char.isascii() and not unicodedata.name(char, "").startswith(_SUPPORTED_SCRIPTS):
            out.append("a")
        else:
            out.append(char)
    return "".join(out).replace("#mock:", "#mock ")


def _segment_limits(spec: ApiSpec) -> tuple[int, int, int, int]:
    v2 = spec.schema("nuro", "NuroBgmV2Request")["properties"]["duration"]
    segment = spec.schema("nuro", "NuroSegment")["properties"]["duration"]
    return int(v2["minimum"]), int(v2["maximum"]), int(segment["minimum"]), int(segment["maximum"])


def repair_nuro_create(spec: ApiSpec, body: JSON) -> JSON:
    """A schema-valid Nuro create body made to follow the rules the schema cannot express.

    v2.0 (from ``NuroBgmV2Request``'s description): segment durations add up to 30–120 s, a lone segment
    needs 30 s, and ``duration`` equals the sum when both are given. Durations stay within the schema's
    per-segment range, so the body stays schema-valid.
    """
    if not isinstance(body, dict):
        return body
    fixed = copy.deepcopy(body)
    for name in ("lyrics", "description"):
        if isinstance(fixed.get(name), str):
            fixed[name] = _english_or_chinese(fixed[name])
    segments = fixed.get("segments")
    if fixed.get("type") != "bgm" or fixed.get("version") != "v2.0" or not isinstance(segments, list) or not segments:
        return fixed
    low, high, seg_low, seg_high = _segment_limits(spec)
    segments = segments[: max(1, high // seg_low)]
    durations = [int(seg["duration"]) for seg in segments]
    if len(durations) == 1:
        durations[0] = min(max(durations[0], low), high, seg_high)
    elif sum(durations) < low:
        durations[0] += low - sum(durations)
    index = 0
    while sum(durations) > high:
        excess = sum(durations) - high
        take = min(excess, durations[index] - seg_low)
        durations[index] -= take
        index += 1
    for seg, duration in zip(segments, durations, strict=True):
        seg["duration"] = duration
    fixed["segments"] = segments
    if "duration" in fixed:
        fixed["duration"] = sum(durations)
    return fixed


def repair_model_limits(schema: Mapping[str, JSON], body: JSON) -> JSON:
    """Text fields cut to the chosen model's limit, where the spec says so (``x-model-limits`` on a property).

    Sonic: the schema's ``maxLength`` is the largest model's; each ``mv`` has its own limit and a body over
    it gets the documented 400 of ``x-model-limit-messages``.
    """
    if not isinstance(body, dict):
        return body
    properties: dict[str, JSON] = {}
    for part in (schema, *schema.get("oneOf", ()), *schema.get("anyOf", ()), *schema.get("allOf", ())):
        if isinstance(part, Mapping):
            properties.update(part.get("properties", {}))
    for name, prop in properties.items():
        limits = prop.get("x-model-limits") if isinstance(prop, Mapping) else None
        if not limits or name not in body:
            continue
        table = limits.get(body[name], {})
        fixed = dict(body)
        for field_name, limit in table.items():
            if isinstance(fixed.get(field_name), str) and len(fixed[field_name]) > limit:
                fixed[field_name] = fixed[field_name][:limit]
        return fixed
    return body


#: Per create operation: how to make a schema-valid body follow the rules the schema cannot express.
INPUT_RULES: Mapping[str, Callable[[ApiSpec, JSON], JSON]] = {
    "nuroCreate": repair_nuro_create,
}


def _is_valid(op: Operation, body: JSON) -> bool:
    try:
        return op.body is not None and bool(op.body.is_valid(body))
    except (TypeError, ValueError):  # not a JSON value (e.g. raw bytes of a negative case)
        return False


def repair_body(spec: ApiSpec, operation_id: str, body: JSON) -> JSON:
    """``body`` after the operation's input rules, if it is schema-valid (invalid bodies are left alone)."""
    op = spec.operations.get(operation_id)
    if op is None or op.body is None or not _is_valid(op, body):
        return body
    repaired = repair_model_limits(op.body.schema, body)
    rule = INPUT_RULES.get(operation_id)
    return rule(spec, repaired) if rule is not None else repaired


# --- what a task body must satisfy ----------------------------------------------------------------------

#: Nuro task states, in lifecycle order (failed and succeeded are both terminal).
NURO_RANK: Mapping[str, int] = {"pending": 0, "running": 1, "succeeded": 2, "failed": 2}


def nuro_task_problems(body: Mapping[str, JSON]) -> list[str]:
    """What is wrong with one Nuro task body, judged alone (see ``NuroTask`` in openapi/nuro.yaml)."""
    problems: list[str] = []
    status, progress, audio = body.get("status"), body.get("progress"), body.get("audio_url")
    if (status == "succeeded") != (progress == 100):
        problems.append(f"progress is 100 exactly when succeeded (status {status!r}, progress {progress!r})")
    if (status == "succeeded") != bool(audio):
        problems.append(f"audio_url is set exactly when succeeded (status {status!r}, audio_url {audio!r})")
    if status == "pending" and progress != 0:
        problems.append(f"a pending task has progress 0, not {progress!r}")
    if (status == "failed") != isinstance(body.get("error"), dict):
        problems.append(f"error is present exactly when failed (status {status!r}, error {body.get('error')!r})")
    return problems


#: Per poll operation: the problems of one 200 task body.
TASK_RULES: Mapping[str, Callable[[Mapping[str, JSON]], list[str]]] = {
    "nuroGetTask": nuro_task_problems,
}


# --- what a schema-valid request may be refused with ------------------------------------------------------


@dataclass(frozen=True)
class RefusalPolicy:
    """Decides whether a non-2xx answer to a schema-valid request is documented (see the module docs)."""

    spec: ApiSpec
    catalog: Catalog
    #: Operations of families that are retired on this target (every request may answer their gone status).
    retired: frozenset[str] = frozenset()

    def unavailable(self, operation_id: str) -> bool:
        """An operation that documents no 2xx answer at all, or belongs to a retired family here."""
        if operation_id in self.retired:
            return True
        op = self.spec.operations[operation_id]
        return not any(str(code).startswith("2") for code in op.raw.get("responses", {}))

    def documented_statuses(self, operation_id: str) -> set[int]:
        """The statuses the operation documents."""
        op = self.spec.operations[operation_id]
        return {int(code) for code in op.raw.get("responses", {}) if str(code).isdigit()}

    def content_errors(self, operation_id: str) -> list[ErrorSpec]:
        """Documented content errors of an operation (catalog entries naming it; not auth/limits/gone)."""
        return [
            e
            for e in self.catalog
            if operation_id in e.operations
            and 400 <= e.status < 500
            and e.type not in ACCOUNT_TYPES
            and e.type != "gone"
            and not e.task_failure
        ]

    def retirement_statuses(self, operation_id: str) -> set[int]:
        """What an unavailable operation answers to anything: its documented 410 (retired) or 503 (unavailable)."""
        if not self.unavailable(operation_id):
            return set()
        wanted = {410} if operation_id in self.retired else set(RETIREMENT_STATUSES)
        return wanted & self.documented_statuses(operation_id)

    def is_documented_refusal(self, operation_id: str, body: JSON, status: int, response: JSON) -> str | None:
        """Why refusing a schema-valid ``body`` with ``status``/``response`` is documented, or None."""
        if self.unavailable(operation_id):
            if status in self.retirement_statuses(operation_id):
                return f"{operation_id} is unavailable on this target and answers its documented {status}"
            return None
        if status == 410 and _uses_retired_value(self.spec.operations[operation_id], body):
            return "the body uses a value the spec marks x-retired-values (documented 410)"
        if not isinstance(response, dict):
            return None
        for entry in self.content_errors(operation_id):
            if (
                entry.status == status
                and response.get("type") == entry.type
                and str(response.get("message", "")).startswith(entry.message)
            ):
                return f"documented content error {entry.id}"
        return None


def _retired_values(schema: Mapping[str, JSON]) -> Iterator[tuple[str, list[JSON]]]:
    for name, prop in schema.get("properties", {}).items():
        if isinstance(prop, Mapping) and "x-retired-values" in prop:
            yield name, list(prop["x-retired-values"])


def _uses_retired_value(op: Operation, body: JSON) -> bool:
    if op.body is None or not isinstance(body, dict):
        return False
    schemas = [op.body.schema, *(b.schema for b in op.body.branches)]
    return any(body.get(name) in values for schema in schemas for name, values in _retired_values(schema))


# --- valid requests for hand-written tests --------------------------------------------------------------

#: One valid body per create operation, where the spec examples are not the best choice.
SAMPLE_BODIES: Mapping[str, JSON] = {
    "nuroCreate": {"type": "bgm", "description": "calm piano for a contract test", "duration": 30},
}
#: Nuro bodies by kind, for the lifecycle state machine.
NURO_BODIES: Mapping[str, JSON] = {
    "vocal": {"type": "vocal", "lyrics": "[verse] la la la, a contract test song", "genre": "Pop"},
    "bgm_v1": {"type": "bgm", "description": "calm piano", "duration": 30},
    "bgm_v2": {
        "type": "bgm",
        "version": "v2.0",
        "description": "cinematic build",
        "segments": [{"name": "intro", "duration": 10}, {"name": "chorus", "duration": 30}],
    },
}


def spec_examples(op: Operation) -> list[JSON]:
    """The request-body examples of an operation, in spec order."""
    media = op.raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    examples = [ex.get("value") for ex in media.get("examples", {}).values() if isinstance(ex, Mapping)]
    if "example" in media:
        examples.insert(0, media["example"])
    return [ex for ex in examples if ex is not None]


def valid_body(spec: ApiSpec, operation_id: str) -> JSON | None:
    """A body the operation accepts: the family's sample, else its first schema-valid spec example."""
    op = spec.operations[operation_id]
    if op.body is None:
        return None
    if operation_id in SAMPLE_BODIES:
        return copy.deepcopy(SAMPLE_BODIES[operation_id])
    for example in spec_examples(op):
        if op.body.is_valid(example):
            return copy.deepcopy(example)
    return None


def product_operations(spec: ApiSpec) -> list[Operation]:
    """Every operation of the product spec (what ``/openapi.json`` serves), in spec order."""
    return [op for op in spec.operations.values() if op.spec_name != CONTROL_SPEC]


def family_of(operation_id: str, spec: ApiSpec) -> str:
    """The family (first tag) of an operation."""
    return spec.operations[operation_id].family


#: Body fields that name clips of the caller: one clip (``*clip_id``) or several (``*clip_ids``).
CLIP_FIELDS = ("clip_id", "clip_ids")


def names_clips(body: JSON) -> bool:
    """Whether a body names clips of the caller (fields ending in ``clip_id`` or ``clip_ids``)."""
    return isinstance(body, Mapping) and any(str(name).endswith(CLIP_FIELDS) for name in body)


def clip_maker(spec: ApiSpec, operation_id: str) -> str | None:
    """For an operation whose valid body names clips: the family's create that makes finished clips.

    Read from the spec: the first ``POST`` of the same family with an OpenAPI link to its poll and a valid
    body that names no clip (Sonic: ``sonicCreate``, Producer: ``producerCreate``).
    """
    op = spec.operations[operation_id]
    if not names_clips(valid_body(spec, operation_id)):
        return None
    for candidate in product_operations(spec):
        if candidate.family != op.family or candidate.method != "POST" or candidate.operation_id == operation_id:
            continue
        body = valid_body(spec, candidate.operation_id)
        if linked_poll(spec, candidate.operation_id) is not None and body is not None and not names_clips(body):
            return candidate.operation_id
    return None


#: The not-found answer each poll operation documents for an unknown task id (catalog ids).
NOT_FOUND: Mapping[str, str] = {"nuroGetTask": "nuro.task_not_found"}


def linked_poll(spec: ApiSpec, operation_id: str) -> tuple[str, str] | None:
    """For a create operation with an OpenAPI link: (target operationId, JSON pointer of the id)."""
    for response in spec.operations[operation_id].raw.get("responses", {}).values():
        for link in (response.get("links") or {}).values() if isinstance(response, Mapping) else ():
            params = link.get("parameters", {})
            for value in params.values():
                match = re.fullmatch(r"\$response\.body#(/.*)", str(value))
                if match and "operationId" in link:
                    return str(link["operationId"]), match.group(1)
    return None


def pointer(document: JSON, path: str) -> JSON:
    """Resolve a JSON pointer (``/task_id``); KeyError/IndexError when it does not resolve."""
    node = document
    for part in path.lstrip("/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node
