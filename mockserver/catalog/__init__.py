"""The error catalog: every error the mock can answer, each one entry with a stable id.

Handlers raise :class:`~mockserver.errors.MockError` with an entry of :data:`CATALOG`; the docs
(``ERRORS.md``), the scenario triggers and the contract tests enumerate it. :data:`FAMILY_ERRORS` says
which entry each family answers for the errors every family has (auth, limits, credits, not found).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mockserver.catalog.common import COMMON, NURO_GONE_BASE
from mockserver.catalog.operations import NURO_CREATE, NURO_GET, NURO_OPS
from mockserver.catalog.successors import SUCCESSORS
from mockserver.errors import Catalog

__all__ = [
    "CATALOG",
    "FAMILY_ERRORS",
    "NURO_CREATE",
    "NURO_GET",
    "NURO_OPS",
    "FamilyErrors",
    "family_errors",
    "nuro_gone_message",
]

#: Every error the mock can answer, by id.
CATALOG = Catalog.of(*COMMON, *SUCCESSORS)


def nuro_gone_message(kind: str | None) -> str:
    """The 410 text, naming the successor that fits a ``type`` of ``vocal`` or ``bgm`` (or both)."""
    base = NURO_GONE_BASE
    if kind == "vocal":
        return f"{base} Migrate vocal music to POST /api/v1/sonic/create; it works on your existing API key."
    if kind == "bgm":
        return (
            f"{base} Migrate BGM / instrumental music to POST /api/v1/producer/create; "
            "it works on your existing API key."
        )
    return CATALOG["nuro.gone"].message


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
    #: A poll path without its task id (``GET /api/v1/sonic/task/``); None: the family documents none (404).
    missing_task_id: str | None = None


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
            missing_task_id="sonic.missing_task_id",
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
