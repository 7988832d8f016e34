"""Documentation generated from the error catalog: ``ERRORS.md`` (a test fails when it is stale)."""

from __future__ import annotations

from mockserver.catalog import CATALOG, FAMILY_ERRORS
from mockserver.engine.triggers import MAGIC_KEY_PREFIX, MAGIC_KEYS, from_prefer
from mockserver.errors import ErrorSpec

#: How each error arises on its own, without a trigger.
NATURAL_CAUSES = {
    "request.malformed_json": "a body that is not JSON",
    "request.body_required": "an empty body",
    "request.validation": "a body that breaks a rule of openapi/ (or a named cross-field rule)",
    "request.unsupported_media_type": "a Content-Type other than application/json",
    "request.payload_too_large": "a body over 1 MiB",
    "request.route_not_found": "an unknown path",
    "request.method_not_allowed": "a known path with the wrong method",
    "request.internal": "a bug in the mock (never expected)",
    "request.bad_scenario": "an unknown or misplaced error id in a trigger",
    "auth.missing": "no Authorization header",
    "auth.malformed": "an Authorization header that is not `Bearer <key>`",
    "nuro.invalid_signature": "magic key `sk_mock_invalid_signature`",
    "nuro.authorization_expired": "a key past its `expires_at` (PUT /_mock/keys/{key}); magic key `sk_mock_expired`",
    "nuro.usage_limit": "a key that made `usage_limit` generations; magic key `sk_mock_usage_limit`",
    "nuro.qps_limit": "more than `qps` requests per second of virtual time; magic key `sk_mock_qps_limit`",
    "nuro.queue_full": "`queue_capacity` unfinished tasks already; magic key `sk_mock_queue_full`",
    "nuro.insufficient_credits": "a balance below the cost; magic key `sk_mock_no_credits`",
    "nuro.task_not_found": "an unknown task id, or another key's task",
    "nuro.language_not_supported": "lyrics/description mostly in a script other than Latin or Han",
    "nuro.gone": "the default `--nuro gone`, or a `--nuro <instant>` in the past",
    "control.task_not_found": "an unknown task id on the control plane",
    "control.task_finished": "failing or completing a task that has ended",
}


def _triggers(spec: ErrorSpec) -> str:
    ways = []
    if not spec.id.startswith(("request.", "control.")) and spec.id not in ("auth.missing", "auth.malformed"):
        ways.append(f"`X-Mock-Scenario: {spec.id}`")
        preferred = [op for op in spec.operations if _prefer_picks(op, spec)]
        if preferred:
            ways.append(f"`Prefer: code={spec.status}` on {', '.join(preferred)}")
        ways.append("fault rule")
        if spec.task_failure or spec.after_debit:
            ways.append(f"`#mock:{spec.id}` in content")
        if spec.task_failure:
            ways.append("`POST /_mock/tasks/{id}/fail`")
    return "; ".join(ways) or "—"


def _prefer_picks(operation_id: str, spec: ErrorSpec) -> bool:
    try:
        forced = from_prefer(f"code={spec.status}", operation_id)
    except Exception:  # noqa: BLE001 - no match is simply "no"
        return False
    return forced is not None and forced.spec.id == spec.id


def errors_markdown() -> str:
    """The ``ERRORS.md`` text."""
    lines = [
        "# Errors the mock can answer",
        "",
        "Generated from the catalog in `mockserver/errors.py` by `musicapi-mock errors > ERRORS.md`;",
        "a test fails when this file is stale. `GET /_mock/errors` serves the same catalog.",
        "",
        "*refunds*: its type qualifies for a refund (`api_error`, `timeout`, `bad_request`, `forbidden`) when a",
        "debit exists. *stage*: `gateway` errors happen before any debit (no refund fields in the body);",
        "`upstream` ones after the debit (refunded at once: `refund_processed: true`); `task` ones make an",
        "accepted task fail later (refunded when the failure is first observed).",
        "",
        "| id | status | type | message | refunds | stage | operations | natural cause | triggers |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for spec in CATALOG:
        stage = "task" if spec.task_failure else "upstream" if spec.after_debit else "gateway"
        # where the text a client sees varies, ERRORS.md shows a real one (the catalog text is then a summary)
        message = f"{spec.message} — e.g. “{spec.example}”" if spec.example else spec.message
        lines.append(
            f"| `{spec.id}` | {spec.status} | `{spec.type}` | {message} | {'yes' if spec.refunds else 'no'} "
            f"| {stage} | {', '.join(spec.operations) or 'any'} | {NATURAL_CAUSES.get(spec.id, '—')} "
            f"| {_triggers(spec)} |"
        )
    lines += [
        "",
        "## Magic API keys",
        "",
        f"A key `{MAGIC_KEY_PREFIX}<name>` (or `{MAGIC_KEY_PREFIX}<name>_<anything>`, for distinct keys) "
        "starts with this preset:",
        "",
        "| key | preset |",
        "| --- | --- |",
    ]
    for name, preset in MAGIC_KEYS.items():
        fields = ", ".join(f"`{k}={v}`" for k, v in preset.items())
        lines.append(f"| `{MAGIC_KEY_PREFIX}{name}` | {fields} |")
    lines += [
        "",
        "## Family error ids",
        "",
        "Errors every family has, and the catalog id each family answers with:",
        "",
        "| family | invalid signature | expired | QPS | usage | queue full | no credits | not found |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for family, ids in FAMILY_ERRORS.items():
        cells = (
            ids.invalid_signature,
            ids.expired,
            ids.qps_limit,
            ids.usage_limit,
            ids.queue_full,
            ids.insufficient_credits,
            ids.task_not_found,
        )
        lines.append(f"| {family} | " + " | ".join(f"`{c}`" for c in cells) + " |")
    return "\n".join(lines) + "\n"
