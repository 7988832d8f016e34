"""Ways to force an error, all resolving to catalog ids.

* magic API keys (``sk_mock_<preset>``, optionally ``sk_mock_<preset>_<anything>``): an account preset;
* magic values in content (``#mock:<error id>`` or ``#mock:<error id>@<progress>`` in lyrics, a
  description, a prompt...): the call answers that error, or — for errors of tasks that fail after
  being accepted — the task fails at that progress;
* the ``X-Mock-Scenario: <error id>[@<progress>]`` request header, and Prism's ``Prefer: code=NNN``;
* fault rules (:mod:`mockserver.engine.faults`): fail the next N calls of an operation, or each call
  with a seeded probability.

Header values arrive as plain strings: the engine never sees a web framework's request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from mockserver.catalog import CATALOG
from mockserver.engine.records import Account
from mockserver.errors import ErrorSpec, MockError

MAGIC_KEY_PREFIX = "sk_mock_"
#: Magic key presets: the account a key named ``sk_mock_<name>`` starts with.
MAGIC_KEYS: Mapping[str, Mapping[str, Any]] = {
    "expired": {"expires_at": 0.0},
    "invalid_signature": {"invalid_signature": True},
    "no_credits": {"credits": 0, "extra_credits": 0},
    "usage_limit": {"usage_limit": 0},
    "qps_limit": {"qps": 0.0},
    "queue_full": {"queue_capacity": 0},
}
MAGIC_VALUE = re.compile(r"#mock:([a-z0-9_.]+)(?:@(\d{1,2}))?")
#: Progress at which a forced task failure happens when none is given.
DEFAULT_FAILURE_PROGRESS = 50


@dataclass(frozen=True, slots=True)
class Forced:
    """An error a trigger asks for, and (for task failures) the progress where it strikes."""

    spec: ErrorSpec
    source: str
    at_progress: int | None = None


def magic_preset(api_key: str) -> Mapping[str, Any] | None:
    """The preset of a magic key, or None."""
    if not api_key.startswith(MAGIC_KEY_PREFIX):
        return None
    rest = api_key[len(MAGIC_KEY_PREFIX) :]
    for name, preset in MAGIC_KEYS.items():
        if rest == name or rest.startswith(name + "_"):
            return preset
    return None


def apply_preset(account: Account, preset: Mapping[str, Any]) -> Account:
    """The account with a preset's fields set."""
    return replace(account, **preset)


def lookup(error_id: str, operation_id: str, source: str) -> ErrorSpec:
    """The catalog entry ``error_id``, which must apply to ``operation_id`` (400 ``request.bad_scenario`` otherwise)."""
    spec = CATALOG.get(error_id)
    if spec is None:
        raise MockError(
            CATALOG["request.bad_scenario"], f"Unknown error id {error_id!r} in {source}; GET /_mock/errors lists them"
        )
    if spec.operations and operation_id not in spec.operations:
        raise MockError(
            CATALOG["request.bad_scenario"],
            f"Error {error_id!r} ({source}) cannot happen on {operation_id}; "
            f"it applies to {', '.join(spec.operations)}",
        )
    return spec


def parse_forced(text: str, operation_id: str, source: str) -> Forced:
    """``<error id>`` or ``<error id>@<progress>`` → :class:`Forced` (400 if unknown or not applicable)."""
    error_id, _, progress = text.strip().partition("@")
    spec = lookup(error_id, operation_id, source)
    at: int | None = None
    if progress:
        if not progress.isdigit() or int(progress) > 99:
            raise MockError(CATALOG["request.bad_scenario"], f"{source}: progress must be 0-99, not {progress!r}")
        at = int(progress)
    return Forced(spec, source, at)


def from_prefer(header: str, operation_id: str) -> Forced | None:
    """Prism's ``Prefer: code=NNN``: the first catalog entry of the operation with that status."""
    match = re.search(r"(?:^|[;,\s])code=(\d{3})\b", header)
    if match is None or match.group(1).startswith("2"):
        return None
    status = int(match.group(1))
    candidates = [
        s
        for s in CATALOG.for_operation(operation_id)
        if s.status == status and not s.id.startswith(("request.", "control."))
    ]
    # The operation's own documented errors first; errors shared by every family after them.
    candidates.sort(key=lambda s: operation_id not in s.operations)
    if candidates:
        return Forced(candidates[0], "Prefer header")
    raise MockError(
        CATALOG["request.bad_scenario"], f"Prefer: code={status} matches no documented error of {operation_id}"
    )


def from_values(values: Iterable[Any], operation_id: str) -> Forced | None:
    """The first ``#mock:...`` marker in any string value of a request body."""
    for value in values:
        if isinstance(value, str) and "#mock:" in value:
            match = MAGIC_VALUE.search(value)
            if match:
                text = match.group(1) + (f"@{match.group(2)}" if match.group(2) else "")
                return parse_forced(text, operation_id, "magic value")
    return None


class FaultMatcher(Protocol):
    """What :func:`forced_error` asks of the fault rules (:class:`~mockserver.engine.faults.FaultBook`)."""

    def match(self, operation: str, api_key: str | None) -> Forced | None:
        """The first rule that fires for this call, or None."""


@dataclass(frozen=True, slots=True)
class TriggerHeaders:
    """The request headers that force errors, as plain strings (None when absent)."""

    scenario: str | None = None
    prefer: str | None = None


def forced_error(
    faults: FaultMatcher, operation_id: str, api_key: str, headers: TriggerHeaders, values: Iterable[Any] = ()
) -> Forced | None:
    """What the request's triggers ask for: header, ``Prefer``, a fault rule, or a magic value."""
    if headers.scenario:
        return parse_forced(headers.scenario, operation_id, "X-Mock-Scenario header")
    if headers.prefer:
        forced = from_prefer(headers.prefer, operation_id)
        if forced is not None:
            return forced
    return faults.match(operation_id, api_key) or from_values(values, operation_id)


def raise_gateway(forced: Forced | None) -> None:
    """Raise a forced error that happens before any debit (on a billable call)."""
    if forced is not None and not forced.spec.after_debit and not forced.spec.task_failure:
        raise MockError(forced.spec)


def raise_forced(forced: Forced | None) -> None:
    """Raise a forced error on a call that bills nothing (every stage is "now")."""
    if forced is not None and not forced.spec.task_failure:
        raise MockError(forced.spec)
