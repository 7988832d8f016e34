"""The error catalog: every error the mock can answer, each one entry with a stable id.

Handlers raise :class:`~mockserver.errors.MockError` with an entry of :data:`CATALOG`; the docs
(``ERRORS.md``), the scenario triggers and the contract tests enumerate it. :data:`FAMILY_ERRORS` says
which entry each family answers for the errors every family has (auth, limits, credits, not found).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mockserver.errors import Catalog, ErrorSpec

NURO_CREATE = "nuroCreate"
NURO_GET = "nuroGetTask"
NURO_OPS = (NURO_CREATE, NURO_GET)

_NURO_ERR = "seeds/002 Nuro error handling"
_SONIC_ERR = "reference §5.1 (docs error page)"

_BASE = (
    # --- protocol-level errors, any operation, rendered in the family's format ---
    ErrorSpec("request.malformed_json", 400, "bad_request", "Malformed JSON body", source="mock"),
    ErrorSpec("request.body_required", 400, "bad_request", "A JSON request body is required", source="mock"),
    ErrorSpec("request.validation", 400, "bad_request", "Invalid request", source="openapi/ schemas"),
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
        "The Nuro API has been deprecated and is no longer available.",
        NURO_OPS,
        "seeds/001 deprecation notice",
    ),
)


SONIC_CREATE = "sonicCreate"
SONIC_GET = "sonicGetTask"
SONIC_OPS = (SONIC_CREATE, SONIC_GET, "sonicUpload", "sonicPersona", "sonicLyrics")
PRODUCER_CREATE = "producerCreate"
PRODUCER_GET = "producerGetTask"
PRODUCER_OPS = (PRODUCER_CREATE, PRODUCER_GET)
_SONIC_BILLED = (SONIC_CREATE, "sonicUpload", "sonicPersona")
_PRODUCER_DOC = "reference §3 (Producer docs)"

CATALOG = Catalog.of(
    *_BASE,
    # --- Sonic, from the docs' error page (reference §5.1) ---
    ErrorSpec(
        "sonic.insufficient_credits",
        403,
        "forbidden",
        "The remaining credits are not enough. You can buy more one-time credit packs or subscribe.",
        _SONIC_BILLED,
        _SONIC_ERR,
    ),
    ErrorSpec(
        "sonic.no_subscription",
        403,
        "forbidden",
        "You do not have an active subscription. Please check whether your renewal was successful.",
        _SONIC_BILLED,
        _SONIC_ERR,
    ),
    ErrorSpec(
        "sonic.lyrics_format",
        403,
        "forbidden",
        "The lyrics format is invalid. Please check and try again.",
        (SONIC_CREATE,),
        _SONIC_ERR,
        after_debit=True,
    ),
    ErrorSpec(
        "sonic.lyrics_copyright",
        403,
        "forbidden",
        "The lyrics contain copyrighted content: 'specificError'. Please use original lyrics.",
        (SONIC_CREATE,),
        _SONIC_ERR,
        after_debit=True,
    ),
    ErrorSpec(
        "sonic.lyrics_inappropriate",
        403,
        "forbidden",
        "The lyrics contain inappropriate content: 'specificError'.",
        (SONIC_CREATE,),
        _SONIC_ERR,
        after_debit=True,
    ),
    ErrorSpec(
        "sonic.description_moderation",
        403,
        "forbidden",
        "The song description needs moderation review.",
        (SONIC_CREATE,),
        _SONIC_ERR,
        after_debit=True,
    ),
    ErrorSpec(
        "sonic.description_artist",
        403,
        "forbidden",
        "The song description contains artist names: 'specificError' which is not allowed.",
        (SONIC_CREATE,),
        _SONIC_ERR,
        after_debit=True,
    ),
    ErrorSpec(
        "sonic.description_producer_tags",
        403,
        "forbidden",
        "The song description contains producer tags: 'specificError' which is not allowed.",
        (SONIC_CREATE,),
        _SONIC_ERR,
        after_debit=True,
    ),
    ErrorSpec("sonic.internal", 500, "api_error", "Internal Server Error.", SONIC_OPS, _SONIC_ERR, after_debit=True),
    ErrorSpec(
        "sonic.generation_failed",
        500,
        "api_error",
        "Generation failed. Credits were refunded.",
        (SONIC_CREATE,),
        "mock (failed clips carry error_message; reference §2.2)",
        task_failure=True,
        after_debit=True,
    ),
    ErrorSpec(
        "sonic.timeout",
        504,
        "timeout",
        "Task failed due to timeout. Credits were previously refunded.",
        (SONIC_CREATE,),
        _SONIC_ERR,
        task_failure=True,
        after_debit=True,
    ),
    ErrorSpec("sonic.task_not_found", 400, "bad_request", "task not found.", (SONIC_GET,), _SONIC_ERR),
    ErrorSpec(
        "sonic.rate_limited",
        429,
        "rate_limited",
        "Too many requests. Please wait and try again.",
        SONIC_OPS,
        "reference §5.2 (429, second-hand; GUESS)",
    ),
    ErrorSpec(
        "sonic.queue_full",
        429,
        "rate_limited",
        "Too many tasks in progress. Please wait and try again.",
        (SONIC_CREATE,),
        "reference §5.2 (plan concurrency; GUESS)",
    ),
    ErrorSpec(
        "sonic.clip_not_found",
        400,
        "bad_request",
        "continue_clip_id not found.",
        (SONIC_CREATE, "sonicPersona"),
        "mock (reference §2.1: the clip must exist)",
    ),
    ErrorSpec(
        "sonic.clip_not_ready",
        400,
        "bad_request",
        "The clip has not finished generating yet.",
        (SONIC_CREATE, "sonicPersona"),
        "mock",
    ),
    ErrorSpec(
        "sonic.clip_wrong_kind",
        400,
        "bad_request",
        "Uploaded clips need task_type extend_upload_music or cover_upload_music.",
        (SONIC_CREATE,),
        "reference §2.3 ([D-instr], [D-special])",
    ),
    ErrorSpec(
        "sonic.clip_too_old",
        400,
        "bad_request",
        "The clip must be from the last 24 hours.",
        ("sonicPersona",),
        "reference §2.4 ([D-persona]: latest clip id in 24 hours)",
    ),
    ErrorSpec(
        "sonic.not_extended",
        400,
        "bad_request",
        "concat_music needs a clip made by extend_music.",
        (SONIC_CREATE,),
        "reference §2.1 ([D-faq])",
    ),
    ErrorSpec(
        "sonic.persona_not_found",
        400,
        "bad_request",
        "persona_id not found.",
        (SONIC_CREATE,),
        "mock (reference §2.1: persona_music needs a persona)",
    ),
    ErrorSpec(
        "sonic.description_mode",
        400,
        "bad_request",
        "gpt_description_prompt is required when custom_mode is false.",
        (SONIC_CREATE,),
        "reference §2.1 ([D-create], [D-faq])",
    ),
    ErrorSpec(
        "sonic.url_not_accessible",
        400,
        "bad_request",
        "Audio URL is not accessible. Please provide a public direct audio file URL.",
        ("sonicUpload",),
        "reference §2.3 (observed, [C-base-audit])",
    ),
    ErrorSpec(
        "sonic.audio_copyright",
        400,
        "bad_request",
        "This audio matches an existing recording in our catalog.",
        ("sonicUpload",),
        "reference §2.3 ([C-base-uploadcover])",
        after_debit=True,
    ),
    # --- Producer ---
    ErrorSpec(
        "producer.insufficient_credits",
        403,
        "forbidden",
        "The remaining credits are not enough. You can buy more one-time credit packs or subscribe.",
        (PRODUCER_CREATE,),
        _PRODUCER_DOC + " (403 insufficient credits)",
    ),
    ErrorSpec(
        "producer.retired_task_type",
        410,
        "gone",
        "This task_type has been retired.",
        (PRODUCER_CREATE,),
        _PRODUCER_DOC + " (other task types → 410)",
    ),
    ErrorSpec(
        "producer.sound_or_lyrics",
        400,
        "bad_request",
        "sound or lyrics is required.",
        (PRODUCER_CREATE,),
        _PRODUCER_DOC + " (one of sound/lyrics)",
    ),
    ErrorSpec("producer.task_not_found", 404, "not_found", "Task not found.", (PRODUCER_GET,), _PRODUCER_DOC),
    ErrorSpec(
        "producer.internal", 500, "api_error", "Internal Server Error.", PRODUCER_OPS, _PRODUCER_DOC, after_debit=True
    ),
    ErrorSpec(
        "producer.generation_failed",
        500,
        "api_error",
        "Generation failed.",
        (PRODUCER_CREATE,),
        _PRODUCER_DOC + " (FAILED, refunded automatically)",
        task_failure=True,
        after_debit=True,
    ),
    ErrorSpec(
        "producer.timeout",
        504,
        "timeout",
        "Task failed due to timeout.",
        (PRODUCER_CREATE,),
        _PRODUCER_DOC + " (a client reads type timeout on FAILED)",
        task_failure=True,
        after_debit=True,
    ),
    ErrorSpec(
        "producer.queue_full",
        429,
        "rate_limited",
        "Too many tasks in progress. Please wait and try again.",
        (PRODUCER_CREATE,),
        "reference §5.2 (GUESS)",
    ),
    # --- Studio: documented as unavailable ---
    ErrorSpec(
        "studio.unavailable",
        503,
        "service_unavailable",
        "Studio is unavailable due to official restrictions. Use Sonic (POST /api/v1/sonic/create) instead.",
        ("studioCreate", "studioGetTask"),
        "reference §8 ([D-studio]: Unavailable)",
    ),
)


def nuro_gone_message(kind: str | None) -> str:
    """The 410 text, naming the successor that fits a ``type`` of ``vocal`` or ``bgm`` (or both)."""
    base = CATALOG["nuro.gone"].message
    if kind == "vocal":
        return f"{base} Migrate vocal music to POST /api/v1/sonic/create; it works on your existing API key."
    if kind == "bgm":
        return (
            f"{base} Migrate BGM / instrumental music to POST /api/v1/producer/create; "
            "it works on your existing API key."
        )
    return (
        f"{base} Existing task IDs can no longer be queried. Migrate to: vocal music -> "
        "POST /api/v1/sonic/create; BGM / instrumental -> POST /api/v1/producer/create. "
        "Both endpoints work on your existing API key."
    )


@dataclass(frozen=True, slots=True)
class FamilyErrors:
    """Which catalog entries a family answers for the errors every family has."""

    invalid_signature: str = "auth.invalid_signature"
    expired: str = "auth.expired"
    qps_limit: str = "limit.qps"
    usage_limit: str = "limit.usage"
    queue_full: str = "nuro.queue_full"
    insufficient_credits: str = "nuro.insufficient_credits"
    task_not_found: str = "request.route_not_found"


FAMILY_ERRORS: Mapping[str, FamilyErrors] = MappingProxyType(
    {
        "nuro": FamilyErrors(
            "nuro.invalid_signature",
            "nuro.authorization_expired",
            "nuro.qps_limit",
            "nuro.usage_limit",
            "nuro.queue_full",
            "nuro.insufficient_credits",
            "nuro.task_not_found",
        ),
        "sonic": FamilyErrors(
            qps_limit="sonic.rate_limited",
            queue_full="sonic.queue_full",
            insufficient_credits="sonic.insufficient_credits",
            task_not_found="sonic.task_not_found",
        ),
        "producer": FamilyErrors(
            queue_full="producer.queue_full",
            insufficient_credits="producer.insufficient_credits",
            task_not_found="producer.task_not_found",
        ),
    }
)


def family_errors(family: str) -> FamilyErrors:
    """The shared-error ids of a family (generic ids where it has none of its own)."""
    return FAMILY_ERRORS.get(family) or FamilyErrors()
