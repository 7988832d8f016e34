"""Ways to force an error, all resolving to catalog ids.

* magic API keys (``sk_mock_<preset>``, optionally ``sk_mock_<preset>_<anything>``): an account preset;
* magic values in content (``#mock:<error id>`` or ``#mock:<error id>@<progress>`` in lyrics, a
  description, a prompt...): the call answers that error, or — for errors of tasks that fail after
  being accepted — the task fails at that progress;
* the ``X-Mock-Scenario: <error id>[@<progress>]`` request header, and Prism's ``Prefer: code=NNN``;
* fault rules (control plane or scenario files): fail the next N calls of an operation, or each call
  with a seeded probability.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mockserver.errors import CATALOG, ErrorSpec, MockError
from mockserver.ledger import Account

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
    rest = api_key[len(MAGIC_KEY_PREFIX):]
    for name, preset in MAGIC_KEYS.items():
        if rest == name or rest.startswith(name + "_"):
            return preset
    return None


def apply_preset(account: Account, preset: Mapping[str, Any]) -> Account:
    """The account with a preset's fields set."""
    return replace(account, **preset)


def _lookup(error_id: str, operation_id: str, source: str) -> ErrorSpec:
    spec = CATALOG.get(error_id)
    if spec is None:
        raise MockError(CATALOG["request.bad_scenario"],
                        f"Unknown error id {error_id!r} in {source}; GET /_mock/errors lists them")
    if spec.operations and operation_id not in spec.operations:
        raise MockError(CATALOG["request.bad_scenario"],
                        f"Error {error_id!r} ({source}) cannot happen on {operation_id}; "
                        f"it applies to {', '.join(spec.operations)}")
    return spec


def parse_forced(text: str, operation_id: str, source: str) -> Forced:
    """``<error id>`` or ``<error id>@<progress>`` → :class:`Forced` (400 if unknown or not applicable)."""
    error_id, _, progress = text.strip().partition("@")
    spec = _lookup(error_id, operation_id, source)
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
    candidates = [s for s in CATALOG.for_operation(operation_id)
                  if s.status == status and not s.id.startswith(("request.", "control."))]
    # The operation's own documented errors first; errors shared by every family after them.
    candidates.sort(key=lambda s: operation_id not in s.operations)
    if candidates:
        return Forced(candidates[0], "Prefer header")
    raise MockError(CATALOG["request.bad_scenario"],
                    f"Prefer: code={status} matches no documented error of {operation_id}")


def from_values(values: Iterable[Any], operation_id: str) -> Forced | None:
    """The first ``#mock:...`` marker in any string value of a request body."""
    for value in values:
        if isinstance(value, str) and "#mock:" in value:
            match = MAGIC_VALUE.search(value)
            if match:
                text = match.group(1) + (f"@{match.group(2)}" if match.group(2) else "")
                return parse_forced(text, operation_id, "magic value")
    return None


@dataclass
class FaultRule:
    """Fail calls of ``operation`` with ``error_id``: the next ``times`` ones, or with ``probability``."""

    id: int
    operation: str
    error_id: str
    times: int | None = None
    probability: float | None = None
    api_key: str | None = None
    at_progress: int | None = None
    hits: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The rule as the control plane shows it."""
        remaining = None if self.times is None else max(0, self.times - self.hits)
        return {"id": self.id, "operation": self.operation, "error": self.error_id, "times": self.times,
                "probability": self.probability, "api_key": self.api_key, "at_progress": self.at_progress,
                "hits": self.hits, "remaining": remaining}


@dataclass
class FaultBook:
    """The active fault rules, with a seeded generator for probabilistic ones."""

    seed: int
    rules: list[FaultRule] = field(default_factory=list)
    _next_id: int = 1
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}/faults")

    def add(self, operation: str, error_id: str, *, times: int | None = None, probability: float | None = None,
            api_key: str | None = None, at_progress: int | None = None) -> FaultRule:
        """Add a rule (validated: the error must apply to the operation)."""
        _lookup(error_id, operation, "fault rule")
        if (times is None) == (probability is None):
            raise MockError(CATALOG["request.validation"], "give exactly one of times or probability")
        rule = FaultRule(self._next_id, operation, error_id, times, probability, api_key, at_progress)
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def match(self, operation: str, api_key: str | None) -> Forced | None:
        """The first rule that fires for this call (consuming one of its ``times``)."""
        for rule in self.rules:
            if rule.operation != operation or (rule.api_key is not None and rule.api_key != api_key):
                continue
            if rule.times is not None:
                if rule.hits >= rule.times:
                    continue
            elif self._rng.random() >= (rule.probability or 0.0):
                continue
            rule.hits += 1
            return Forced(CATALOG[rule.error_id], f"fault rule {rule.id}", rule.at_progress)
        return None

    def clear(self) -> None:
        """Remove every rule; restart the generator."""
        self.rules.clear()
        self._next_id = 1
        self._rng = random.Random(f"{self.seed}/faults")
