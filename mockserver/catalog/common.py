"""The errors every operation can answer (protocol level, auth, limits) and Nuro's, from its error-handling page."""

from __future__ import annotations

from mockserver.catalog.operations import NURO_CREATE, NURO_GET, NURO_OPS
from mockserver.errors import ErrorSpec

#: The first sentence of every Nuro 410 (the rest names the successors).
NURO_GONE_BASE = "The Nuro API has been deprecated and is no longer available."

_NURO_ERR = "seeds/002 Nuro error handling"
_SONIC_ERR = "reference §5.1 (docs error page)"

COMMON = (
    # --- protocol-level errors, any operation, rendered in the family's format ---
    ErrorSpec("request.malformed_json", 400, "bad_request", "Malformed JSON body", source="mock"),
    ErrorSpec("request.body_required", 400, "bad_request", "A JSON request body is required", source="mock"),
    ErrorSpec("request.headers_too_large", 431, "bad_request", "Request headers too large", source="mock"),
    ErrorSpec("request.uri_too_long", 414, "bad_request", "Request target too long", source="mock"),
    ErrorSpec("request.timeout", 408, "request_timeout", "Request not received in time", source="mock"),
    ErrorSpec("request.invalid_http", 400, "bad_request", "Invalid HTTP request", source="mock"),
    ErrorSpec(
        "request.shutting_down",
        503,
        "service_unavailable",
        "The mock is shutting down: the request ran past the graceful shutdown's 5 s",
        source="mock",
    ),
    ErrorSpec(
        "control.loopback_only",
        403,
        "forbidden",
        "The control plane answers only clients on this machine; start the mock with --control-token to open it.",
        source="mock (a non-loopback bind without --control-token)",
    ),
    ErrorSpec(
        "control.token_required",
        401,
        "unauthorized",
        "The control plane needs its token: Authorization: Bearer <--control-token>.",
        source="mock (--control-token)",
    ),
    ErrorSpec(
        "request.range_not_satisfiable",
        416,
        "bad_request",
        "Range not satisfiable",
        ("mediaGetAudio", "mediaGetStem", "mediaGetMidi", "mediaGetVideo"),
        "mock (RFC 9110 §15.5.17)",
    ),
    ErrorSpec(
        "request.validation",
        400,
        "bad_request",
        "Invalid request",
        source="openapi/ schemas",
        example="segments[0].duration: must be at least 5 (got 3)",
    ),
    ErrorSpec(
        "request.unsupported_media_type",
        415,
        "unsupported_media_type",
        "Content-Type must be application/json",
        source="mock",
    ),
    ErrorSpec("request.payload_too_large", 413, "payload_too_large", "Request body too large", source="mock"),
    ErrorSpec("request.route_not_found", 404, "not_found", "No such endpoint", source="mock"),
    ErrorSpec("request.method_not_allowed", 405, "method_not_allowed", "Method not allowed", source="mock"),
    ErrorSpec("request.internal", 500, "api_error", "Internal Server Error.", source=_SONIC_ERR),
    ErrorSpec("request.bad_scenario", 400, "bad_request", "Unknown mock scenario", source="mock"),
    ErrorSpec("control.task_not_found", 404, "not_found", "No such task", source="mock"),
    ErrorSpec("control.task_finished", 409, "conflict", "The task has already finished", source="mock"),
    ErrorSpec("auth.invalid_signature", 401, "unauthorized", "Invalid signature", source=_NURO_ERR),
    ErrorSpec("auth.expired", 401, "unauthorized", "Authorization expired", source=_NURO_ERR),
    ErrorSpec("limit.qps", 403, "forbidden", "API QPS limit exceeded", source=_NURO_ERR),
    ErrorSpec("limit.usage", 403, "forbidden", "API usage limit exceeded", source=_NURO_ERR),
    ErrorSpec(
        "auth.missing",
        401,
        "unauthorized",
        "Authorization header is missing.",
        source=_SONIC_ERR,
    ),
    ErrorSpec(
        "auth.malformed",
        401,
        "unauthorized",
        "Invalid authorization format.",
        source=_SONIC_ERR,
    ),
    # --- Nuro, from its error-handling page ---
    ErrorSpec(
        "nuro.api_error",
        500,
        "api_error",
        "API system error, please contact administrator",
        NURO_OPS,
        _NURO_ERR + ", System Errors",
        after_debit=True,
    ),
    ErrorSpec(
        "nuro.invalid_signature",
        401,
        "unauthorized",
        "Invalid signature",
        NURO_OPS,
        _NURO_ERR + ", Authentication Errors",
    ),
    ErrorSpec(
        "nuro.authorization_expired",
        401,
        "unauthorized",
        "Authorization expired",
        NURO_OPS,
        _NURO_ERR + ", Authentication Errors",
    ),
    ErrorSpec(
        "nuro.usage_limit",
        403,
        "forbidden",
        "API usage limit exceeded",
        NURO_OPS,
        _NURO_ERR + ", Authentication Errors",
    ),
    ErrorSpec(
        "nuro.qps_limit", 403, "forbidden", "API QPS limit exceeded", NURO_OPS, _NURO_ERR + ", Authentication Errors"
    ),
    ErrorSpec(
        "nuro.algorithm_error",
        500,
        "api_error",
        "Algorithm error",
        (NURO_CREATE,),
        _NURO_ERR + ", Content Errors",
        task_failure=True,
        after_debit=True,
    ),
    ErrorSpec("nuro.task_not_found", 404, "not_found", "Task not found", (NURO_GET,), _NURO_ERR + ", Content Errors"),
    ErrorSpec(
        "nuro.language_not_supported",
        400,
        "bad_request",
        "Input language not supported",
        (NURO_CREATE,),
        _NURO_ERR + ", Content Errors",
        after_debit=True,
    ),
    ErrorSpec(
        "nuro.semantic_error",
        500,
        "api_error",
        "Semantic error, please try again",
        (NURO_CREATE,),
        _NURO_ERR + ", Content Errors",
        task_failure=True,
        after_debit=True,
    ),
    ErrorSpec(
        "nuro.queue_full",
        403,
        "forbidden",
        "Queue is full",
        (NURO_CREATE,),
        _NURO_ERR + ", Resource Errors",
        after_debit=True,
    ),
    ErrorSpec(
        "nuro.timeout",
        504,
        "timeout",
        "Task failed due to timeout.",
        (NURO_CREATE,),
        _NURO_ERR + " (refund type timeout); message from reference §5.1",
        task_failure=True,
        after_debit=True,
    ),
    ErrorSpec(
        "nuro.insufficient_credits",
        403,
        "forbidden",
        "The remaining credits are not enough. You can buy more one-time credit packs or subscribe.",
        (NURO_CREATE,),
        _SONIC_ERR + " (403 insufficient credits)",
    ),
    ErrorSpec(
        "nuro.gone",
        410,
        "gone",
        NURO_GONE_BASE + " Existing task IDs can no longer be queried. Migrate to: vocal music -> "
        "POST /api/v1/sonic/create; BGM / instrumental -> POST /api/v1/producer/create. "
        "Both endpoints work on your existing API key.",
        NURO_OPS,
        "seeds/001 deprecation notice",
        example="(a create of type vocal) " + NURO_GONE_BASE + " Migrate vocal music to POST /api/v1/sonic/create; "
        "it works on your existing API key.",
    ),
    ErrorSpec(
        "nuro.algorithm_error_response",
        500,
        "api_error",
        "Algorithm error",
        NURO_OPS,
        _NURO_ERR + ", Content Errors (as the page shows it: an HTTP 500 response)",
        after_debit=True,
    ),
    ErrorSpec(
        "nuro.semantic_error_response",
        500,
        "api_error",
        "Semantic error, please try again",
        NURO_OPS,
        _NURO_ERR + ", Content Errors (as the page shows it: an HTTP 500 response)",
        after_debit=True,
    ),
)
