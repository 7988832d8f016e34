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
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

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
    rest = api_key[len(MAGIC_KEY_PREFIX) :]
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
        return {
            "id": self.id,
            "operation": self.operation,
            "error": self.error_id,
            "times": self.times,
            "probability": self.probability,
            "api_key": self.api_key,
            "at_progress": self.at_progress,
            "hits": self.hits,
            "remaining": remaining,
        }

    def applies(self, operation: str, api_key: str | None) -> bool:
        """Whether the rule is about this call and (for ``times`` rules) not used up."""
        if self.operation != operation or (self.api_key is not None and self.api_key != api_key):
            return False
        return self.times is None or self.hits < self.times


#: The sequence numbering the draws of probabilistic fault rules.
FAULT_DRAWS = "fault_draw"


class FaultStore(Protocol):
    """Where fault rules live (the mock's store implements this)."""

    def transaction(self) -> AbstractContextManager[None]:
        """A unit of work: reads inside see no concurrent writer."""

    def add_fault(self, rule: FaultRule) -> FaultRule:
        """Store a new rule, assigning its id (1, 2, … since the last clear); returns it."""

    def fault_rules(self) -> list[FaultRule]:
        """Every rule, oldest first."""

    def hit_fault(self, rule_id: int) -> None:
        """Count one more call failed by a rule."""

    def clear_faults(self) -> None:
        """Remove every rule and restart the draws."""

    def next_sequence(self, name: str) -> int:
        """The next number of a sequence (used for the seeded draws)."""


class LocalFaults:
    """Private, in-memory rules (a :class:`FaultBook` used on its own)."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._sequences: dict[str, int] = {}

    def transaction(self) -> AbstractContextManager[None]:
        """No-op: calls come from one event loop."""
        return nullcontext()

    def add_fault(self, rule: FaultRule) -> FaultRule:
        """Store a rule with the next id."""
        stored = replace(rule, id=len(self._rules) + 1)
        self._rules.append(stored)
        return stored

    def fault_rules(self) -> list[FaultRule]:
        """Every rule."""
        return list(self._rules)

    def hit_fault(self, rule_id: int) -> None:
        """Count a hit."""
        for rule in self._rules:
            if rule.id == rule_id:
                rule.hits += 1

    def clear_faults(self) -> None:
        """Forget every rule and draw."""
        self._rules.clear()
        self._sequences.clear()

    def next_sequence(self, name: str) -> int:
        """The next number of ``name``."""
        value = self._sequences[name] = self._sequences.get(name, 0) + 1
        return value


def fault_draw(seed: int, number: int) -> float:
    """Draw number ``number`` (in ``[0, 1)``) of the probabilistic fault rules under ``seed``."""
    return random.Random(f"{seed}/faults/{number}").random()


@dataclass
class FaultBook:
    """The active fault rules, kept in a store, with seeded draws for probabilistic ones.

    Draw *n* depends only on the seed and *n* (a sequence in the store), so the draws are reproducible
    after a reset and shared by worker processes over one durable store.
    """

    seed: int
    store: FaultStore = field(default_factory=LocalFaults)

    @property
    def rules(self) -> list[FaultRule]:
        """The rules, oldest first."""
        return self.store.fault_rules()

    def add(
        self,
        operation: str,
        error_id: str,
        *,
        times: int | None = None,
        probability: float | None = None,
        api_key: str | None = None,
        at_progress: int | None = None,
    ) -> FaultRule:
        """Add a rule (validated: the error must apply to the operation)."""
        _lookup(error_id, operation, "fault rule")
        if (times is None) == (probability is None):
            raise MockError(CATALOG["request.validation"], "give exactly one of times or probability")
        return self.store.add_fault(FaultRule(0, operation, error_id, times, probability, api_key, at_progress))

    def match(self, operation: str, api_key: str | None) -> Forced | None:
        """The first rule that fires for this call (consuming one of its ``times``)."""
        if not any(rule.applies(operation, api_key) for rule in self.store.fault_rules()):
            return None  # the common case, without taking the write lock
        with self.store.transaction():
            for rule in self.store.fault_rules():
                if not rule.applies(operation, api_key):
                    continue
                if rule.times is None and fault_draw(self.seed, self.store.next_sequence(FAULT_DRAWS)) >= (
                    rule.probability or 0.0
                ):
                    continue
                self.store.hit_fault(rule.id)
                return Forced(CATALOG[rule.error_id], f"fault rule {rule.id}", rule.at_progress)
        return None

    def clear(self) -> None:
        """Remove every rule; restart the draws."""
        self.store.clear_faults()
